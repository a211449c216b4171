/**
 * Refusals: no matching key, wrong key, unsupported key types, tampering, corrupt values, bad key
 * material — each with its error code, a message naming the file, and never a secret in it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Decrypter, armor } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { createKeyring, decryptSops, keyringFromFiles, type SopsKeyring } from '../../src/sops/index.js';
import {
  type Workspace,
  childEnv,
  createWorkspace,
  flipCiphertext,
  sopsDecrypt,
  sopsEncrypt,
} from './helpers.js';

const CANARY = 'CANARY-7f3a9c2e-SUPERSECRET-VALUE';
const CANARY_YAML = `db:
  password: ${CANARY}
  user: ${CANARY}-user
token: ${CANARY}-token
list:
  - ${CANARY}-item
note_unencrypted: visible ${CANARY}-clear
`;

let ws: Workspace;
let age1: SopsKeyring;
let age2: SopsKeyring;
let enc: { path: string; content: Buffer };
let dataKeyHex = '';

async function failure(
  content: string | Buffer,
  keyring: SopsKeyring,
  fileName = 'secrets.enc.yaml',
): Promise<Error> {
  const r = await decryptSops(content, { format: 'yaml', keyring, fileName }).then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (r === null) throw new Error('expected decryption to fail');
  return r;
}

/** Asserts that a message leaks neither the canary plaintext (nor a part of it) nor the data key. */
function expectNoLeak(message: string): void {
  for (let i = 0; i + 8 <= CANARY.length; i++) expect(message).not.toContain(CANARY.slice(i, i + 8));
  expect(message.toLowerCase()).not.toContain(dataKeyHex.slice(0, 16));
  expect(message).not.toContain(Buffer.from(dataKeyHex, 'hex').toString('base64').slice(0, 16));
  expect(message).not.toMatch(/AGE-SECRET-KEY/);
}

beforeAll(async () => {
  ws = createWorkspace();
  age1 = await createKeyring({ age: [readFileSync(ws.age[0]!.file, 'utf8')] });
  age2 = await createKeyring({ age: [readFileSync(ws.age[1]!.file, 'utf8')] });
  enc = sopsEncrypt(ws, 'secrets.enc.yaml', CANARY_YAML, ['--age', ws.age[0]!.recipient]);
  // The data key, recovered independently, so the tests can check it never shows up in messages.
  const ageEnc = /enc: \|\n((?: {12}.*\n)+)/.exec(enc.content.toString())?.[1]?.replace(/^ {12}/gm, '') ?? '';
  const d = new Decrypter();
  d.addIdentity(/AGE-SECRET-KEY-1\S+/.exec(readFileSync(ws.age[0]!.file, 'utf8'))![0]);
  dataKeyHex = Buffer.from(await d.decrypt(armor.decode(ageEnc))).toString('hex');
  expect(dataKeyHex).toHaveLength(64);
});

afterAll(() => ws?.cleanup());

describe('decryption refusals', () => {
  it('decrypts the untouched file (control)', async () => {
    const out = await decryptSops(enc.content, {
      format: 'yaml',
      keyring: age1,
      fileName: 'secrets.enc.yaml',
    });
    expect(Buffer.from(out).toString()).toContain(`password: ${CANARY}`);
  });

  it('no matching key: SopsNoMatchingKey naming the recipient the file wants', async () => {
    const err = await failure(enc.content, age2);
    expect(isSmcError(err, 'SopsNoMatchingKey')).toBe(true);
    expect(err.message).toContain('secrets.enc.yaml');
    expect(err.message).toContain(ws.age[0]!.recipient);
    expectNoLeak(err.message);
  });

  it('matching identity that cannot open the data key: SopsWrongKey', async () => {
    // Damage the age stanza body: the recipient still matches, the unwrap fails.
    const text = enc.content.toString();
    const m = /-----BEGIN AGE ENCRYPTED FILE-----\n {12}(\S+)/.exec(text)!;
    const line = m[1] as string;
    const raw = Buffer.from(line, 'base64');
    raw[raw.length - 5] = (raw[raw.length - 5] as number) ^ 0x01;
    const broken = text.replace(line, raw.toString('base64'));
    const err = await failure(broken, age1);
    expect(isSmcError(err, 'SopsWrongKey')).toBe(true);
    expect(err.message).toContain('secrets.enc.yaml');
    expect(err.message).toContain(ws.age[0]!.recipient);
    expectNoLeak(err.message);
  });

  it('one flipped ciphertext character: SopsMacMismatch (sops refuses too)', async () => {
    const tampered = flipCiphertext(enc.content.toString());
    const path = join(ws.dir, 'tampered.enc.yaml');
    writeFileSync(path, tampered);
    expect(() => sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file })).toThrow();
    const err = await failure(tampered, age1);
    expect(isSmcError(err, 'SopsMacMismatch')).toBe(true);
    expect(err.message).toContain('secrets.enc.yaml');
    expect(err.message).toContain('db:password');
    expectNoLeak(err.message);
  });

  it('a changed unencrypted value: SopsMacMismatch (sops refuses too)', async () => {
    const tampered = enc.content.toString().replace(`visible ${CANARY}-clear`, `visible ${CANARY}-CHANGED`);
    expect(tampered).not.toBe(enc.content.toString());
    const path = join(ws.dir, 'tampered-clear.enc.yaml');
    writeFileSync(path, tampered);
    expect(() => sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file })).toThrow(/MAC mismatch/);
    const err = await failure(tampered, age1);
    expect(isSmcError(err, 'SopsMacMismatch')).toBe(true);
    expectNoLeak(err.message);
  });

  it('a reordered file (values moved between keys): SopsMacMismatch', async () => {
    const text = enc.content.toString();
    const pw = /password: (ENC\[[^\]]+\])/.exec(text)![1] as string;
    const tk = /token: (ENC\[[^\]]+\])/.exec(text)![1] as string;
    const swapped = text.replace(pw, '@@PW@@').replace(tk, pw).replace('@@PW@@', tk);
    const err = await failure(swapped, age1);
    expect(isSmcError(err, 'SopsMacMismatch')).toBe(true);
    expectNoLeak(err.message);
  });

  it('a removed MAC: SopsMacMissing, unless ignoreMac', async () => {
    const noMac = enc.content.toString().replace(/ {4}mac: ENC\[[^\]]+\]\n/, '');
    const err = await failure(noMac, age1);
    expect(isSmcError(err, 'SopsMacMissing')).toBe(true);
    const out = await decryptSops(noMac, {
      format: 'yaml',
      keyring: age1,
      fileName: 'x.yaml',
      ignoreMac: true,
    });
    expect(Buffer.from(out).toString()).toContain(CANARY);
  });

  it('a malformed ENC value: SopsCorruptValue naming the key path, not the value', async () => {
    const text = enc.content.toString();
    const user = /user: (ENC\[[^\]]+\])/.exec(text)![1] as string;
    const broken = text.replace(user, user.replace('data:', 'data:%%%'));
    const err = await failure(broken, age1);
    expect(isSmcError(err, 'SopsCorruptValue')).toBe(true);
    expect(err.message).toContain('db:user');
    expect(err.message).not.toContain('%%%');
    expectNoLeak(err.message);
  });

  it('a file whose only keys are KMS: SopsUnsupportedKeyType naming the key types', async () => {
    const kmsOnly = enc.content
      .toString()
      .replace(
        /\n {4}age:\n(?: {8}.*\n)+/,
        '\n    kms:\n' +
          '        - arn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n' +
          '          created_at: "2024-01-01T00:00:00Z"\n' +
          '          enc: AQICAHhFAKE\n' +
          '          aws_profile: ""\n' +
          '    gcp_kms:\n' +
          '        - resource_id: projects/p/locations/global/keyRings/r/cryptoKeys/k\n' +
          '          created_at: "2024-01-01T00:00:00Z"\n' +
          '          enc: CiQAFAKE\n',
      );
    expect(kmsOnly).toContain('kms:');
    expect(kmsOnly).not.toContain('age:');
    const err = await failure(kmsOnly, age1);
    expect(isSmcError(err, 'SopsUnsupportedKeyType')).toBe(true);
    expect(err.message).toContain('AWS KMS');
    expect(err.message).toContain('GCP KMS');
    expect(err.message).toContain(
      'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
  });

  it('a file that is not a sops file: SopsInvalidFile', async () => {
    const err = await failure('plain: yaml\n', age1, 'plain.yaml');
    expect(isSmcError(err, 'SopsInvalidFile')).toBe(true);
    expect(err.message).toContain('plain.yaml');
    const err2 = await failure('key: [unclosed\n', age1, 'broken.yaml');
    expect(isSmcError(err2, 'SopsInvalidFile')).toBe(true);
  });
});

describe('key material', () => {
  it('bad age key material names the input, not its content', async () => {
    const err = await createKeyring({ age: ['# comment\nAGE-SECRET-KEY-1NOTAVALIDKEYNOTAVALIDKEY\n'] }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(err)).toBe(true);
    expect((err as Error).message).toContain('age key input #1');
    expect((err as Error).message).toContain('line 2');
    expect((err as Error).message).not.toContain('NOTAVALIDKEY');
    const err2 = await createKeyring({
      age: [readFileSync(ws.age[0]!.file, 'utf8'), 'garbage-secret-line'],
    }).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('age key input #2');
    expect((err2 as Error).message).not.toContain('garbage-secret-line');
  });

  it('bad PGP key material names the input', async () => {
    const err = await createKeyring({ pgp: ['not a key block'] }).catch((e: unknown) => e);
    expect(isSmcError(err)).toBe(true);
    expect((err as Error).message).toContain('pgp key input #1');
    const lines = ws.pgpArmored.trim().split('\n');
    const broken = [...lines.slice(0, 8), ...lines.slice(-2)].join('\n');
    const err2 = await createKeyring({ pgp: [broken] }).catch((e: unknown) => e);
    expect(isSmcError(err2)).toBe(true);
    expect((err2 as Error).message).toContain('pgp key input #1');
  });

  it('a passphrase-protected PGP key is refused with SopsUnsupportedKeyType', async () => {
    const home = ws.gnupgHome;
    writeFileSync(
      join(home, 'protected.batch'),
      'Key-Type: eddsa\nKey-Curve: ed25519\nName-Real: Protected\nName-Email: protected@example.test\nPassphrase: hunter2\nExpire-Date: 0\n%commit\n',
    );
    const env = childEnv({ GNUPGHOME: home });
    execFileSync(
      'gpg',
      ['--batch', '--pinentry-mode', 'loopback', '--gen-key', join(home, 'protected.batch')],
      {
        env,
        stdio: 'ignore',
      },
    );
    const armored = execFileSync(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        'hunter2',
        '--armor',
        '--export-secret-keys',
        'protected@example.test',
      ],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const err = await createKeyring({ pgp: [armored] }).catch((e: unknown) => e);
    expect(isSmcError(err, 'SopsUnsupportedKeyType')).toBe(true);
    expect((err as Error).message).toMatch(/passphrase/);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('keyringFromFiles reads key files and SOPS_AGE_KEY_FILE / SOPS_AGE_KEY', async () => {
    const fromEnvFile = await keyringFromFiles({ env: { SOPS_AGE_KEY_FILE: ws.age[0]!.file } });
    expect(fromEnvFile.age.map((a) => a.recipient)).toEqual([ws.age[0]!.recipient]);
    const fromEnvKey = await keyringFromFiles({
      env: { SOPS_AGE_KEY: readFileSync(ws.age[1]!.file, 'utf8') },
    });
    expect(fromEnvKey.age.map((a) => a.recipient)).toEqual([ws.age[1]!.recipient]);
    const pgpFile = join(ws.dir, 'key.asc');
    writeFileSync(pgpFile, ws.pgpArmored);
    const both = await keyringFromFiles({ ageKeyFiles: [ws.age[2]!.file], gpgKeyFiles: [pgpFile], env: {} });
    expect(both.age).toHaveLength(1);
    expect(both.pgp[0]!.fingerprints[0]).toBe(ws.pgpFingerprint);
    expect(both.describe()).toEqual([`age ${ws.age[2]!.recipient}`, `pgp ${ws.pgpFingerprint}`]);
    expect(JSON.stringify(both)).not.toContain('AGE-SECRET-KEY');
    expect(inspect(both, { depth: 5 })).not.toContain('AGE-SECRET-KEY');
    expect(inspect(both.age, { depth: 5 })).not.toContain('AGE-SECRET-KEY');
    expect(JSON.stringify(both.age)).not.toContain('AGE-SECRET-KEY');
    expect(inspect(both.pgp, { depth: 5 }).length).toBeLessThan(2000);
    const out = await decryptSops(enc.content, { format: 'yaml', keyring: fromEnvFile, fileName: 's.yaml' });
    expect(Buffer.from(out).toString()).toContain(CANARY);
    const missing = await keyringFromFiles({ ageKeyFiles: [join(ws.dir, 'nope.txt')] }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(missing, 'NotFound')).toBe(true);
    expect((missing as Error).message).toContain('nope.txt');
  });
});
