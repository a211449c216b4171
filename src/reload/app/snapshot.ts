/**
 * Reading a directory (or a list of files) into a consistent snapshot: key → content, plus a content
 * digest per key for change detection. Digests stay inside the library: they are never logged,
 * returned or exposed, because a digest of a low-entropy secret can be brute-forced.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DATA_LINK } from '../../kubelet-volume.js';

/** Names starting with `..` are reserved by the AtomicWriter (payload dirs, `..data`, `..data_tmp`). */
const RESERVED_PREFIX = '..';
/** Nested directories deeper than this are not read (a loop guard; projected keys are shallow). */
const MAX_DEPTH = 8;
/** How often a read that raced with a writer is retried before the error is reported. */
const MAX_RACE_RETRIES = 8;

/**
 * How the directory was laid out when read:
 * - `atomic`: a kubelet-style volume (`..data` → timestamped payload); read from one payload, so the
 *   snapshot is exactly one version of the volume, never a mix;
 * - `plain`: an ordinary directory (a file per key, possibly edited in place by a person or a tool);
 * - `missing`: the directory does not exist (yet, or any more).
 */
export type DirLayout = 'atomic' | 'plain' | 'missing';

export interface Snapshot {
  layout: DirLayout;
  /** key → content. */
  files: Map<string, Buffer>;
  /** key → SHA-256 of the content. Internal only. */
  digests: Map<string, string>;
  /** Real directories holding keys, other than the root (plain layout): watched for changes too. */
  subdirs: string[];
}

/** Which keys take part in change detection; `key` is the path relative to the watched directory. */
export type KeyFilter = (key: string) => boolean;

/**
 * The default key filter: everything except editor and OS droppings that come and go while a file is
 * edited by hand — vim swap/backup files (`.x.swp`, `x~`, `4913`), emacs lock and autosave files
 * (`.#x`, `#x#`), and `.DS_Store`. Dot-files in general are kept: `.dockerconfigjson` is a real key.
 */
export const defaultKeyFilter: KeyFilter = (key) => {
  const name = basename(key);
  return !(
    /^\..*\.sw[a-p]$/.test(name) ||
    name.endsWith('~') ||
    name.startsWith('.#') ||
    (name.startsWith('#') && name.endsWith('#')) ||
    name === '4913' ||
    name === '.DS_Store'
  );
};

/** Thrown inside a read when a writer changed the directory under us; the read is started again. */
class RaceDetected extends Error {}

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e
    ? String((e as { code: unknown }).code)
    : undefined;
}

const isGone = (e: unknown) => {
  const code = errnoOf(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
};

export function digest(content: Buffer): string {
  return createHash('sha256').update(content).digest('base64');
}

function emptySnapshot(layout: DirLayout): Snapshot {
  return { layout, files: new Map(), digests: new Map(), subdirs: [] };
}

function add(snap: Snapshot, key: string, content: Buffer): void {
  snap.files.set(key, content);
  snap.digests.set(key, digest(content));
}

/**
 * Read `dir` into a snapshot. A read that races with a writer (the payload swapped or removed while
 * being read) is started again, so the result is always one consistent state of the directory.
 */
export async function readDirSnapshot(dir: string, filter: KeyFilter): Promise<Snapshot> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readDirOnce(dir, filter);
    } catch (e) {
      if (!(e instanceof RaceDetected) || attempt >= MAX_RACE_RETRIES) throw e;
    }
  }
}

async function readDirOnce(dir: string, filter: KeyFilter): Promise<Snapshot> {
  let top: Dirent[];
  try {
    top = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isGone(e)) return emptySnapshot('missing');
    throw e;
  }
  if (top.some((d) => d.name === DATA_LINK && d.isSymbolicLink())) return readAtomic(dir, top, filter);
  return readPlain(dir, top, filter);
}

/**
 * An AtomicWriter volume: resolve `..data` once, read every key from that payload directory, then
 * check `..data` still points there. The per-key links (`KEY -> ..data/KEY`) are ignored for content:
 * the kubelet creates and removes them around the swap, so going through them could mix versions.
 */
async function readAtomic(dir: string, top: Dirent[], filter: KeyFilter): Promise<Snapshot> {
  const link = join(dir, DATA_LINK);
  const target = await readlink(link).catch((e: unknown) => {
    throw isGone(e) ? new RaceDetected() : e;
  });
  const payload = resolve(dir, target);
  const visible = new Set(top.filter((d) => !d.name.startsWith(RESERVED_PREFIX)).map((d) => d.name));
  let entries: Dirent[];
  try {
    entries = await readdir(payload, { withFileTypes: true });
  } catch (e) {
    if (isGone(e)) throw new RaceDetected();
    throw e;
  }
  const snap = emptySnapshot('atomic');
  for (const entry of entries.sort(byName)) {
    const name = entry.name;
    if (name.startsWith(RESERVED_PREFIX) || !filter(name)) continue;
    // A hidden directory with no user-visible link is a writer's bookkeeping (the `local` store keeps
    // `.smc/` there), not a key: every key of a volume gets a link next to `..data`.
    if (name.startsWith('.') && entry.isDirectory() && !visible.has(name)) continue;
    await readTree(snap, join(payload, name), name, filter, 1, true);
  }
  const after = await readlink(link).catch(() => undefined);
  if (after !== target) throw new RaceDetected();
  return snap;
}

async function readPlain(dir: string, top: Dirent[], filter: KeyFilter): Promise<Snapshot> {
  const snap = emptySnapshot('plain');
  for (const entry of top.sort(byName)) {
    const name = entry.name;
    if (name.startsWith(RESERVED_PREFIX) || !filter(name)) continue;
    await readTree(snap, join(dir, name), name, filter, 1, false);
  }
  return snap;
}

/**
 * Add the file at `path` (following links) under `key`, or every file below it if it is a directory.
 * Only regular files are read: a FIFO or device would block or never end. In a payload (`inPayload`)
 * a vanished file means the payload was removed by the next swap (a race); elsewhere it just means the
 * key is gone.
 */
async function readTree(
  snap: Snapshot,
  path: string,
  key: string,
  filter: KeyFilter,
  depth: number,
  inPayload: boolean,
): Promise<void> {
  try {
    const st = await stat(path);
    if (st.isFile()) {
      add(snap, key, await readFile(path));
    } else if (st.isDirectory() && depth <= MAX_DEPTH) {
      if (!inPayload) snap.subdirs.push(path);
      const children = await readdir(path);
      for (const child of children.sort()) {
        const childKey = `${key}/${child}`;
        if (child.startsWith(RESERVED_PREFIX) || !filter(childKey)) continue;
        await readTree(snap, join(path, child), childKey, filter, depth + 1, inPayload);
      }
    }
  } catch (e) {
    if (!isGone(e)) throw e;
    if (inPayload) throw new RaceDetected();
  }
}

/** Read a fixed list of files (keys are the paths as given); a missing file is an absent key. */
export async function readFilesSnapshot(files: readonly string[]): Promise<Snapshot> {
  const snap = emptySnapshot('plain');
  for (const file of files) {
    try {
      const st = await stat(file);
      if (st.isFile()) add(snap, file, await readFile(file));
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }
  return snap;
}

export interface SnapshotDiff {
  added: string[];
  modified: string[];
  removed: string[];
}

export function diffDigests(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): SnapshotDiff {
  const added: string[] = [];
  const modified: string[] = [];
  const removed: string[] = [];
  for (const [key, d] of after) {
    const prev = before.get(key);
    if (prev === undefined) added.push(key);
    else if (prev !== d) modified.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) removed.push(key);
  return { added: added.sort(), modified: modified.sort(), removed: removed.sort() };
}

export function sameDigests(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, d] of a) if (b.get(key) !== d) return false;
  return true;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
