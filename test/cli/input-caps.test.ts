/**
 * Size caps on key files, source files and rendered output: refused with a clear error naming the
 * file and the limit, in bounded memory (the CLI runs with a small heap, so reading `/dev/zero` to
 * its end would crash it rather than pass).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/controller/settings.js';
import { isSmcError } from '../../src/errors.js';
import { readFileCapped } from '../../src/limits/read.js';
import { renderKustomize } from '../../src/render/kustomize.js';
import { renderRawFiles } from '../../src/render/raw.js';
import { createKeyring } from '../../src/sops/keyring.js';
import { peerPath } from '../peers.js';
import { makeTree, removeTree } from '../render/helpers.js';
import { newAgeKey } from '../render/sops-fixtures.js';
import { msmctl, msmctlAsync } from './run.js';

const SMALL_HEAP = { NODE_OPTIONS: '--max-old-space-size=96' };
const ENV_FILE = 'svc/deployment-configuration/profiles/dev/application.secrets.env';
const CANARY = 'canary-value-7f3a';
const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));
function tree(files: Record<string, string>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}
const noDecrypt = () => Promise.reject(new Error('no SOPS file here'));

async function refusal(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a refusal');
}

describe('key files', () => {
  it('--age-key-file /dev/zero is refused naming the file and the limit, not read to its end', () => {
    const root = tree({ [ENV_FILE]: `A=${CANARY}\n` });
    const r = msmctl(['render', root, '--env', 'dev', '--age-key-file', '/dev/zero'], { env: SMALL_HEAP });
    expect(r.stderr).not.toMatch(/heap out of memory/i);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/dev/zero');
    expect(r.stderr).toContain('max_key_file_bytes');
  });

  it('a FIFO with an endless writer is read only up to the cap', async () => {
    const root = tree({ [ENV_FILE]: `A=${CANARY}\n` });
    const fifo = path.join(root, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `cat /dev/zero > '${fifo}'`], { stdio: 'ignore' });
    try {
      const r = await msmctlAsync(
        ['render', root, '--env', 'dev', '--gpg-key-file', fifo, '--max-key-file-bytes', '4096'],
        { env: SMALL_HEAP },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('key.fifo');
      expect(r.stderr).toContain('4096 bytes');
    } finally {
      writer.kill();
    }
  });

  it('a key Secret entry over the cap is refused before parsing', async () => {
    const big = 'x'.repeat(2048);
    const e = await refusal(createKeyring({ age: [big] }, { maxKeyFileBytes: 1024 }));
    expect(isSmcError(e, 'TooLarge')).toBe(true);
    expect(e.message).toContain('age key input #1');
    expect(e.message).toContain('max_key_file_bytes');
  });
});

describe('source files', () => {
  it('a secrets file over the default cap is refused by msmctl render, naming it', () => {
    const root = tree({ [ENV_FILE]: `A=${CANARY}${'x'.repeat(4 * 1024 * 1024)}\n` });
    const r = msmctl(['render', root, '--env', 'dev', '--prefix', 'svc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('application.secrets.env');
    expect(r.stderr).toContain('max_source_file_bytes');
    expect(r.stderr).not.toContain(CANARY);
  });

  it('the cap can be raised', () => {
    const root = tree({ [ENV_FILE]: `A=${'x'.repeat(5000)}\n` });
    const refused = msmctl(['render', root, '--env', 'dev', '--max-source-file-bytes', '4096']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('4096 bytes');
    // A plain fixture: plaintext is allowed here, the cap is what is tested.
    const ok = msmctl([
      'render',
      root,
      '--env',
      'dev',
      '--max-source-file-bytes',
      '8192',
      '--allow-plaintext',
    ]);
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('is refused in raw-file rendering with the error naming the file', async () => {
    const root = tree({ [ENV_FILE]: `A=${'x'.repeat(2000)}\n` });
    const e = await refusal(
      renderRawFiles({
        root,
        environment: 'dev',
        rootServiceName: 'x',
        decrypt: noDecrypt,
        limits: { maxSourceFileBytes: 1024 },
      }),
    );
    expect(isSmcError(e, 'TooLarge'), String(e)).toBe(true);
    expect(e.message).toContain(ENV_FILE);
  });

  it('readFileCapped reads a file at the cap and refuses one byte more', async () => {
    const root = tree({ 'a.txt': 'x'.repeat(100) });
    expect(await readFileCapped(path.join(root, 'a.txt'), 100, 'maxSourceFileBytes')).toHaveLength(100);
    await expect(readFileCapped(path.join(root, 'a.txt'), 99, 'maxSourceFileBytes')).rejects.toThrow(
      /a\.txt is larger than 99 bytes/,
    );
    await expect(readFileCapped('/dev/zero', 1000, 'maxKeyFileBytes')).rejects.toThrow(/max_key_file_bytes/);
  });

  it('msmctl decrypt refuses an input over the cap', () => {
    const root = tree({
      'big.enc.yaml': 'a: ' + 'x'.repeat(5000) + '\n',
      'key.txt': newAgeKey().identity + '\n',
    });
    const r = msmctl([
      'decrypt',
      path.join(root, 'big.enc.yaml'),
      '--age-key-file',
      path.join(root, 'key.txt'),
      '--max-source-file-bytes',
      '1024',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('big.enc.yaml');
    expect(r.stderr).toContain('max_source_file_bytes');
  });
});

describe('rendered output', () => {
  it('raw-file mode refuses when all files together exceed the cap', async () => {
    const root = tree({
      [ENV_FILE]: `A=${'x'.repeat(800)}\n`,
      'svc/deployment-configuration/profiles/dev/application.properties': `b=${'y'.repeat(800)}\n`,
    });
    const e = await refusal(
      renderRawFiles({
        root,
        environment: 'dev',
        rootServiceName: 'x',
        decrypt: noDecrypt,
        allowPlaintext: true, // a plain fixture: the cap is what is tested
        limits: { maxRenderedBytes: 1024 },
      }),
    );
    expect(isSmcError(e, 'TooLarge'), String(e)).toBe(true);
    expect(e.message).toContain('max_rendered_bytes');
  });

  it('kustomize output over the cap is refused naming the build and the limit', async () => {
    const root = tree({
      'overlay/kustomization.yaml': `configMapGenerator:\n  - name: big\n    literals:\n      - A=${'z'.repeat(4000)}\n`,
    });
    const e = await refusal(
      renderKustomize({
        root,
        kustomizePath: 'overlay',
        decrypt: noDecrypt,
        kustomizeBin: peerPath('kustomize'),
        limits: { maxRenderedBytes: 2048 },
      }),
    );
    expect(isSmcError(e, 'TooLarge'), String(e)).toBe(true);
    expect(e.message).toContain('overlay');
    expect(e.message).toContain('max_rendered_bytes');
  });
});

describe('controller settings', () => {
  it('have defaults and validate', () => {
    const { settings } = parseSettings({});
    expect(settings).toMatchObject({
      max_source_file_bytes: 4 * 1024 * 1024,
      max_key_file_bytes: 1024 * 1024,
      max_rendered_bytes: 64 * 1024 * 1024,
    });
    const bad = parseSettings({}, { max_source_file_bytes: '12' });
    expect(bad.settings).toBeUndefined();
    expect(bad.errors[0]?.message).toMatch(/max_source_file_bytes/);
  });
});
