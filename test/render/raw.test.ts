import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Entry } from '../../src/entry.js';
import { isSmcError, SmcError } from '../../src/errors.js';
import { propertiesAsSecret, renderRawFiles, type DecryptFile } from '../../src/render/index.js';
import { createKeyring, decryptSops, formatFromPath } from '../../src/sops/index.js';
import { makeTree, removeTree } from './helpers.js';
import { newAgeKey, sopsEncryptInPlace, type AgeKey } from './sops-fixtures.js';

const DC = 'deployment-configuration';
const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));
function tree(files: Record<string, string | Uint8Array>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}

const noDecrypt: DecryptFile = () => {
  throw new Error('decrypt must not be called for plain files');
};
const byKey = (entries: Entry[]) =>
  Object.fromEntries(entries.map((e) => [`${e.service}/${e.kind}/${e.key}`, e]));

// Plain secrets files are refused by default (test/render/plaintext.test.ts): these fixtures opt in.
describe('renderRawFiles (plain files)', () => {
  it('turns env and yaml into secrets and properties into configs, with origin and service', async () => {
    const root = tree({
      [`api/${DC}/profiles/prod/application.secrets.env`]: 'DB_PASS=p\n#OLD=o\n',
      [`api/${DC}/profiles/prod/application.secrets.yaml`]: 'db:\n  user: u\n',
      [`api/${DC}/profiles/prod/application.properties`]: 'server.port=8080\n',
    });
    const entries = await renderRawFiles({
      root,
      environment: 'prod',
      rootServiceName: 'smc',
      decrypt: noDecrypt,
      allowPlaintext: true,
    });
    const base = `api/${DC}/profiles/prod`;
    expect(entries).toEqual([
      {
        key: 'DB_PASS',
        value: 'p',
        kind: 'secret',
        enabled: true,
        origin: `${base}/application.secrets.env`,
        service: 'api',
      },
      {
        key: 'OLD',
        value: 'o',
        kind: 'secret',
        enabled: false,
        origin: `${base}/application.secrets.env`,
        service: 'api',
      },
      {
        key: 'db.user',
        value: 'u',
        kind: 'secret',
        enabled: true,
        origin: `${base}/application.secrets.yaml`,
        service: 'api',
      },
      {
        key: 'server.port',
        value: '8080',
        kind: 'config',
        enabled: true,
        origin: `${base}/application.properties`,
        service: 'api',
      },
    ]);
  });

  it('lets YAML override env on the same key, but never lets a commented-out key override an active one', async () => {
    const root = tree({
      [`svc/${DC}/profiles/prod/application.secrets.env`]:
        'A=env\nB=env\n#C=env-disabled\nD=env-active\n#E=env-disabled\n',
      [`svc/${DC}/profiles/prod/application.secrets.yaml`]:
        'A: yaml\nC: yaml-active\n# D: yaml-disabled\n# E: yaml-disabled\n',
    });
    const m = byKey(
      await renderRawFiles({
        root,
        environment: 'prod',
        rootServiceName: 'x',
        decrypt: noDecrypt,
        allowPlaintext: true,
      }),
    );
    const pick = (k: string) => [
      m[`svc/secret/${k}`]?.value,
      m[`svc/secret/${k}`]?.enabled,
      m[`svc/secret/${k}`]?.origin.split('.').pop(),
    ];
    expect(pick('A')).toEqual(['yaml', true, 'yaml']);
    expect(pick('B')).toEqual(['env', true, 'env']);
    expect(pick('C')).toEqual(['yaml-active', true, 'yaml']);
    expect(pick('D')).toEqual(['env-active', true, 'env']);
    expect(pick('E')).toEqual(['yaml-disabled', false, 'yaml']);
  });

  it('keeps services apart and names the root-level service after rootServiceName', async () => {
    const root = tree({
      [`${DC}/profiles/prod/application.secrets.env`]: 'KEY=root',
      [`a/${DC}/profiles/prod/application.secrets.env`]: 'KEY=a',
      [`b/${DC}/prod/application.secrets.env`]: 'KEY=b',
    });
    const entries = await renderRawFiles({
      root,
      environment: 'prod',
      rootServiceName: 'my-prefix',
      decrypt: noDecrypt,
      allowPlaintext: true,
    });
    expect(entries.map((e) => [e.service, e.key, e.value])).toEqual([
      ['a', 'KEY', 'a'],
      ['b', 'KEY', 'b'],
      ['my-prefix', 'KEY', 'root'],
    ]);
  });

  it('reports parse errors with the file relative to the root', async () => {
    const root = tree({ [`svc/${DC}/profiles/prod/application.secrets.env`]: 'OK=1\nnot an assignment\n' });
    await expect(
      renderRawFiles({
        root,
        environment: 'prod',
        rootServiceName: 'x',
        decrypt: noDecrypt,
        allowPlaintext: true,
      }),
    ).rejects.toThrow(`svc/${DC}/profiles/prod/application.secrets.env:2: expected KEY=value`);
  });

  it('refuses a file that is not UTF-8', async () => {
    const root = tree({
      [`svc/${DC}/profiles/prod/application.secrets.env`]: new Uint8Array([0x41, 0x3d, 0xff, 0xfe]),
    });
    const err = await renderRawFiles({
      root,
      environment: 'prod',
      rootServiceName: 'x',
      decrypt: noDecrypt,
      allowPlaintext: true,
    }).catch((e) => e);
    expect(isSmcError(err, 'ParseError')).toBe(true);
    expect(String(err)).toContain('not valid UTF-8');
  });

  it('refuses ciphertext that slipped through undecrypted', async () => {
    const root = tree({
      [`svc/${DC}/profiles/prod/application.secrets.env`]:
        'A=ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]\n',
    });
    const err = await renderRawFiles({
      root,
      environment: 'prod',
      rootServiceName: 'x',
      decrypt: noDecrypt,
      allowPlaintext: true,
    }).catch((e) => e);
    expect(isSmcError(err, 'SopsInvalidFile')).toBe(true);
    expect(String(err)).toContain('key "A"');
  });
});

describe('propertiesAsSecret', () => {
  const cfg = (key: string, value: string, enabled = true): Entry => ({
    key,
    value,
    kind: 'config',
    enabled,
    origin: 'p',
  });
  it('serialises enabled configs as JSON with keys in code-unit order, integer-like keys included', () => {
    const json = propertiesAsSecret([
      cfg('b', '2'),
      cfg('a.x', 'q"uote'),
      cfg('10', 'ten'),
      cfg('2', 'two'),
      cfg('off', 'x', false),
      cfg('B', 'B'),
    ]);
    expect(json).toBe('{"10":"ten","2":"two","B":"B","a.x":"q\\"uote","b":"2"}');
    expect(JSON.parse(json)).toEqual({ '10': 'ten', '2': 'two', B: 'B', 'a.x': 'q"uote', b: '2' });
    expect(propertiesAsSecret([])).toBe('{}');
  });
  it('is the same whatever the input order', () => {
    const a = [cfg('z', '1'), cfg('a', '2'), cfg('m', '3')];
    expect(propertiesAsSecret(a)).toBe(propertiesAsSecret([...a].reverse()));
  });
  it('refuses a key from two origins', () => {
    expect(() =>
      propertiesAsSecret([
        { ...cfg('k', '1'), origin: 'a/p' },
        { ...cfg('k', '2'), origin: 'b/p' },
      ]),
    ).toThrow(/property "k" is defined in both a\/p and b\/p/);
  });
});

describe('renderRawFiles with SOPS-encrypted files (real sops + age)', () => {
  let key: AgeKey;
  let decrypt: DecryptFile;
  beforeAll(async () => {
    key = newAgeKey();
    const keyring = await createKeyring({ age: [key.identity] });
    decrypt = (p, bytes) => decryptSops(bytes, { format: formatFromPath(p), keyring, fileName: p });
  });

  it('decrypts env, yaml and properties files and only those', async () => {
    const dir = `svc/${DC}/profiles/prod`;
    const root = tree({
      [`${dir}/application.secrets.env`]: 'DB_PASS=s3cr3t-env\n#OLD_PASS=old\nMULTI="line1\\nline2"\n',
      [`${dir}/application.secrets.yaml`]: 'db:\n  user: admin\n  port: 5432\n',
      [`${dir}/application.properties`]: 'feature.flag=true\n',
      [`other/${DC}/profiles/prod/application.secrets.env`]: 'PLAIN=yes\n',
    });
    for (const f of ['application.secrets.env', 'application.secrets.yaml', 'application.properties']) {
      sopsEncryptInPlace(path.join(root, dir, f), key.recipient);
      expect(readFileSync(path.join(root, dir, f), 'utf8')).toContain('ENC[AES256_GCM');
    }
    const spy = vi.fn(decrypt);
    // `other` is a plain fixture next to the encrypted ones: plaintext allowed for it.
    const entries = await renderRawFiles({
      root,
      environment: 'prod',
      rootServiceName: 'x',
      decrypt: spy,
      allowPlaintext: true,
    });
    expect(spy.mock.calls.map((c) => c[0]).sort()).toEqual(
      [
        `${dir}/application.properties`,
        `${dir}/application.secrets.env`,
        `${dir}/application.secrets.yaml`,
      ].sort(),
    );
    expect(entries.map((e) => [e.service, e.kind, e.key, e.value, e.enabled])).toEqual([
      ['other', 'secret', 'PLAIN', 'yes', true],
      ['svc', 'secret', 'DB_PASS', 's3cr3t-env', true],
      ['svc', 'secret', 'MULTI', 'line1\nline2', true],
      ['svc', 'secret', 'OLD_PASS', 'old', false],
      ['svc', 'secret', 'db.port', '5432', true],
      ['svc', 'secret', 'db.user', 'admin', true],
      ['svc', 'config', 'feature.flag', 'true', true],
    ]);
  });

  it('reads commented-out keys from an encrypted YAML file as sops re-emits it (re-indented)', async () => {
    const file = `svc/${DC}/profiles/prod/application.secrets.yaml`;
    const root = tree({
      [file]: [
        '# api_key: old',
        'db:',
        '  host: h',
        '  # password: p1',
        '  port: 1',
        '  # trailing: t',
        '# legacy:',
        '#   user: u',
        'other:',
        '  nested:',
        '    deep: 1',
        '    # deeptrail: x',
        '',
      ].join('\n'),
    });
    sopsEncryptInPlace(path.join(root, file), key.recipient);
    const entries = await renderRawFiles({ root, environment: 'prod', rootServiceName: 'x', decrypt });
    expect(Object.fromEntries(entries.map((e) => [e.key, [e.value, e.enabled]]))).toEqual({
      api_key: ['old', false],
      'db.host': ['h', true],
      'db.password': ['p1', false],
      'db.port': ['1', true],
      'db.trailing': ['t', false],
      'legacy.user': ['u', false],
      'other.nested.deep': ['1', true],
      'other.nested.deeptrail': ['x', false],
    });
  });

  it('passes on the refusal of a decrypt callback (sops disabled) and never reads ciphertext as values', async () => {
    const file = `svc/${DC}/profiles/prod/application.secrets.env`;
    const root = tree({ [file]: 'A=1\n' });
    sopsEncryptInPlace(path.join(root, file), key.recipient);
    const refuse: DecryptFile = async (p) => {
      throw new SmcError('SopsDisabled', `${p} is SOPS-encrypted but secrets.sops.enabled is false`);
    };
    const err = await renderRawFiles({
      root,
      environment: 'prod',
      rootServiceName: 'x',
      decrypt: refuse,
    }).catch((e) => e);
    expect(isSmcError(err, 'SopsDisabled')).toBe(true);
    expect(String(err)).toContain(file);
  });

  it('does not modify the source files', async () => {
    const file = `svc/${DC}/profiles/prod/application.secrets.yaml`;
    const root = tree({ [file]: 'k: v\n' });
    sopsEncryptInPlace(path.join(root, file), key.recipient);
    const before = readFileSync(path.join(root, file));
    await renderRawFiles({ root, environment: 'prod', rootServiceName: 'x', decrypt });
    expect(readFileSync(path.join(root, file)).equals(before)).toBe(true);
    writeFileSync(path.join(root, 'touch'), ''); // the tree stays writable for cleanup
  });
});
