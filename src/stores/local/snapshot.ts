/**
 * Reading a local store's directory (the kubelet layout of `layout.ts`): one consistent snapshot of
 * the payload `..data` points to, its manifest, and whatever else sits in the directory.
 */
import type { Dirent } from 'node:fs';
import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { EntryKind } from '../../entry.js';
import { SmcError } from '../../errors.js';
import { nameProblem } from '../../naming/name.js';
import type { Owner } from '../store.js';
import { DATA_LINK } from '../../kubelet-volume.js';
import {
  DATA_TMP_LINK,
  DISABLED_DIR,
  LINK_TMP_PREFIX,
  LOCK_FILE,
  MANIFEST_FILE,
  META_DIR,
  PAYLOAD_MARKER,
  isErrno,
  isPayloadDirName,
  linkTarget,
} from './layout.js';
import { hasStaleLock, isLockGuardName, isStaleGuard, isStaleLockTemp } from './lock.js';
import { localNaming } from './naming.js';

export const MANIFEST_FORMAT = 1;

export interface ManifestEntry {
  name: string;
  key?: string;
  kind: EntryKind;
  enabled: boolean;
  owner: Owner;
  /** Incremented each time the entry's value is written (like a cloud store's version number). */
  version: number;
}

export interface ManagedEntry extends Omit<ManifestEntry, 'name'> {
  /** Undefined only when the payload has lost the file (then every plan rewrites it). */
  value: string | undefined;
}

/** What sits at a top-level name: our link (`name -> ..data/name`), or something we did not make. */
export type TopKind = 'ours' | 'file' | 'link' | 'dir' | 'other';

export interface Snapshot {
  /** The payload directory `..data` points to. */
  payload?: string;
  managed: Map<string, ManagedEntry>;
  /** Files in the payload that the manifest does not list (a payload we did not write): carried over as-is. */
  foreign: Map<string, Buffer>;
  top: Map<string, TopKind>;
  /** Remains of an interrupted apply: our unlinked payload dirs, `..data_tmp`, temp links, lock debris. */
  leftovers: string[];
  /** Whether `..data` points to a payload this store wrote. */
  ours: boolean;
  /** Top-level names this store did not write (neither its entries nor its bookkeeping). */
  unrecognized: string[];
}

class PayloadChanged extends Error {}

export async function snapshot(dir: string): Promise<Snapshot> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await snapshotOnce(dir);
    } catch (e) {
      // A concurrent writer swapped `..data` and removed the payload we were reading: read again.
      if (attempt < 5 && (e instanceof PayloadChanged || isErrno(e, 'ENOENT'))) continue;
      throw e;
    }
  }
}

async function snapshotOnce(dir: string): Promise<Snapshot> {
  const snap: Snapshot = {
    managed: new Map(),
    foreign: new Map(),
    top: new Map(),
    leftovers: [],
    ours: false,
    unrecognized: [],
  };
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return snap;
    throw e;
  }
  snap.payload = await readDataLink(dir);
  for (const d of dirents) {
    const n = d.name;
    if (n.startsWith('..')) {
      if (isPayloadDirName(n)) {
        if (n === snap.payload) continue;
        if ((await payloadOrigin(join(dir, n))) === 'foreign') snap.unrecognized.push(n);
        else snap.leftovers.push(n);
      } else if (n === DATA_TMP_LINK || n.startsWith(LINK_TMP_PREFIX) || isStaleLockTemp(n)) {
        snap.leftovers.push(n);
      } else if (n === LOCK_FILE) {
        if (await hasStaleLock(dir)) snap.leftovers.push(n); // taking it over and releasing removes it
      } else if (isLockGuardName(n)) {
        if (await isStaleGuard(dir, n)) snap.leftovers.push(n); // a writer killed mid-take-over
      } else if (n !== DATA_LINK) {
        snap.unrecognized.push(n);
      }
      continue;
    }
    if (n.startsWith('.')) {
      snap.unrecognized.push(n); // never one of our names (see localNaming)
      continue;
    }
    if (d.isSymbolicLink()) {
      snap.top.set(n, (await readlink(join(dir, n))) === linkTarget(n) ? 'ours' : 'link');
    } else {
      snap.top.set(n, d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other');
    }
    if (snap.top.get(n) !== 'ours') snap.unrecognized.push(n);
  }
  if (snap.payload === undefined) return snap;
  snap.ours = (await payloadOrigin(join(dir, snap.payload))) === 'ours';
  if (!snap.ours) snap.unrecognized.push(DATA_LINK, snap.payload);

  const payloadDir = join(dir, snap.payload);
  let files: Dirent[];
  try {
    files = await readdir(payloadDir, { withFileTypes: true });
  } catch (e) {
    if (!isErrno(e, 'ENOENT') || (await readDataLink(dir)) !== snap.payload) throw e; // moved: read again
    throw new SmcError(
      'StoreError',
      `${join(dir, DATA_LINK)} points to ${snap.payload}, which is missing; remove ${DATA_LINK} to start over`,
    );
  }
  const manifest = await readManifest(payloadDir);
  for (const m of manifest ?? []) {
    const file = m.enabled ? join(payloadDir, m.name) : join(payloadDir, META_DIR, DISABLED_DIR, m.name);
    const value = await readFile(file, 'utf8').catch((e: unknown) => {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    });
    const { name, ...rest } = m;
    snap.managed.set(name, { ...rest, value });
  }
  for (const f of files) {
    if (f.name.startsWith('.') || snap.managed.has(f.name) || !f.isFile()) continue;
    snap.foreign.set(f.name, await readFile(join(payloadDir, f.name)));
  }
  // Whatever we read must come from one payload; if `..data` moved meanwhile, read again.
  if ((await readDataLink(dir)) !== snap.payload) throw new PayloadChanged();
  return snap;
}

async function readDataLink(dir: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await readlink(join(dir, DATA_LINK));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    if (isErrno(e, 'EINVAL')) {
      throw new SmcError(
        'StoreError',
        `${join(dir, DATA_LINK)} is not a symlink: not a kubelet-style directory`,
      );
    }
    throw e;
  }
  if (!isPayloadDirName(target)) {
    throw new SmcError('StoreError', `${join(dir, DATA_LINK)} points outside the kubelet layout`);
  }
  return target;
}

/** The value of a top-level file we did not create; undefined when it is not a file inside DIR. */
export async function readUnmanaged(dir: string, name: string, kind: TopKind): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    if (kind === 'link') {
      const [real, root] = await Promise.all([realpath(path), realpath(dir)]);
      if (!real.startsWith(root + sep) || !(await lstat(real)).isFile()) return undefined;
    } else if (kind !== 'file') {
      return undefined;
    }
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether the directory shows damage from an interrupted apply (or a hand edit) that an apply should fix. */
export function needsRepair(snap: Snapshot): boolean {
  if (snap.leftovers.length > 0) return true;
  for (const [name, e] of snap.managed) {
    const kind = snap.top.get(name);
    if (e.enabled && (kind === undefined || kind === 'file' || kind === 'link')) return true;
  }
  for (const [name, kind] of snap.top) {
    if (kind === 'ours' && snap.managed.get(name)?.enabled !== true && !snap.foreign.has(name)) return true;
  }
  return false;
}

/**
 * Who wrote a payload-named directory: this store ('ours': it carries our marker, or the manifest of
 * an earlier version), nobody yet ('empty': a writer killed before the marker, leaving at most an
 * empty `.smc/`), or someone else ('foreign': never removed).
 */
export async function payloadOrigin(path: string): Promise<'ours' | 'empty' | 'foreign'> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return 'foreign';
    throw e;
  }
  if (names.length === 0) return 'empty';
  if (names.length === 1 && names[0] === META_DIR) {
    const inMeta = await readdir(join(path, META_DIR)).catch(() => undefined);
    if (inMeta !== undefined && inMeta.length === 0) return 'empty';
  }
  for (const marker of [join(META_DIR, PAYLOAD_MARKER), join(META_DIR, MANIFEST_FILE)]) {
    try {
      if ((await lstat(join(path, marker))).isFile()) return 'ours';
    } catch (e) {
      if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
    }
  }
  return 'foreign';
}

/** Remove a payload directory holding nothing (at most an empty `.smc/`), never anything in it. */

async function readManifest(payloadDir: string): Promise<ManifestEntry[] | undefined> {
  const path = join(payloadDir, META_DIR, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) {
      // No manifest: a payload we did not write (only if the payload dir itself is there).
      await lstat(payloadDir);
      return undefined;
    }
    throw e;
  }
  // The parser's own message may quote the input, so it is not passed on.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SmcError('StoreError', `${path} is not valid JSON`);
  }
  const entries = (parsed as { format?: unknown; entries?: unknown }).entries;
  if ((parsed as { format?: unknown }).format !== MANIFEST_FORMAT || !Array.isArray(entries)) {
    throw new SmcError('StoreError', `${path} has an unknown format`);
  }
  return entries.map((raw: unknown, i) => {
    const e = raw as Partial<ManifestEntry> | null;
    const ok =
      e !== null &&
      typeof e.name === 'string' &&
      nameProblem(localNaming, e.name) === undefined &&
      (e.kind === 'secret' || e.kind === 'config') &&
      typeof e.enabled === 'boolean' &&
      typeof e.owner?.namespace === 'string' &&
      typeof e.owner.name === 'string' &&
      typeof e.version === 'number' &&
      (e.key === undefined || typeof e.key === 'string');
    if (!ok) throw new SmcError('StoreError', `${path}: entry ${i} is malformed`);
    return e as ManifestEntry;
  });
}
