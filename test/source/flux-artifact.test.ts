import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { type FluxArtifactRef, fetchFluxArtifact, parseDigest } from '../../src/source/flux-artifact.js';
import { type ArtifactServer, gitRevision, startArtifactServer, tarballOf } from '../peers/gitops/index.js';
import { tgzOf } from './tarball.js';

let server: ArtifactServer;
let scratch: string;
let n = 0;
const ref = () => ({ kind: 'GitRepository', namespace: 'flux-system', name: `config-${++n}` });

beforeAll(async () => {
  server = await startArtifactServer();
  scratch = await mkdtemp(join(tmpdir(), 'smc-flux-test-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'tree-'));
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), c);
  }
  return dir;
}

const limits = { maxBytes: 1 << 20, maxFiles: 100 };
const newCache = () => mkdtemp(join(scratch, 'cache-'));
const gets = (path: string) => server.requests.filter((r) => r.path === `/${path}`).length;

describe('fetchFluxArtifact', () => {
  it('downloads, verifies and extracts an artifact served like source-controller', async () => {
    const dir = await tree({ 'payments/dev/application.secrets.env': 'A=1\n', 'x.yaml': 'k: v\n' });
    const artifact = await server.publishDirectory(ref(), dir, {
      revision: gitRevision('main', 'a'.repeat(40)),
    });
    const cacheDir = await newCache();
    const co = await fetchFluxArtifact({ artifact, cacheDir, limits });
    expect(co.revision).toBe(`main@sha1:${'a'.repeat(40)}`);
    expect(co.digest).toBe(artifact.digest);
    expect(co.cached).toBe(false);
    expect(co.root.startsWith(cacheDir)).toBe(true);
    expect(await readFile(join(co.root, 'payments/dev/application.secrets.env'), 'utf8')).toBe('A=1\n');
    expect(await readFile(join(co.root, 'x.yaml'), 'utf8')).toBe('k: v\n');
    expect(co.description).toContain(artifact.path);
    // only the extracted entry remains in the cache (no temp download file)
    expect(await readdir(cacheDir)).toEqual([`sha256-${artifact.digest.slice(7)}`]);
  });

  it('a second fetch of the same digest makes no HTTP request; concurrent fetches share one download', async () => {
    const dir = await tree({ 'a.env': 'A=2\n' });
    const artifact = await server.publishDirectory(ref(), dir);
    const cacheDir = await newCache();
    const [a, b, c] = await Promise.all([
      fetchFluxArtifact({ artifact, cacheDir, limits }),
      fetchFluxArtifact({ artifact, cacheDir, limits }),
      fetchFluxArtifact({ artifact, cacheDir, limits }),
    ]);
    expect(gets(artifact.path)).toBe(1);
    expect(new Set([a.root, b.root, c.root]).size).toBe(1);
    const before = server.requests.length;
    const again = await fetchFluxArtifact({ artifact, cacheDir, limits });
    expect(again.cached).toBe(true);
    expect(again.root).toBe(a.root);
    expect(server.requests.length).toBe(before); // zero HTTP requests
  });

  it('refuses a digest mismatch before extracting anything', async () => {
    const dir = await tree({ 'a.env': 'A=3\n' });
    const artifact = await server.publishDirectory(ref(), dir);
    const wrong = `sha256:${createHash('sha256').update('other').digest('hex')}`;
    const cacheDir = await newCache();
    const err = await fetchFluxArtifact({ artifact: { ...artifact, digest: wrong }, cacheDir, limits }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(err, 'ArtifactDigestMismatch')).toBe(true);
    expect((err as Error).message).toMatch(/refusing to extract/);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('verifies sha384 / sha512 digests and the legacy sha256 checksum field', async () => {
    const data = await tarballOf(await tree({ 'b.env': 'B=1\n' }));
    const artifact = await server.publishBytes(ref(), data);
    for (const algo of ['sha384', 'sha512']) {
      const digest = `${algo}:${createHash(algo).update(data).digest('hex')}`;
      const co = await fetchFluxArtifact({
        artifact: { url: artifact.url, digest },
        cacheDir: await newCache(),
        limits,
      });
      expect(co.digest).toBe(digest);
      expect(await readFile(join(co.root, 'b.env'), 'utf8')).toBe('B=1\n');
      const bad = `${algo}:${createHash(algo).update('x').digest('hex')}`;
      await expect(
        fetchFluxArtifact({
          artifact: { url: artifact.url, digest: bad },
          cacheDir: await newCache(),
          limits,
        }),
      ).rejects.toMatchObject({ code: 'ArtifactDigestMismatch' });
    }
    const legacy = { url: artifact.url, checksum: artifact.digest.slice(7), revision: 'main/abc' };
    const co = await fetchFluxArtifact({ artifact: legacy, cacheDir: await newCache(), limits });
    expect(co.revision).toBe('main/abc');
    expect(() => parseDigest({ digest: 'md5:abcd' })).toThrow(/not supported/);
  });

  it('retries a 404 and follows a fresh artifact from resolveArtifact()', async () => {
    const r = ref();
    const old = await server.publishDirectory(r, await tree({ 'c.env': 'C=old\n' }));
    await server.remove(old); // garbage-collected by source-controller
    const fresh = await server.publishDirectory(r, await tree({ 'c.env': 'C=new\n' }));
    let calls = 0;
    const co = await fetchFluxArtifact({
      artifact: old,
      cacheDir: await newCache(),
      limits,
      retry404: { attempts: 3, baseDelayMs: 10 },
      resolveArtifact: async (): Promise<FluxArtifactRef> => {
        calls++;
        return fresh;
      },
    });
    expect(calls).toBe(1);
    expect(co.digest).toBe(fresh.digest);
    expect(await readFile(join(co.root, 'c.env'), 'utf8')).toBe('C=new\n');
    expect(server.requests.some((q) => q.path === `/${old.path}` && q.status === 404)).toBe(true);
  });

  it('gives up on a persistent 404 with ArtifactNotFound, and SourceNotReady when the source has no artifact', async () => {
    const r = ref();
    const gone = await server.publishDirectory(r, await tree({ 'd.env': 'D=1\n' }));
    await server.remove(gone);
    const before = gets(gone.path);
    await expect(
      fetchFluxArtifact({
        artifact: gone,
        cacheDir: await newCache(),
        limits,
        retry404: { attempts: 3, baseDelayMs: 5 },
      }),
    ).rejects.toMatchObject({ code: 'ArtifactNotFound' });
    expect(gets(gone.path) - before).toBe(3);
    await expect(
      fetchFluxArtifact({
        artifact: gone,
        cacheDir: await newCache(),
        limits,
        retry404: { attempts: 3, baseDelayMs: 5 },
        resolveArtifact: async () => undefined,
      }),
    ).rejects.toMatchObject({ code: 'SourceNotReady' });
  });

  it('refuses a tar-slip artifact (digest correct) and leaves the cache empty', async () => {
    const artifact = await server.publishBytes(ref(), tgzOf([{ name: '../../escape.env', body: 'X=1\n' }]));
    const cacheDir = await newCache();
    await expect(fetchFluxArtifact({ artifact, cacheDir, limits })).rejects.toMatchObject({
      code: 'UnsafeArchive',
      check: 'parent-traversal',
    });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('enforces the download size cap while streaming', async () => {
    const data = await tarballOf(await tree({ 'big.bin': 'x'.repeat(100_000) + Math.random() }));
    const artifact = await server.publishBytes(ref(), data);
    await expect(
      fetchFluxArtifact({
        artifact,
        cacheDir: await newCache(),
        limits: { ...limits, maxDownloadBytes: 100 },
      }),
    ).rejects.toMatchObject({ code: 'TooLarge' });
  });

  it('prunes old cache entries, keeping the N most recent', async () => {
    const cacheDir = await newCache();
    const roots: string[] = [];
    for (let i = 0; i < 4; i++) {
      const artifact = await server.publishDirectory(ref(), await tree({ 'e.env': `E=${i}\n` }));
      const co = await fetchFluxArtifact({ artifact, cacheDir, limits, keep: 2 });
      co.release();
      roots.push(co.root);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await readdir(cacheDir)).sort()).toEqual(
      roots
        .slice(2)
        .map((p) => p.slice(cacheDir.length + 1))
        .sort(),
    );
  });

  it('a tree in use (fetched, not yet released) is never pruned by concurrent fetches of newer artifacts', async () => {
    const cacheDir = await newCache();
    const first = await server.publishDirectory(ref(), await tree({ 'in-use.env': 'KEEP=1\n' }));
    // Reconcile 1 has its tree and is rendering it…
    const inUse = await fetchFluxArtifact({ artifact: first, cacheDir, limits, keep: 3 });
    await new Promise((r) => setTimeout(r, 20));
    // …while three other reconciles fetch three newer artifacts at once (keep 3: the oldest goes).
    const newer = await Promise.all(
      [1, 2, 3].map(async (i) => server.publishDirectory(ref(), await tree({ 'e.env': `E=${i}\n` }))),
    );
    const others = await Promise.all(
      newer.map((artifact) => fetchFluxArtifact({ artifact, cacheDir, limits, keep: 3 })),
    );
    for (const o of others) o.release();
    // The tree being rendered is intact.
    expect(await readFile(join(inUse.root, 'in-use.env'), 'utf8')).toBe('KEEP=1\n');
    inUse.release();
    inUse.release(); // releasing twice is harmless
    // Once released it is pruned like any other old entry (by the next extraction).
    const next = await server.publishDirectory(ref(), await tree({ 'n.env': 'N=1\n' }));
    (await fetchFluxArtifact({ artifact: next, cacheDir, limits, keep: 3 })).release();
    expect(await readdir(cacheDir)).not.toContain(inUse.root.slice(cacheDir.length + 1));
    expect((await readdir(cacheDir)).length).toBe(3);
  });

  it('a cached tree is served again while a concurrent prune removes it: re-extracted, never half-gone', async () => {
    const cacheDir = await newCache();
    const artifacts = [];
    for (let i = 0; i < 4; i++)
      artifacts.push(await server.publishDirectory(ref(), await tree({ 'e.env': `E=${i}\n` })));
    const a0 = await fetchFluxArtifact({ artifact: artifacts[0]!, cacheDir, limits, keep: 1 });
    a0.release();
    await new Promise((r) => setTimeout(r, 20));
    // The fetch of a newer artifact prunes entry 0 while entry 0 is asked for again.
    const [a1, again] = await Promise.all([
      fetchFluxArtifact({ artifact: artifacts[1]!, cacheDir, limits, keep: 1 }),
      fetchFluxArtifact({ artifact: artifacts[0]!, cacheDir, limits, keep: 1 }),
    ]);
    expect(await readFile(join(again.root, 'e.env'), 'utf8')).toBe('E=0\n');
    a1.release();
    again.release();
  });

  it('times out a stalled download (ArtifactFetchFailed) and honours hostOverride', async () => {
    const artifact = await server.publishDirectory(ref(), await tree({ 'g.env': 'G=1\n' }));
    const stalled: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    await expect(
      fetchFluxArtifact({ artifact, cacheDir: await newCache(), limits, fetch: stalled, timeoutMs: 50 }),
    ).rejects.toMatchObject({ code: 'ArtifactFetchFailed', message: expect.stringMatching(/timed out/) });
    const moved = {
      ...artifact,
      url: artifact.url.replace(/127\.0\.0\.1:\d+/, 'source-controller.flux-system.svc'),
    };
    const co = await fetchFluxArtifact({
      artifact: moved,
      cacheDir: await newCache(),
      limits,
      hostOverride: new URL(server.url).host,
    });
    expect(await readFile(join(co.root, 'g.env'), 'utf8')).toBe('G=1\n');
  });

  it('never shows URL credentials or query tokens in descriptions', async () => {
    const artifact = await server.publishDirectory(ref(), await tree({ 'f.env': 'F=1\n' }));
    const url = new URL(artifact.url);
    url.search = '?X-Amz-Signature=SIGNATURECANARY';
    const co = await fetchFluxArtifact({
      artifact: { ...artifact, url: url.toString() },
      cacheDir: await newCache(),
      limits,
    });
    expect(co.description).not.toContain('SIGNATURECANARY');
  });
});
