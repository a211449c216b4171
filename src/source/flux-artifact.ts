/**
 * Flux source artifacts: download `status.artifact.url` of a GitRepository / OCIRepository / Bucket,
 * verify `status.artifact.digest` while streaming (before anything is extracted), extract safely and
 * cache the tree by digest.
 *
 * Cache layout: `<cacheDir>/<algo>-<hex>/` holds one extracted artifact; its mtime is bumped on use
 * (at most every 30 s) and all but the `keep` most recently used entries are pruned after each new extraction.
 * Concurrent fetches of one digest (in this process) share one download.
 *
 * Trees in use are reference-counted: every checkout returned holds a reference until its
 * `release()` (the controller releases after the render), and pruning never removes a tree with a
 * reference or a download in flight — so with more concurrent reconciles than `keep`, a tree being
 * rendered cannot vanish underneath the renderer (a vanished file would read as absent, and its
 * entries would be pruned from the store). A fetch of an entry that a prune is removing at that
 * moment waits for the removal and extracts the artifact again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { backoffDelayMs } from '../backoff.js';
import { SmcError } from '../errors.js';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, extractTarGzSafely } from './archive.js';
import type { SourceCheckout } from './source.js';

/** The parts of a Flux `status.artifact` this module uses. */
export interface FluxArtifactRef {
  url: string;
  /** `<algo>:<hex>`; sha256, sha384 and sha512 are supported. */
  digest?: string;
  /** Legacy (v1beta2) field: the sha256 hex of the tarball, used when `digest` is absent. */
  checksum?: string;
  revision?: string;
}

export interface FluxFetchLimits extends ArchiveLimits {
  /** Maximum size of the compressed download. Default: `maxBytes`. */
  maxDownloadBytes?: number;
}

export interface FetchFluxArtifactOptions {
  artifact: FluxArtifactRef;
  /** Directory for cached extracted artifacts (created). */
  cacheDir: string;
  limits?: Partial<FluxFetchLimits>;
  /** Injected fetch (default: global fetch, i.e. undici). */
  fetch?: typeof fetch;
  /** Timeout for one download attempt (headers + body). Default 60 s. */
  timeoutMs?: number;
  /** 404 handling (Flux garbage-collects old artifacts): attempts in all and first backoff. Default 3 / 500 ms. */
  retry404?: { attempts: number; baseDelayMs: number };
  /**
   * Called after a 404 to re-read the source's status: a fresh artifact (possibly with a new URL and
   * digest) to try instead, or undefined when the source has none (not ready).
   */
  resolveArtifact?: () => Promise<FluxArtifactRef | undefined>;
  /** Cache entries kept when pruning (most recently used first). Default 3. */
  keep?: number;
  /**
   * Replace the URL's host[:port] (kustomize-controller's `SOURCE_CONTROLLER_LOCALHOST`), for a
   * controller running outside the cluster next to a port-forwarded source-controller.
   */
  hostOverride?: string;
  /** Source name for messages, e.g. `GitRepository flux-system/config`. */
  sourceName?: string;
}

export interface FluxCheckout extends SourceCheckout {
  revision: string;
  /** Normalised `<algo>:<hex>` digest of the artifact that was used. */
  digest: string;
  /** True when served from the cache without any HTTP request. */
  cached: boolean;
  /** Give the tree back once it is no longer read: until then it is never pruned. Idempotent. */
  release(): void;
}

const ALGOS: Record<string, { node: string; hexLen: number }> = {
  sha256: { node: 'sha256', hexLen: 64 },
  sha384: { node: 'sha384', hexLen: 96 },
  sha512: { node: 'sha512', hexLen: 128 },
};

/** Parse `sha256:<hex>` (or a legacy checksum) into algorithm and lowercase hex. */
export function parseDigest(artifact: Pick<FluxArtifactRef, 'digest' | 'checksum'>): {
  algo: string;
  hex: string;
} {
  if (artifact.digest) {
    const m = /^([a-z0-9]+):([0-9a-fA-F]+)$/.exec(artifact.digest.trim());
    if (!m)
      throw new SmcError('InvalidSpec', `artifact digest ${JSON.stringify(artifact.digest)} is malformed`);
    const algo = m[1]!;
    const spec = ALGOS[algo];
    if (!spec) {
      throw new SmcError(
        'InvalidSpec',
        `artifact digest algorithm ${JSON.stringify(algo)} is not supported (sha256, sha384, sha512)`,
      );
    }
    if (m[2]!.length !== spec.hexLen) {
      throw new SmcError(
        'InvalidSpec',
        `artifact ${algo} digest has ${m[2]!.length} hex digits, not ${spec.hexLen}`,
      );
    }
    return { algo, hex: m[2]!.toLowerCase() };
  }
  if (artifact.checksum && /^[0-9a-fA-F]{64}$/.test(artifact.checksum.trim())) {
    return { algo: 'sha256', hex: artifact.checksum.trim().toLowerCase() };
  }
  throw new SmcError('InvalidSpec', 'artifact has no digest (or legacy sha256 checksum)');
}

/** A URL safe to show: no userinfo, no query or fragment (signed URLs carry tokens there). */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

type Extracted = Omit<FluxCheckout, 'release'>;

const inflight = new Map<string, Promise<Extracted>>();
/** References to each cache entry (by its full path) held by checkouts not yet released. */
const inUse = new Map<string, number>();
/** Entries a prune is removing: a fetch of one waits for the removal, then extracts it again. */
const removing = new Map<string, Promise<void>>();
/** When each entry was last found on disk (and its mtime bumped). */
const lastChecked = new Map<string, number>();
const TOUCH_EVERY_MS = 30_000;

/** Take a reference to `entry`; the returned function gives it back (once). */
function acquire(entry: string): () => void {
  inUse.set(entry, (inUse.get(entry) ?? 0) + 1);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const n = (inUse.get(entry) ?? 1) - 1;
    if (n > 0) inUse.set(entry, n);
    else inUse.delete(entry);
  };
}

/** Number of unreleased references to the cache entry at `root` (tests). */
export function fluxTreeReferences(root: string): number {
  return inUse.get(path.resolve(root)) ?? 0;
}

/** Download (or reuse from the cache) a Flux artifact and return its extracted tree. */
export async function fetchFluxArtifact(opts: FetchFluxArtifactOptions): Promise<FluxCheckout> {
  const attempts = Math.max(1, opts.retry404?.attempts ?? 3);
  const baseDelay = opts.retry404?.baseDelayMs ?? 500;
  let artifact = opts.artifact;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOnce(artifact, opts);
    } catch (e) {
      if (!(e instanceof SmcError && e.code === 'ArtifactNotFound') || attempt >= attempts) throw e;
      await sleep(backoffDelayMs({ baseMs: baseDelay, jitter: { spread: 0.2 } }, attempt));
      if (opts.resolveArtifact) {
        const fresh = await opts.resolveArtifact();
        if (!fresh) {
          throw new SmcError(
            'SourceNotReady',
            `${opts.sourceName ?? 'Flux source'} has no artifact (its previous artifact was garbage-collected)`,
          );
        }
        artifact = fresh;
      }
    }
  }
}

async function fetchOnce(artifact: FluxArtifactRef, opts: FetchFluxArtifactOptions): Promise<FluxCheckout> {
  const { algo, hex } = parseDigest(artifact);
  const cacheDir = path.resolve(opts.cacheDir);
  const entryDir = path.join(cacheDir, `${algo}-${hex}`);
  // The reference is taken before anything is awaited: a prune that starts later sees it.
  const release = acquire(entryDir);
  try {
    const c = await extracted(artifact, opts, cacheDir, entryDir, algo, hex);
    return { ...c, revision: artifact.revision ?? c.revision, release };
  } catch (e) {
    release();
    throw e;
  }
}

function extracted(
  artifact: FluxArtifactRef,
  opts: FetchFluxArtifactOptions,
  cacheDir: string,
  entryDir: string,
  algo: string,
  hex: string,
): Promise<Extracted> {
  const key = entryDir;
  const existing = inflight.get(key);
  if (existing) return existing;
  const p = (async (): Promise<Extracted> => {
    await removing.get(entryDir);
    const digest = `${algo}:${hex}`;
    const revision = artifact.revision ?? digest;
    const description = `Flux artifact ${revision} of ${opts.sourceName ?? 'a Flux source'} (${redactUrl(artifact.url)})`;
    // A fleet on one source asks for the same entry once per SMC: within TOUCH_EVERY_MS of the last
    // check it is known to be there (only `prune` removes entries, and it forgets them here), and its
    // mtime, the prune's "last used", is bumped at most that often.
    const now = Date.now();
    const checked = lastChecked.get(entryDir);
    if (checked !== undefined && now - checked < TOUCH_EVERY_MS) {
      return { root: entryDir, revision, digest, description, cached: true };
    }
    if (await isDir(entryDir)) {
      await utimes(entryDir, new Date(now), new Date(now)).catch(() => undefined);
      lastChecked.set(entryDir, now);
      return { root: entryDir, revision, digest, description, cached: true };
    }
    lastChecked.delete(entryDir);
    await mkdir(cacheDir, { recursive: true });
    const limits: FluxFetchLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...opts.limits };
    const tmpFile = path.join(cacheDir, `.download-${randomBytes(6).toString('hex')}.tar.gz`);
    try {
      await download(artifact, algo, hex, tmpFile, limits, opts);
      await extractTarGzSafely(createReadStream(tmpFile), entryDir, limits);
    } finally {
      await rm(tmpFile, { force: true });
    }
    await prune(cacheDir, opts.keep ?? 3, entryDir);
    lastChecked.set(entryDir, Date.now());
    return { root: entryDir, revision, digest, description, cached: false };
  })();
  inflight.set(key, p);
  return p.finally(() => inflight.delete(key));
}

async function download(
  artifact: FluxArtifactRef,
  algo: string,
  hex: string,
  file: string,
  limits: FluxFetchLimits,
  opts: FetchFluxArtifactOptions,
): Promise<void> {
  const url = withHost(artifact.url, opts.hostOverride);
  const shown = redactUrl(url);
  const doFetch = opts.fetch ?? fetch;
  const maxDownload = limits.maxDownloadBytes ?? limits.maxBytes;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  let res: Response;
  try {
    res = await doFetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    throw new SmcError('ArtifactFetchFailed', `cannot download ${shown}: ${errText(e)}`, { cause: e });
  }
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel().catch(() => undefined);
    throw new SmcError(
      'ArtifactNotFound',
      `artifact ${shown} not found (HTTP ${res.status}); it may have been garbage-collected`,
    );
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new SmcError('ArtifactFetchFailed', `cannot download ${shown}: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxDownload) {
    await res.body.cancel().catch(() => undefined);
    throw new SmcError(
      'TooLarge',
      `artifact ${shown} is ${declared} bytes, over the ${maxDownload}-byte limit`,
    );
  }
  const hash = createHash(ALGOS[algo]!.node);
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let size = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > maxDownload) {
        throw new SmcError('TooLarge', `artifact ${shown} is over the ${maxDownload}-byte download limit`);
      }
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
    }
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  } catch (e) {
    out.destroy();
    await res.body.cancel().catch(() => undefined);
    if (e instanceof SmcError) throw e;
    throw new SmcError('ArtifactFetchFailed', `download of ${shown} failed: ${errText(e)}`, { cause: e });
  }
  const got = hash.digest('hex');
  if (got !== hex) {
    throw new SmcError(
      'ArtifactDigestMismatch',
      `artifact ${shown} has ${algo} digest ${got}, expected ${hex}; refusing to extract it`,
    );
  }
}

/** Keep the `keep` most recently used cache entries (always keeping `current`). */
async function prune(cacheDir: string, keep: number, current: string): Promise<void> {
  const names = (await readdir(cacheDir).catch(() => [] as string[])).filter((n) =>
    /^sha(256|384|512)-[0-9a-f]+$/.test(n),
  );
  const withTime = await Promise.all(
    names.map(async (n) => {
      const full = path.join(cacheDir, n);
      const st = await stat(full).catch(() => undefined);
      return { full, t: st?.mtimeMs ?? 0 };
    }),
  );
  withTime.sort((a, b) => b.t - a.t);
  const stale = withTime.filter((e) => e.full !== current).slice(Math.max(0, keep - 1));
  // Decided and marked in one synchronous step: a fetch either took its reference before (and the
  // entry is kept) or finds it in `removing` (and waits, then extracts it again).
  const doomed = stale.filter((e) => !inflight.has(e.full) && !inUse.has(e.full) && !removing.has(e.full));
  await Promise.all(
    doomed.map((e) => {
      lastChecked.delete(e.full);
      const done = rm(e.full, { recursive: true, force: true })
        .catch(() => undefined)
        .finally(() => removing.delete(e.full));
      removing.set(e.full, done);
      return done;
    }),
  );
}

function withHost(raw: string, host: string | undefined): string {
  if (!host) return raw;
  const u = new URL(raw);
  u.host = host;
  return u.toString();
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
    const cause = (e as { cause?: { code?: string } }).cause;
    return cause?.code ?? e.message;
  }
  return String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
