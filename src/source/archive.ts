/**
 * Safe extraction of a gzipped tarball (a Flux artifact) into a directory.
 *
 * Every entry passes explicit, named checks before anything is written (the same set Flux's
 * untar applies, made stricter where cheap):
 *  - `absolute-path`      no `/x`, `C:\x` or `\\host\x` names
 *  - `parent-traversal`   no `..` segment anywhere in a name
 *  - `link`               no symbolic or hard links at all. source-controller's archiver only ever
 *                         writes regular files and directories, so a link in an artifact is never
 *                         legitimate; refusing all of them (rather than only escaping ones) also
 *                         rules out link-then-write-through-the-link tricks and links that are
 *                         harmless here but escape once the tree is copied or rendered elsewhere.
 *  - `special-file`       no devices, fifos or other non-file, non-directory entries
 *  - `max-files`          at most `maxFiles` entries
 *  - `max-bytes`          at most `maxBytes` of file content, and the decompressed tar stream
 *                         itself is capped (a gzip bomb is stopped while inflating, not after)
 *  - `nested-compression` the inflated stream must be a plain tar (no gzip-in-gzip, zstd, brotli)
 *  - `format`             a well-formed tar (tar's strict mode)
 *
 * Extraction goes to a temporary sibling of `destDir` that is renamed into place only when the
 * whole archive passed; on any failure the temporary directory is removed and `destDir` is left
 * exactly as it was (it must not exist beforehand). Error messages name the offending entry path,
 * never file contents. File modes are normalised (0644, or 0755 when any execute bit is set).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { SmcError } from '../errors.js';

export interface ArchiveLimits {
  /** Maximum total size of file contents (uncompressed), in bytes. */
  maxBytes: number;
  /** Maximum number of entries (files and directories). */
  maxFiles: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxBytes: 256 * 1024 * 1024, maxFiles: 20_000 };

export type ArchiveCheck =
  | 'absolute-path'
  | 'parent-traversal'
  | 'link'
  | 'special-file'
  | 'max-files'
  | 'max-bytes'
  | 'nested-compression'
  | 'format';

/** An archive refused by one of the named checks. `entry` is the offending path when there is one. */
export class UnsafeArchiveError extends SmcError {
  readonly check: ArchiveCheck;
  readonly entry: string | undefined;
  constructor(
    check: ArchiveCheck,
    entry: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('UnsafeArchive', `unsafe archive (${check}): ${message}`, options);
    this.name = 'UnsafeArchiveError';
    this.check = check;
    this.entry = entry;
  }
}

/** Header and padding overhead allowed on top of `maxBytes` for the inflated tar stream. */
function streamCap(limits: ArchiveLimits): number {
  return limits.maxBytes + (limits.maxFiles + 8) * 4096;
}

/** Quote an entry path for a message: printable, bounded. */
function q(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 200 ? `${clean.slice(0, 200)}…` : clean);
}

/**
 * Validate one entry name and return its normalised relative path ('' for the root itself).
 * Throws the named check it fails.
 */
export function checkEntryPath(name: string): string {
  if (name.includes('\0')) throw new UnsafeArchiveError('format', name, `entry ${q(name)} has a NUL byte`);
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name)) {
    throw new UnsafeArchiveError('absolute-path', name, `entry ${q(name)} has an absolute path`);
  }
  const parts = name.split(/[/\\]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new UnsafeArchiveError('parent-traversal', name, `entry ${q(name)} contains a '..' path segment`);
  }
  return parts.join('/');
}

const TYPE_FILE = new Set(['File', 'OldFile', 'ContiguousFile']);
const TYPE_LINK = new Set(['SymbolicLink', 'Link']);
/** Metadata entries tar consumes itself; they never reach 'entry', listed for clarity. */
const TYPE_META = new Set([
  'ExtendedHeader',
  'GlobalExtendedHeader',
  'NextFileHasLongPath',
  'NextFileHasLongLinkpath',
  'OldExtendedHeader',
]);

/** Counts inflated bytes; fails on nested compression and past the cap. */
class InflatedGuard extends Transform {
  private seen = 0;
  constructor(private readonly cap: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.seen === 0 && chunk.length >= 2) {
      const gzip = chunk[0] === 0x1f && chunk[1] === 0x8b;
      const zstd = chunk.length >= 4 && chunk.readUInt32LE(0) === 0xfd2fb528;
      if (gzip || zstd) {
        cb(
          new UnsafeArchiveError(
            'nested-compression',
            undefined,
            'the decompressed artifact is itself compressed (expected a plain tar inside one gzip layer)',
          ),
        );
        return;
      }
    }
    this.seen += chunk.length;
    if (this.seen > this.cap) {
      cb(
        new UnsafeArchiveError(
          'max-bytes',
          undefined,
          `decompressed archive exceeds ${this.cap} bytes (limit maxBytes plus tar overhead)`,
        ),
      );
      return;
    }
    cb(null, chunk);
  }
}

/**
 * Extract a gzipped tarball into `destDir` (created; must not exist yet) after the checks above.
 * Resolves to the number of regular files written.
 */
export async function extractTarGzSafely(
  input: Readable | Buffer | Uint8Array,
  destDir: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<{ files: number; bytes: number }> {
  const dest = path.resolve(destDir);
  if (await stat(dest).catch(() => undefined)) {
    throw new SmcError('InvalidRequest', `extraction target ${dest} already exists`);
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  await mkdir(tmp, { mode: 0o755 });
  try {
    const result = await extractInto(input, tmp, limits);
    await rename(tmp, dest);
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function extractInto(
  input: Readable | Buffer | Uint8Array,
  root: string,
  limits: ArchiveLimits,
): Promise<{ files: number; bytes: number }> {
  let entries = 0;
  let files = 0;
  let bytes = 0;
  let failure: unknown;
  const writes: Promise<void>[] = [];
  const madeDirs = new Set<string>(['']);

  const parser = new Parser({ strict: true, brotli: false, zstd: false });
  const fail = (err: unknown, entry?: ReadEntry): void => {
    failure ??= err;
    entry?.resume();
    parser.abort(err instanceof Error ? err : new Error(String(err)));
  };

  const ensureDir = async (rel: string): Promise<void> => {
    if (madeDirs.has(rel)) return;
    await mkdir(path.join(root, rel), { recursive: true, mode: 0o755 });
    madeDirs.add(rel);
  };

  parser.on('entry', (entry: ReadEntry) => {
    if (failure) return entry.resume();
    const name = entry.path;
    try {
      entries += 1;
      if (entries > limits.maxFiles) {
        throw new UnsafeArchiveError(
          'max-files',
          name,
          `more than ${limits.maxFiles} entries (at entry ${q(name)})`,
        );
      }
      const rel = checkEntryPath(name);
      const type = entry.type;
      if (TYPE_LINK.has(type)) {
        const kind = type === 'Link' ? 'hard link' : 'symbolic link';
        throw new UnsafeArchiveError(
          'link',
          name,
          `entry ${q(name)} is a ${kind} (to ${q(entry.linkpath ?? '')}); links are not allowed in artifacts`,
        );
      }
      if (type === 'Directory') {
        entry.resume();
        if (rel !== '') writes.push(ensureDir(rel).catch((e: unknown) => fail(e)));
        return;
      }
      if (!TYPE_FILE.has(type) || TYPE_META.has(type)) {
        throw new UnsafeArchiveError(
          'special-file',
          name,
          `entry ${q(name)} is a ${type}, not a regular file`,
        );
      }
      if (rel === '') throw new UnsafeArchiveError('format', name, `file entry ${q(name)} has an empty name`);
      const size = entry.size ?? 0;
      if (bytes + size > limits.maxBytes) {
        throw new UnsafeArchiveError(
          'max-bytes',
          name,
          `entry ${q(name)} brings the total uncompressed size over ${limits.maxBytes} bytes`,
        );
      }
      bytes += size;
      files += 1;
      const mode = (entry.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
      const target = path.join(root, rel);
      // Write while the parser streams; tar waits for the entry to drain (backpressure).
      entry.pause();
      writes.push(
        ensureDir(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel))
          .then(() => {
            let written = 0;
            const guard = new Transform({
              transform(chunk: Buffer, _e, cb) {
                written += chunk.length;
                if (written > size)
                  cb(new UnsafeArchiveError('format', name, `entry ${q(name)} overruns its size`));
                else cb(null, chunk);
              },
            });
            return pipeline(entry, guard, createWriteStream(target, { flags: 'wx', mode }));
          })
          .catch((e: unknown) => fail(wrapWriteError(e, name), entry)),
      );
    } catch (e) {
      fail(e, entry);
    }
  });

  const source =
    Buffer.isBuffer(input) || input instanceof Uint8Array ? Readable.from([Buffer.from(input)]) : input;
  try {
    await pipeline(source, createGunzip(), new InflatedGuard(streamCap(limits)), parser);
  } catch (e) {
    failure ??= e;
  }
  await Promise.allSettled(writes);
  if (failure) throw normaliseFailure(failure);
  return { files, bytes };
}

function wrapWriteError(e: unknown, name: string): unknown {
  if (e instanceof SmcError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') {
    return new UnsafeArchiveError(
      'format',
      name,
      `entry ${q(name)} appears twice or collides with a directory`,
    );
  }
  return new UnsafeArchiveError('format', name, `cannot write entry ${q(name)}: ${code ?? 'error'}`);
}

function normaliseFailure(e: unknown): Error {
  if (e instanceof SmcError) return e;
  const err = e as NodeJS.ErrnoException & { tarCode?: string };
  if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' || err.code?.startsWith('Z_')) {
    return new UnsafeArchiveError('format', undefined, 'the artifact is not valid gzip data', { cause: e });
  }
  if (err.tarCode || err.code?.startsWith('TAR_')) {
    return new UnsafeArchiveError(
      'format',
      undefined,
      `the artifact is not a valid tar archive (${err.tarCode ?? err.code})`,
      {
        cause: e,
      },
    );
  }
  return new UnsafeArchiveError('format', undefined, `extraction failed: ${err.message ?? String(e)}`, {
    cause: e,
  });
}
