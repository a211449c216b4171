/**
 * One image layer as a reproducible tar: the entries sorted by path, every mtime the same fixed
 * time, owners and modes as given (nothing read from the build host's umask or clock), no
 * atime/ctime/device/inode fields, hard links only between entries of the same layer. Headers
 * are encoded by the `tar` package (ustar, with a PAX header for long names); this module only
 * decides what goes in them. Written to a file while hashing (the layer's diff_id), then gzipped
 * (the blob, addressed by its own digest).
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, readSync, writeSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';

/** Every file's mtime in every layer (jib's choice: 1 s after the epoch, as 0 reads as "unset" to some tools). */
export const LAYER_MTIME = new Date(1000);

export type LayerEntry =
  | { path: string; type: 'dir'; mode: number; uid: number; gid: number }
  | { path: string; type: 'file'; mode: number; uid: number; gid: number; source: string; size: number }
  | { path: string; type: 'symlink'; mode: number; uid: number; gid: number; target: string }
  | { path: string; type: 'hardlink'; mode: number; uid: number; gid: number; target: string };

export interface WalkOptions {
  /** Where the walked tree lands in the image, e.g. `app/node_modules/zod` (no leading slash). */
  prefix: string;
  /** Keep owners and modes as they are on disk (the Debian root); otherwise root-owned, 0755/0644. */
  keepOwnership?: boolean;
  /** Leave out a path (relative to the walked root, `/`-separated) and, for a directory, all below it. */
  exclude?: (rel: string, isDir: boolean) => boolean;
}

/** Directory entries `a`, `a/b`, … for every parent of `p` (root-owned, 0755). */
export function parentDirs(p: string): LayerEntry[] {
  const parts = p.split('/').slice(0, -1);
  return parts.map((_, i) => ({
    path: parts.slice(0, i + 1).join('/'),
    type: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
  }));
}

/** The entries of a directory tree, in no particular order (`writeLayer` sorts them). */
export async function walk(root: string, opts: WalkOptions): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const seen = new Map<string, string>(); // dev:ino → first path (hard links)
  const visit = async (rel: string) => {
    const abs = rel ? path.join(root, rel) : root;
    const st = await lstat(abs);
    const inImage = [opts.prefix, rel].filter(Boolean).join('/');
    const own = opts.keepOwnership
      ? { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }
      : { mode: st.isDirectory() || st.mode & 0o111 ? 0o755 : 0o644, uid: 0, gid: 0 };
    if (st.isDirectory()) {
      if (inImage) out.push({ path: inImage, type: 'dir', ...own });
      for (const name of (await readdir(abs)).sort()) {
        const child = rel ? `${rel}/${name}` : name;
        const childStat = await lstat(path.join(root, child));
        if (opts.exclude?.(child, childStat.isDirectory())) continue;
        await visit(child);
      }
    } else if (st.isSymbolicLink()) {
      out.push({ path: inImage, type: 'symlink', ...own, mode: 0o777, target: await readlink(abs) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 && opts.keepOwnership ? seen.get(key) : undefined;
      if (first) out.push({ path: inImage, type: 'hardlink', ...own, target: first });
      else {
        if (st.nlink > 1) seen.set(key, inImage);
        out.push({ path: inImage, type: 'file', ...own, source: abs, size: st.size });
      }
    } else {
      throw new Error(`${abs}: not a file, directory or symbolic link; an image layer cannot hold it`);
    }
  };
  await visit('');
  return out;
}

export interface LayerBlob {
  /** sha256 of the gzipped tar: the blob's name in the layout and the manifest's layer digest. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: string;
  uncompressedSize: number;
  entries: number;
}

const TYPES = { dir: 'Directory', file: 'File', symlink: 'SymbolicLink', hardlink: 'Link' } as const;

/** The tar of `entries` at `tarPath`: its diff_id and size. Duplicate paths are an error. */
export function writeTar(entries: LayerEntry[], tarPath: string): { diffId: string; size: number } {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) throw new Error(`layer has ${sorted[i]!.path} twice`);
  }
  const hash = createHash('sha256');
  const fd = openSync(tarPath, 'w');
  let size = 0;
  const put = (buf: Buffer) => {
    writeSync(fd, buf);
    hash.update(buf);
    size += buf.length;
  };
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (const e of sorted) {
      const name = e.type === 'dir' ? `${e.path}/` : e.path;
      const data = {
        path: name,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.type === 'file' ? e.size : 0,
        mtime: LAYER_MTIME,
        type: TYPES[e.type],
        linkpath: e.type === 'symlink' || e.type === 'hardlink' ? e.target : '',
        uname: '',
        gname: '',
      };
      const header = new Header(data);
      const block = Buffer.alloc(512);
      if (header.encode(block))
        put(new Pax({ path: name, linkpath: data.linkpath || undefined, mtime: LAYER_MTIME }).encode());
      put(block);
      if (e.type !== 'file') continue;
      const src = openSync(e.source, 'r');
      let left = e.size;
      try {
        while (left > 0) {
          const n = readSync(src, chunk, 0, Math.min(chunk.length, left), null);
          if (n === 0) throw new Error(`${e.source} shrank while it was being packed`);
          put(chunk.subarray(0, n));
          left -= n;
        }
      } finally {
        closeSync(src);
      }
      if (e.size % 512) put(Buffer.alloc(512 - (e.size % 512)));
    }
    put(Buffer.alloc(1024)); // end of archive
  } finally {
    closeSync(fd);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

/** Gzip `tarPath` into `gzPath` (fixed level, no name or time in the gzip header): its digest and size. */
export async function gzipFile(tarPath: string, gzPath: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(buf: Buffer, _enc, done) {
      hash.update(buf);
      size += buf.length;
      done(null, buf);
    },
  });
  await pipeline(createReadStream(tarPath), createGzip({ level: 6 }), tap, createWriteStream(gzPath));
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
