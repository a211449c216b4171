/**
 * Secrets files must be SOPS-encrypted (src/render/raw.ts): a plain `application.secrets.env` or
 * `application.secrets.yaml` holding a key is refused naming the file, unless plaintext is allowed
 * (tests). `application.properties` is configuration and may be plain. Real sops + age.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { type DecryptFile, renderRawFiles } from '../../src/render/index.js';
import { createKeyring, decryptSops, formatFromPath } from '../../src/sops/index.js';
import { makeTree, removeTree } from './helpers.js';
import { type AgeKey, newAgeKey, sopsEncryptInPlace } from './sops-fixtures.js';

const DIR = 'svc/deployment-configuration/profiles/dev';
const CANARY = 'plain-canary-93ab';
const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));
function tree(files: Record<string, string>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}

let key: AgeKey;
let decrypt: DecryptFile;
beforeAll(async () => {
  key = newAgeKey();
  const keyring = await createKeyring({ age: [key.identity] });
  decrypt = (p, bytes) => decryptSops(bytes, { format: formatFromPath(p), keyring, fileName: p });
});

const render = (root: string, over: Partial<Parameters<typeof renderRawFiles>[0]> = {}) =>
  renderRawFiles({ root, environment: 'dev', rootServiceName: 'x', decrypt, ...over });

describe('unencrypted secrets files', () => {
  for (const [file, content] of [
    ['application.secrets.env', `TOKEN=${CANARY}\n`],
    ['application.secrets.yaml', `db:\n  password: ${CANARY}\n`],
    ['application.secrets.env', `#OLD_TOKEN=${CANARY}\n`], // a commented-out key holds a value too
  ] as const) {
    it(`refuses a plain ${file} (${content.startsWith('#') ? 'commented out' : 'active'}) naming it`, async () => {
      const root = tree({ [`${DIR}/${file}`]: content });
      const err = await render(root).catch((e: unknown) => e);
      expect(isSmcError(err, 'SecretsNotEncrypted'), String(err)).toBe(true);
      const message = (err as Error).message;
      expect(message).toContain(`${DIR}/${file} is not SOPS-encrypted`);
      expect(message).toContain('allowPlaintext');
      expect(message).not.toContain(CANARY);
      // Allowed (tests): read as it is.
      const entries = await render(root, { allowPlaintext: true });
      expect(entries.map((e) => e.value)).toEqual([CANARY]);
    });
  }

  it('names the switch the caller gives', async () => {
    const root = tree({ [`${DIR}/application.secrets.env`]: 'A=1\n' });
    await expect(render(root, { allowPlaintextSwitch: 'spec.secrets.allowPlaintext: true' })).rejects.toThrow(
      /allowed with spec\.secrets\.allowPlaintext: true/,
    );
  });

  it('accepts a plain application.properties, an encrypted secrets file, and an empty or comment-only one', async () => {
    const root = tree({
      [`${DIR}/application.properties`]: 'server.port=8080\n',
      [`${DIR}/application.secrets.yaml`]: `token: ${CANARY}\n`,
      [`${DIR}/application.secrets.env`]: '# no keys yet\n\n',
    });
    sopsEncryptInPlace(path.join(root, DIR, 'application.secrets.yaml'), key.recipient);
    const entries = await render(root);
    expect(entries.map((e) => [e.kind, e.key])).toEqual([
      ['secret', 'token'],
      ['config', 'server.port'],
    ]);
  });

  it('one plain secrets file among encrypted ones fails the whole render', async () => {
    const root = tree({
      [`${DIR}/application.secrets.yaml`]: 'token: t\n',
      [`other/deployment-configuration/profiles/dev/application.secrets.env`]: `LEAKED=${CANARY}\n`,
    });
    sopsEncryptInPlace(path.join(root, DIR, 'application.secrets.yaml'), key.recipient);
    await expect(render(root)).rejects.toThrow(
      /other\/deployment-configuration\/profiles\/dev\/application\.secrets\.env is not SOPS-encrypted/,
    );
  });
});
