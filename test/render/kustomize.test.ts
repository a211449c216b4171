import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.js';
import { isSmcError, SmcError } from '../../src/errors.js';
import {
  entriesFromBuildOutput,
  renderKustomize,
  resolveKustomizeBin,
  type DecryptFile,
} from '../../src/render/index.js';
import { summarizeStderr } from '../../src/render/kustomize.js';
import { createKeyring, decryptSops, formatFromPath } from '../../src/sops/index.js';
import { peerPath } from '../peers.js';
import { makeTree, removeTree, TEST_TMP } from './helpers.js';
import { newAgeKey, sopsEncryptInPlace, type AgeKey } from './sops-fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const noDecrypt: DecryptFile = () => {
  throw new Error('decrypt must not be called for plain files');
};

let kustomize: string;
let key: AgeKey;
let decrypt: DecryptFile;
const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}

// Every temporary copy must land in (and vanish from) a directory this file owns.
let tmpBase: string;
let savedTmp: string | undefined;
beforeAll(async () => {
  kustomize = peerPath('kustomize');
  key = newAgeKey();
  const keyring = await createKeyring({ age: [key.identity] });
  decrypt = (p, bytes) => decryptSops(bytes, { format: formatFromPath(p), keyring, fileName: p });
});
beforeEach(() => {
  savedTmp = process.env.TMPDIR;
  tmpBase = mkdtempSync(path.join(TEST_TMP, 'smc-kz-tmpdir-'));
  process.env.TMPDIR = tmpBase;
});
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(tmpBase, { recursive: true, force: true });
});
afterAll(() => roots.forEach(removeTree));

const SECRET_ENV = 'DB_PASSWORD=canary-env-s3cr3t\nAPI_TOKEN=tok-123\n';
const SECRET_YAML = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata:',
  '  name: enc-secret',
  'stringData:',
  '  API_KEY: canary-yaml-s3cr3t',
  'data:',
  `  CERT: ${b64('-----BEGIN CERT-----')}`,
  '',
].join('\n');
const PLAIN_SECRET = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata:',
  '  name: plain',
  'data:',
  `  USER: ${b64('admin')}`,
  `  OVERRIDDEN: ${b64('from-data')}`,
  'stringData:',
  '  OVERRIDDEN: from-stringData',
  '',
].join('\n');
const CONFIGMAP = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: cm',
  'data:',
  '  feature.x: "on"',
  '',
].join('\n');

/** A base with SOPS inputs for secretGenerator `envs:`/`files:` and a SOPS Secret resource, plus a prod overlay. */
function encryptedFixture(): string {
  const root = tree({
    'base/kustomization.yaml': [
      'generatorOptions:',
      '  disableNameSuffixHash: true',
      'secretGenerator:',
      '  - name: app-env',
      '    envs: [secrets.env]',
      '  - name: app-files',
      '    files: [token.txt, settings.json]',
      'configMapGenerator:',
      '  - name: app-config',
      '    literals: [LOG_LEVEL=debug]',
      'resources: [plain-secret.yaml, enc-secret.yaml, configmap.yaml]',
      '',
    ].join('\n'),
    'base/secrets.env': SECRET_ENV,
    'base/token.txt': 'canary-binary-token',
    'base/settings.json': '{"password": "canary-json-s3cr3t", "n": 1}\n',
    'base/enc-secret.yaml': SECRET_YAML,
    'base/plain-secret.yaml': PLAIN_SECRET,
    'base/configmap.yaml': CONFIGMAP,
    'overlays/prod/kustomization.yaml': 'namespace: prod\nresources: [../../base]\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
  });
  sopsEncryptInPlace(path.join(root, 'base/secrets.env'), key.recipient);
  sopsEncryptInPlace(path.join(root, 'base/token.txt'), key.recipient);
  sopsEncryptInPlace(path.join(root, 'base/settings.json'), key.recipient);
  sopsEncryptInPlace(path.join(root, 'base/enc-secret.yaml'), key.recipient, [
    '--encrypted-regex',
    '^(data|stringData)$',
  ]);
  return root;
}

function snapshot(dir: string, out = new Map<string, Buffer>(), rel = ''): Map<string, Buffer> {
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) snapshot(dir, out, r);
    else out.set(r, readFileSync(path.join(dir, r)));
  }
  return out;
}

const valuesOf = (entries: Entry[]) =>
  Object.fromEntries(entries.map((e) => [`${e.kind}:${e.key}`, e.value]));

describe('renderKustomize (real kustomize, sops and age)', () => {
  it('builds an overlay whose base reads SOPS files through envs:, files: and resources:', async () => {
    const root = encryptedFixture();
    const entries = await renderKustomize({
      root,
      kustomizePath: 'overlays/prod',
      decrypt,
      kustomizeBin: kustomize,
    });
    const v = valuesOf(entries);
    expect(v).toMatchObject({
      'secret:DB_PASSWORD': 'canary-env-s3cr3t',
      'secret:API_TOKEN': 'tok-123',
      'secret:token.txt': 'canary-binary-token',
      'secret:API_KEY': 'canary-yaml-s3cr3t',
      'secret:CERT': '-----BEGIN CERT-----',
      'secret:USER': 'admin',
      'secret:OVERRIDDEN': 'from-stringData',
      'config:feature.x': 'on',
      'config:LOG_LEVEL': 'debug',
    });
    expect(JSON.parse(v['secret:settings.json'] as string)).toEqual({ password: 'canary-json-s3cr3t', n: 1 });
    expect(entries.filter((e) => e.kind === 'secret')).toHaveLength(8);
    expect(entries.filter((e) => e.kind === 'config')).toHaveLength(2);
    expect(entries.every((e) => e.enabled)).toBe(true);
    expect(entries.find((e) => e.key === 'DB_PASSWORD')?.origin).toBe('overlays/prod (Secret prod/app-env)');
    expect(entries.find((e) => e.key === 'LOG_LEVEL')?.origin).toBe(
      'overlays/prod (ConfigMap prod/app-config)',
    );
  });

  it('decrypts only in a private temporary copy that is gone afterwards; the source is untouched', async () => {
    const root = encryptedFixture();
    const before = snapshot(root);
    // A wrapper around kustomize records what the build saw.
    const rec = mkdtempSync(path.join(TEST_TMP, 'smc-kz-rec-'));
    roots.push(rec);
    const wrapper = path.join(rec, 'kustomize');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'd="${2%/src/*}"',
        `echo "$d" > '${rec}/path'`,
        `stat -c '%a' "$d" > '${rec}/mode'`,
        `grep -c '^DB_PASSWORD=canary-env-s3cr3t$' "$d/src/base/secrets.env" > '${rec}/decrypted'`,
        `test -e "$d/src/.git" && echo yes > '${rec}/git' || echo no > '${rec}/git'`,
        `exec '${kustomize}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    await renderKustomize({ root, kustomizePath: 'overlays/prod', decrypt, kustomizeBin: wrapper });

    const copy = readFileSync(path.join(rec, 'path'), 'utf8').trim();
    expect(path.dirname(copy)).toBe(tmpBase);
    expect(readFileSync(path.join(rec, 'mode'), 'utf8').trim()).toBe('700');
    expect(readFileSync(path.join(rec, 'decrypted'), 'utf8').trim()).toBe('1');
    expect(readFileSync(path.join(rec, 'git'), 'utf8').trim()).toBe('no');
    expect(existsSync(copy)).toBe(false);
    expect(readdirSync(tmpBase)).toEqual([]);

    const after = snapshot(root);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [f, bytes] of after) {
      expect(bytes.equals(before.get(f) as Buffer), f).toBe(true);
      for (const canary of [
        'canary-env-s3cr3t',
        'canary-binary-token',
        'canary-json-s3cr3t',
        'canary-yaml-s3cr3t',
      ]) {
        expect(bytes.toString('latin1').includes(canary), `${f} holds ${canary}`).toBe(false);
      }
    }
  });

  it('removes the temporary copy when the build fails', async () => {
    const root = tree({ 'k/kustomization.yaml': 'resources: [missing.yaml]\n' });
    const err = await renderKustomize({
      root,
      kustomizePath: 'k',
      decrypt: noDecrypt,
      kustomizeBin: kustomize,
    }).catch((e) => e);
    expect(isSmcError(err, 'KustomizeFailed'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/^kustomize build k failed \(exit code 1\): /);
    expect((err as Error).message).not.toContain(tmpBase);
    expect(readdirSync(tmpBase)).toEqual([]);
  });

  it('removes the temporary copy when decryption fails and the build needs the file', async () => {
    const root = encryptedFixture();
    const refuse: DecryptFile = async (p) => {
      throw new SmcError('SopsDisabled', `${p} is SOPS-encrypted but secrets.sops.enabled is false`);
    };
    const err = await renderKustomize({
      root,
      kustomizePath: 'overlays/prod',
      decrypt: refuse,
      kustomizeBin: kustomize,
    }).catch((e) => e);
    expect(isSmcError(err, 'SopsDisabled'), String(err)).toBe(true);
    expect((err as Error).message).toContain('base/');
    expect(readdirSync(tmpBase)).toEqual([]);
  });

  it('ignores encrypted files the build does not read when they cannot be decrypted', async () => {
    const root = tree({
      'app/kustomization.yaml': 'resources: [cm.yaml]\n',
      'app/cm.yaml': CONFIGMAP,
      'other-team/secrets.env': 'X=1\n',
    });
    sopsEncryptInPlace(path.join(root, 'other-team/secrets.env'), newAgeKey().recipient);
    const entries = await renderKustomize({ root, kustomizePath: 'app', decrypt, kustomizeBin: kustomize });
    expect(valuesOf(entries)).toEqual({ 'config:feature.x': 'on' });
  });

  it('refuses a key defined by two Secrets, naming both', async () => {
    const secret = (name: string, ns: string) =>
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nstringData:\n  shared: v-${name}\n`;
    const root = tree({
      'k/kustomization.yaml': 'resources: [a.yaml, b.yaml]\n',
      'k/a.yaml': secret('first', 'ns1'),
      'k/b.yaml': secret('second', 'ns2'),
    });
    const err = await renderKustomize({
      root,
      kustomizePath: 'k',
      decrypt: noDecrypt,
      kustomizeBin: kustomize,
    }).catch((e) => e);
    expect(isSmcError(err, 'DuplicateKey'), String(err)).toBe(true);
    expect((err as Error).message).toContain(
      'key "shared" is defined by both Secret ns1/first and Secret ns2/second',
    );
    expect((err as Error).message).not.toContain('v-first');
  });

  it('refuses a missing kustomization and a path outside the source', async () => {
    const root = tree({ 'k/kustomization.yaml': 'resources: []\n', 'empty/x': '' });
    for (const [kustomizePath, code] of [
      ['empty', 'SourceNotFound'],
      ['nope', 'SourceNotFound'],
      ['../k', 'InvalidSpec'],
      ['/etc', 'InvalidSpec'],
    ] as const) {
      const err = await renderKustomize({
        root,
        kustomizePath,
        decrypt: noDecrypt,
        kustomizeBin: kustomize,
      }).catch((e) => e);
      expect(isSmcError(err, code), `${kustomizePath}: ${String(err)}`).toBe(true);
    }
  });

  it('does not let the build read through a symbolic link that leaves the source', async () => {
    const outside = tree({ 'leak.yaml': PLAIN_SECRET });
    const root = tree({ 'k/kustomization.yaml': 'resources: [link.yaml]\n' });
    execFileSync('ln', ['-s', path.join(outside, 'leak.yaml'), path.join(root, 'k/link.yaml')]);
    const err = await renderKustomize({
      root,
      kustomizePath: 'k',
      decrypt: noDecrypt,
      kustomizeBin: kustomize,
    }).catch((e) => e);
    expect(isSmcError(err, 'KustomizeFailed'), String(err)).toBe(true);
    // the link is not in the copy at all (kustomize's own load restrictor would say "security")
    expect((err as Error).message).toMatch(/link\.yaml/);
    expect((err as Error).message).not.toMatch(/security/);
  });

  it('recreates symbolic links that stay inside the source', async () => {
    const root = tree({
      'shared/kustomization.yaml': 'resources: [cm.yaml]\n',
      'shared/cm.yaml': CONFIGMAP,
      'k/kustomization.yaml': 'resources: [linked-base]\n',
    });
    execFileSync('ln', ['-s', '../shared', path.join(root, 'k/linked-base')]);
    const entries = await renderKustomize({
      root,
      kustomizePath: 'k',
      decrypt: noDecrypt,
      kustomizeBin: kustomize,
    });
    expect(valuesOf(entries)).toEqual({ 'config:feature.x': 'on' });
  });
});

describe('resolveKustomizeBin', () => {
  let savedPath: string | undefined;
  let savedBin: string | undefined;
  beforeEach(() => {
    savedPath = process.env.PATH;
    savedBin = process.env.SMC_KUSTOMIZE_BIN;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
    if (savedBin === undefined) delete process.env.SMC_KUSTOMIZE_BIN;
    else process.env.SMC_KUSTOMIZE_BIN = savedBin;
  });

  it('prefers the option, then SMC_KUSTOMIZE_BIN, then PATH', async () => {
    process.env.SMC_KUSTOMIZE_BIN = kustomize;
    expect(await resolveKustomizeBin()).toBe(kustomize);
    delete process.env.SMC_KUSTOMIZE_BIN;
    process.env.PATH = path.dirname(kustomize);
    expect(await resolveKustomizeBin()).toBe(kustomize);
    expect(await resolveKustomizeBin(kustomize)).toBe(kustomize);
  });

  it('says how to get kustomize when there is none', async () => {
    delete process.env.SMC_KUSTOMIZE_BIN;
    process.env.PATH = tmpBase;
    for (const attempt of [() => resolveKustomizeBin(), () => resolveKustomizeBin('/no/such/kustomize')]) {
      const err = await attempt().catch((e) => e);
      expect(isSmcError(err, 'KustomizeNotFound'), String(err)).toBe(true);
      expect((err as Error).message).toContain('scripts/peers install kustomize');
      expect((err as Error).message).toContain('https://kubectl.docs.kubernetes.io/installation/kustomize/');
    }
    const root = tree({ 'k/kustomization.yaml': 'resources: []\n' });
    const err = await renderKustomize({ root, kustomizePath: 'k', decrypt: noDecrypt }).catch((e) => e);
    expect(isSmcError(err, 'KustomizeNotFound')).toBe(true);
  });
});

describe('entriesFromBuildOutput', () => {
  const doc = (kind: string, name: string, body: string, apiVersion = 'v1') =>
    `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n${body}`;

  it('takes v1 Secrets and ConfigMaps only, and other kinds or groups not at all', () => {
    const out = [
      doc('Secret', 's', `data:\n  a: ${b64('x')}\n`),
      doc('ConfigMap', 'c', 'data:\n  b: y\n  n: 5\n'),
      doc('Secret', 'crd', 'data:\n  z: nope\n', 'example.com/v1'),
      doc('Deployment', 'd', 'spec: {}\n', 'apps/v1'),
      doc('Secret', 'empty', ''),
    ].join('---\n');
    expect(valuesOf(entriesFromBuildOutput(out, 'k'))).toEqual({
      'secret:a': 'x',
      'config:b': 'y',
      'config:n': '5',
    });
  });

  it('refuses invalid base64, binary data and ciphertext without quoting them', () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        doc('Secret', 's', 'data:\n  k: "not base64!canary"\n'),
        'ParseError',
        /data key "k" is not valid base64/,
      ],
      [
        doc('Secret', 's', `data:\n  k: ${Buffer.from([0xff, 0xfe, 0x00]).toString('base64')}\n`),
        'ParseError',
        /binary data/,
      ],
      [
        doc('Secret', 's', 'stringData:\n  k: "ENC[AES256_GCM,data:canary,iv:x,tag:y,type:str]"\n'),
        'SopsInvalidFile',
        /holds SOPS ciphertext/,
      ],
      [
        doc('Secret', 's', 'data:\n  k: "ENC[AES256_GCM,data:canary,iv:x,tag:y,type:str]"\n'),
        'SopsInvalidFile',
        /holds SOPS ciphertext/,
      ],
      [doc('Secret', 's', 'stringData: canary-scalar\n'), 'ParseError', /stringData must be a mapping/],
      [
        doc('ConfigMap', 'a', 'data:\n  k: 1\n') + '---\n' + doc('ConfigMap', 'b', 'data:\n  k: canary\n'),
        'DuplicateKey',
        /ConfigMap a and ConfigMap b/,
      ],
    ];
    for (const [out, code, re] of cases) {
      const err = (() => {
        try {
          entriesFromBuildOutput(out, 'k');
        } catch (e) {
          return e;
        }
      })();
      expect(isSmcError(err, code as 'ParseError'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('canary');
    }
  });
});

describe('summarizeStderr', () => {
  it('keeps the first line, drops temporary paths and redacts what could be a value', () => {
    const tmp = '/tmp/smc-kustomize-abc/src';
    expect(
      summarizeStderr(
        `Error: accumulating resources from '${tmp}/k/missing.yaml': no such file\nmore\n`,
        [tmp],
        [],
      ),
    ).toBe("accumulating resources from 'k/missing.yaml': no such file");
    expect(
      summarizeStderr(
        'Error: loading KV pairs: env source files: [s.env]: line [66 65 68] has invalid utf8 bytes : BAD=canary',
        [],
        [],
      ),
    ).toBe('loading KV pairs: env source files: [s.env]: line [REDACTED] has invalid utf8 bytes [REDACTED]');
    expect(summarizeStderr('Error: bad object map[password:canary]', [], [])).toBe('bad object [REDACTED]');
    expect(
      summarizeStderr(
        'Error: "key canary-decrypted here" is odd; canary-value-2 too',
        [],
        ['A=1\nkey canary-decrypted here\nB: "canary-value-2"\n'],
      ),
    ).toBe('"[REDACTED]" is odd; [REDACTED] too');
    expect(summarizeStderr('x'.repeat(1000), [], []).length).toBeLessThanOrEqual(301);
    expect(summarizeStderr('', [], [])).toBe('no error output');
  });
});
