import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync as gunzip, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArchiveCheck, UnsafeArchiveError, extractTarGzSafely } from '../../src/source/archive.js';
import { tgzOf } from './tarball.js';

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-archive-test-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const limits = { maxBytes: 1024 * 1024, maxFiles: 100 };

async function expectRefused(data: Buffer, check: ArchiveCheck, entry?: string, lim = limits): Promise<void> {
  const dest = join(scratch, 'out');
  const err = await extractTarGzSafely(data, dest, lim).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsafeArchiveError);
  const e = err as UnsafeArchiveError;
  expect(e.code).toBe('UnsafeArchive');
  expect(e.check).toBe(check);
  if (entry !== undefined) {
    expect(e.entry).toBe(entry);
    expect(e.message).toContain(JSON.stringify(entry));
  }
  expect(e.message).not.toContain('TOPSECRET'); // contents never in messages
  // Destination untouched, no temporary directory left behind, nothing written outside.
  expect(await readdir(scratch)).toEqual([]);
}

describe('extractTarGzSafely', () => {
  it('extracts a well-formed archive (files, nested dirs, modes normalised)', async () => {
    const data = tgzOf([
      { name: 'app/', type: '5' },
      { name: 'app/secrets.env', body: 'A=1\n', mode: 0o4755 },
      { name: './top.txt', body: 'top' },
      { name: 'deep/er/x.yaml', body: 'k: v\n' },
    ]);
    const dest = join(scratch, 'ok');
    expect(await extractTarGzSafely(data, dest, limits)).toEqual({ files: 3, bytes: 12 });
    expect(await readFile(join(dest, 'app/secrets.env'), 'utf8')).toBe('A=1\n');
    expect(await readFile(join(dest, 'top.txt'), 'utf8')).toBe('top');
    expect(await readFile(join(dest, 'deep/er/x.yaml'), 'utf8')).toBe('k: v\n');
    expect((await stat(join(dest, 'app/secrets.env'))).mode & 0o7777).toBe(0o755); // no setuid
    expect((await readdir(scratch)).sort()).toEqual(['ok']);
  });

  it('accepts a stream', async () => {
    const data = tgzOf([{ name: 'a.txt', body: 'x' }]);
    const dest = join(scratch, 'ok');
    await extractTarGzSafely(Readable.from([data.subarray(0, 10), data.subarray(10)]), dest, limits);
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('x');
  });

  it('refuses an absolute path', async () => {
    await expectRefused(
      tgzOf([
        { name: 'ok.txt', body: 'TOPSECRET' },
        { name: '/tmp/evil', body: 'x' },
      ]),
      'absolute-path',
      '/tmp/evil',
    );
  });

  it('refuses a .. segment', async () => {
    await expectRefused(tgzOf([{ name: '../x', body: 'TOPSECRET' }]), 'parent-traversal', '../x');
    await expectRefused(tgzOf([{ name: 'a/../../x', body: 'x' }]), 'parent-traversal', 'a/../../x');
  });

  it('refuses a symlink escaping the root (and any symlink)', async () => {
    await expectRefused(tgzOf([{ name: 'esc', type: '2', linkname: '/etc/passwd' }]), 'link', 'esc');
    await expectRefused(
      tgzOf([
        { name: 'dir', type: '2', linkname: '../../..' },
        { name: 'dir/pwn', body: 'x' },
      ]),
      'link',
      'dir',
    );
    await expectRefused(tgzOf([{ name: 'inside', type: '2', linkname: 'a.txt' }]), 'link', 'inside');
  });

  it('refuses a hard link escaping the root', async () => {
    await expectRefused(tgzOf([{ name: 'h', type: '1', linkname: '../../etc/shadow' }]), 'link', 'h');
  });

  it('refuses device files and fifos', async () => {
    await expectRefused(tgzOf([{ name: 'dev', type: '3' }]), 'special-file', 'dev');
    await expectRefused(tgzOf([{ name: 'blk', type: '4' }]), 'special-file', 'blk');
    await expectRefused(tgzOf([{ name: 'fifo', type: '6' }]), 'special-file', 'fifo');
  });

  it('refuses too many files', async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, body: 'x' }));
    await expectRefused(tgzOf(many), 'max-files', 'f10.txt', { maxBytes: 1 << 20, maxFiles: 10 });
  });

  it('refuses content over maxBytes', async () => {
    await expectRefused(
      tgzOf([
        { name: 'a', body: Buffer.alloc(600) },
        { name: 'big', body: Buffer.alloc(600) },
      ]),
      'max-bytes',
      'big',
      { maxBytes: 1000, maxFiles: 10 },
    );
  });

  it('stops a gzip bomb while inflating', async () => {
    // A tiny valid tar followed by 64 MiB of zeros: ~64 KiB compressed.
    const bomb = gzipSync(Buffer.concat([tgzInner(), Buffer.alloc(64 * 1024 * 1024)]));
    expect(bomb.length).toBeLessThan(200 * 1024);
    await expectRefused(bomb, 'max-bytes', undefined, { maxBytes: 1 << 20, maxFiles: 10 });
  });

  it('refuses nested compression and garbage', async () => {
    await expectRefused(gzipSync(tgzOf([{ name: 'a', body: 'x' }])), 'nested-compression');
    await expectRefused(Buffer.from('not gzip at all'), 'format');
    await expectRefused(gzipSync(Buffer.from('x'.repeat(2000))), 'format');
  });

  it('refuses a duplicate entry', async () => {
    await expectRefused(
      tgzOf([
        { name: 'a', body: 'x' },
        { name: 'a', body: 'y' },
      ]),
      'format',
      'a',
    );
  });

  it('refuses an existing destination without touching it', async () => {
    await expect(extractTarGzSafely(tgzOf([{ name: 'a', body: 'x' }]), scratch, limits)).rejects.toThrow(
      /already exists/,
    );
  });
});

function tgzInner(): Buffer {
  // the plain tar (not gzipped) of one small file, without the end-of-archive blocks
  return Buffer.from(gunzip(tgzOf([{ name: 'a.txt', body: 'x' }], Buffer.alloc(0))));
}
