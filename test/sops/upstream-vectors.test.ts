/**
 * Files written by the sops project itself (test/fixtures/sops-upstream, MPL-2.0) must decrypt
 * to exactly what the real `sops -d` prints, and the two refusal cases must be refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import {
  createKeyring,
  decryptSops,
  formatFromPath,
  isSopsEncrypted,
  type SopsKeyring,
} from '../../src/sops/index.js';
import { UPSTREAM, UPSTREAM_KEY, childEnv, peerPath, sopsDecrypt, stopGpgAgent } from './helpers.js';

const REFUSALS = new Set(['functional-tests__res__no_mac.yaml', 'config__test_resources__example.yaml']);
const vectors = readdirSync(UPSTREAM).filter(
  (f) => !f.endsWith('.asc') && f !== 'LICENSE.MPL-2.0' && f !== 'README.md',
);

let keyring: SopsKeyring;
let gnupgHome: string;
let sops: string;
let tmp: string;

beforeAll(async () => {
  sops = peerPath('sops');
  keyring = await createKeyring({ pgp: [readFileSync(UPSTREAM_KEY, 'utf8')] });
  tmp = mkdtempSync(join(tmpdir(), 'sops-upstream-'));
  gnupgHome = join(tmp, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  execFileSync('gpg', ['--batch', '--import', UPSTREAM_KEY], {
    env: childEnv({ GNUPGHOME: gnupgHome }),
    stdio: 'ignore',
  });
});

afterAll(() => {
  if (gnupgHome) stopGpgAgent(gnupgHome);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('sops upstream vectors', () => {
  it('has every format among the vectors', () => {
    const formats = new Set(vectors.map((f) => formatFromPath(f)));
    expect([...formats].sort()).toEqual(['binary', 'dotenv', 'ini', 'json', 'yaml']);
    expect(vectors.length).toBeGreaterThanOrEqual(14);
  });

  for (const name of vectors.filter((f) => !REFUSALS.has(f))) {
    it(`decrypts ${name} exactly like sops -d`, async () => {
      const path = join(UPSTREAM, name);
      const content = readFileSync(path);
      const format = formatFromPath(name);
      expect(isSopsEncrypted(content, format)).toBe(true);
      const expected = sopsDecrypt({ sops, gnupgHome }, path);
      const actual = await decryptSops(content, { format, keyring, fileName: name });
      expect(Buffer.from(actual).toString('utf8')).toBe(expected.toString('utf8'));
      expect(Buffer.from(actual).equals(expected)).toBe(true);
    });
  }

  it('refuses no_mac.yaml with SopsMacMissing and says why', async () => {
    const name = 'functional-tests__res__no_mac.yaml';
    const content = readFileSync(join(UPSTREAM, name));
    const err = await decryptSops(content, { format: 'yaml', keyring, fileName: name }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(err, 'SopsMacMissing')).toBe(true);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).toMatch(/no MAC/);
    // The real sops refuses it too.
    expect(() => sopsDecrypt({ sops, gnupgHome }, join(UPSTREAM, name))).toThrow();
  });

  it('decrypts no_mac.yaml when MAC checking is turned off, like sops -d --ignore-mac', async () => {
    const name = 'functional-tests__res__no_mac.yaml';
    const path = join(UPSTREAM, name);
    const expected = sopsDecrypt({ sops, gnupgHome }, path, { ignoreMac: true });
    const actual = await decryptSops(readFileSync(path), {
      format: 'yaml',
      keyring,
      fileName: name,
      ignoreMac: true,
    });
    expect(Buffer.from(actual).equals(expected)).toBe(true);
  });

  it('refuses config__test_resources__example.yaml naming the PGP recipient it needs', async () => {
    const name = 'config__test_resources__example.yaml';
    const content = readFileSync(join(UPSTREAM, name));
    const err = await decryptSops(content, { format: 'yaml', keyring, fileName: name }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(err, 'SopsNoMatchingKey')).toBe(true);
    expect((err as Error).message).toContain('E5297818703249D0C60E19E6824612478D1A4CCD');
    expect((err as Error).message).toContain(name);
  });
});
