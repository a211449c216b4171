/**
 * A tiny Flux-compatible artifact server: what source-controller's storage server does for the
 * controller under test. Artifacts are gzipped tarballs of a directory (entries relative to its
 * root, `.git` left out), stored on disk under `<kind>/<namespace>/<name>/<file>` and served over
 * plain HTTP on 127.0.0.1; each is described the way source-controller writes `status.artifact`:
 * { path, url, revision, digest: "sha256:<hex>", lastUpdateTime, size }.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, create as tarCreate } from 'tar';

/** `status.artifact` of a Flux source (source.toolkit.fluxcd.io/v1 Artifact). */
export interface FluxArtifact {
  /** Relative path in storage, e.g. `gitrepository/ns/name/<digest-hex>.tar.gz`. */
  path: string;
  /** Where the controller downloads it: `http://127.0.0.1:<port>/<path>`. */
  url: string;
  /** Source revision, e.g. `main@sha1:<commit>` (Git), `latest@sha256:<hex>` (OCI), `sha256:<hex>` (Bucket). */
  revision: string;
  /** `sha256:<hex>` of the tarball bytes. */
  digest: string;
  /** RFC 3339, second precision. */
  lastUpdateTime: string;
  /** Tarball size in bytes. */
  size: number;
}

export interface PublishOptions {
  /** Default: `sha256:<digest hex>` (what source-controller reports for a Bucket). */
  revision?: string;
  /** Storage path; default `<kind>/<namespace>/<name>/<digest hex>.tar.gz` (see artifactPath). */
  path?: string;
}

export interface ArtifactRequest {
  method: string;
  path: string;
  status: number;
}

export interface ArtifactServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly storageDir: string;
  /** Every request served so far (for asserting downloads and cache hits). */
  readonly requests: ArtifactRequest[];
  /** Tar+gzip `dir` and serve it. `ref` picks the default storage path. */
  publishDirectory(ref: SourceRef, dir: string, opts?: PublishOptions): Promise<FluxArtifact>;
  /** Serve exact bytes (e.g. a corrupt or hand-made tarball). */
  publishBytes(ref: SourceRef, data: Buffer, opts?: PublishOptions): Promise<FluxArtifact>;
  /** Stop serving one artifact (404 afterwards). */
  remove(artifact: Pick<FluxArtifact, 'path'>): Promise<void>;
  stop(): Promise<void>;
}

export interface SourceRef {
  kind: string;
  namespace: string;
  name: string;
}

export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** source-controller's layout: `<lowercase kind>/<namespace>/<name>/<file>`. */
export function artifactPath(ref: SourceRef, file: string): string {
  return `${ref.kind.toLowerCase()}/${ref.namespace}/${ref.name}/${file}`;
}

/**
 * A gzipped tarball of `dir` like source-controller builds: entries relative to the root, no `.git`,
 * portable headers (no uid/gid/owner names) and a fixed mtime, so equal trees give equal digests.
 */
export async function tarballOf(dir: string): Promise<Buffer> {
  const entries = (await readdir(dir)).filter((e) => e !== '.git').sort();
  const chunks: Buffer[] = [];
  const stream = tarCreate(
    {
      gzip: true,
      cwd: dir,
      portable: true,
      mtime: new Date('2000-01-01T00:00:00Z'),
      filter: (p) => !p.split('/').includes('.git'),
    },
    entries,
  );
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export async function startArtifactServer(): Promise<ArtifactServer> {
  const storageDir = await mkdtemp(join(tmpdir(), 'smc-artifacts-'));
  const requests: ArtifactRequest[] = [];

  const server: Server = createServer((req, res) => {
    const done = (status: number) => requests.push({ method: req.method ?? '', path: req.url ?? '', status });
    void (async () => {
      const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
        /^[/\\]+/,
        '',
      );
      const file = join(storageDir, rel);
      if (
        (req.method !== 'GET' && req.method !== 'HEAD') ||
        rel.startsWith('..') ||
        !file.startsWith(storageDir + sep)
      ) {
        res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end();
        return done(res.statusCode);
      }
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return done(404);
      }
      res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': size });
      done(200);
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('artifact server: no address');
  const url = `http://127.0.0.1:${addr.port}`;

  async function publishBytes(
    ref: SourceRef,
    data: Buffer,
    opts: PublishOptions = {},
  ): Promise<FluxArtifact> {
    const digest = sha256Digest(data);
    const path = opts.path ?? artifactPath(ref, `${digest.slice('sha256:'.length)}.tar.gz`);
    const file = join(storageDir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data);
    return {
      path,
      url: `${url}/${path}`,
      revision: opts.revision ?? digest,
      digest,
      lastUpdateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      size: data.length,
    };
  }

  return {
    url,
    storageDir,
    requests,
    publishBytes,
    async publishDirectory(ref, dir, opts = {}) {
      return publishBytes(ref, await tarballOf(dir), opts);
    },
    async remove(artifact) {
      await rm(join(storageDir, artifact.path), { force: true });
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(storageDir, { recursive: true, force: true });
    },
  };
}

/** Download an artifact and check its digest (what the controller under test must do). */
export async function downloadArtifact(artifact: Pick<FluxArtifact, 'url' | 'digest'>): Promise<Buffer> {
  const res = await fetch(artifact.url);
  if (!res.ok) throw new Error(`GET ${artifact.url}: HTTP ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  const got = sha256Digest(data);
  if (got !== artifact.digest)
    throw new Error(`artifact ${artifact.url}: digest ${got}, expected ${artifact.digest}`);
  return data;
}

/** One entry of a hand-made tarball (tarGzOfEntries): a file, a directory or a link, named as given. */
export interface RawTarEntry {
  /** Written into the header as is: `../x`, `/abs` and the like are kept (that is the point). */
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  /** File content (File only). */
  content?: string | Buffer;
  /** Link target (SymbolicLink / Link). */
  linkpath?: string;
}

/**
 * A gzipped ustar tarball with exactly these entries, in this order, names not sanitised: for
 * artifacts a real archiver would never write (tar-slip entries, escaping links). Serve it with
 * publishBytes().
 */
export function tarGzOfEntries(entries: readonly RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'File';
    const body = type === 'File' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    new Header({
      path: e.path,
      type,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size: body.length,
      mtime: new Date('2000-01-01T00:00:00Z'),
      ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}),
    }).encode(header, 0);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024)); // end of archive: two zero blocks
  return gzipSync(Buffer.concat(blocks));
}
