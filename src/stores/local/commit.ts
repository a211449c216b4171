/**
 * Writing a local store's directory, under its lock: a complete new payload, links for new names,
 * the `..data` swap in one rename(2), then links of names that left and the old payload removed.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readlink, rename, rm, rmdir, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SmcError } from '../../errors.js';
import type { ActionResult } from '../../plan/actions.js';
import { DATA_LINK } from '../../kubelet-volume.js';
import {
  DATA_TMP_LINK,
  DISABLED_DIR,
  LINK_TMP_PREFIX,
  MANIFEST_FILE,
  META_DIR,
  PAYLOAD_MARKER,
  PAYLOAD_MARKER_TEXT,
  describeFsError,
  fsyncDir,
  isErrno,
  isPayloadDirName,
  linkTarget,
  newPayloadDirName,
  writeFileDurable,
} from './layout.js';
import { isStaleLockTemp, removeStaleGuards } from './lock.js';
import {
  MANIFEST_FORMAT,
  type ManagedEntry,
  type ManifestEntry,
  type Snapshot,
  type TopKind,
  payloadOrigin,
} from './snapshot.js';

/** Payload and link directories are 0o755 as the kubelet makes them: names are not secret, values are. */
export const DIR_MODE = 0o755;
const META_MODE = 0o700;
const META_FILE_MODE = 0o600;

/** Thrown when the new data is live but the top-level links could not be brought in line. */
class AfterSwapError extends Error {}

// ---- writing (under the lock) ----

export async function commit(
  dir: string,
  fileMode: number,
  snap: Snapshot,
  next: Map<string, ManagedEntry>,
): Promise<void> {
  const payload = await writePayload(dir, fileMode, next, snap.foreign);
  try {
    // Links for new names first (the kubelet's order): the moment `..data` swaps, every visible
    // entry already has its link; until then the new links dangle, which reads as "not there yet".
    for (const [name, e] of next) {
      if (e.enabled && !snap.top.has(name)) {
        await symlink(linkTarget(name), join(dir, name)).catch((err: unknown) => {
          if (!isErrno(err, 'EEXIST')) throw err;
        });
      }
    }
    const tmpLink = join(dir, DATA_TMP_LINK);
    await unlink(tmpLink).catch((err: unknown) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
    await symlink(payload, tmpLink);
    await rename(tmpLink, join(dir, DATA_LINK));
  } catch (e) {
    await removeOwnPayload(join(dir, payload)).catch(() => undefined);
    throw e;
  }
  try {
    await fsyncDir(dir);
    await syncLinks(dir, next, snap.foreign);
    await removeLeftovers(dir, payload);
    await fsyncDir(dir);
  } catch (e) {
    throw new AfterSwapError(describeFsError(e));
  }
}

export async function writePayload(
  dir: string,
  fileMode: number,
  next: Map<string, ManagedEntry>,
  foreign: Map<string, Buffer>,
): Promise<string> {
  let name = newPayloadDirName();
  for (;;) {
    try {
      await mkdir(join(dir, name), { mode: DIR_MODE });
      break;
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      name = newPayloadDirName();
    }
  }
  const payloadDir = join(dir, name);
  try {
    await chmod(payloadDir, DIR_MODE);
    const meta = join(payloadDir, META_DIR);
    await mkdir(meta, { mode: META_MODE });
    await chmod(meta, META_MODE);
    // Marked as ours before anything else goes in: only marked payloads are ever removed.
    await writeFileDurable(join(meta, PAYLOAD_MARKER), PAYLOAD_MARKER_TEXT, META_FILE_MODE);
    const disabledDir = join(meta, DISABLED_DIR);
    await mkdir(disabledDir, { mode: META_MODE });
    await chmod(disabledDir, META_MODE);
    const manifest: ManifestEntry[] = [];
    for (const [n, e] of [...next].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const { value, ...rest } = e;
      manifest.push({ name: n, ...rest });
      if (value === undefined) continue;
      if (e.enabled) await writeFileDurable(join(payloadDir, n), value, fileMode);
      else await writeFileDurable(join(disabledDir, n), value, META_FILE_MODE);
    }
    for (const [n, bytes] of foreign) {
      if (!next.has(n)) await writeFileDurable(join(payloadDir, n), bytes, fileMode);
    }
    const body = JSON.stringify({ format: MANIFEST_FORMAT, entries: manifest }, null, 2) + '\n';
    await writeFileDurable(join(meta, MANIFEST_FILE), body, META_FILE_MODE);
    await fsyncDir(disabledDir);
    await fsyncDir(meta);
    await fsyncDir(payloadDir);
  } catch (e) {
    await removeOwnPayload(payloadDir).catch(() => undefined);
    throw e;
  }
  return name;
}

/** Make the top-level links match the payload: one per enabled entry, none for names that left. */
export async function syncLinks(
  dir: string,
  managed: Map<string, ManagedEntry>,
  foreign: Map<string, Buffer>,
): Promise<void> {
  const present = new Map<string, TopKind>();
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (d.name.startsWith('.')) continue;
    if (d.isSymbolicLink()) {
      const target = await readlink(join(dir, d.name));
      present.set(d.name, target === linkTarget(d.name) ? 'ours' : 'link');
    } else {
      present.set(d.name, d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other');
    }
  }
  for (const [name, e] of managed) {
    if (!e.enabled) continue;
    const kind = present.get(name);
    if (kind === undefined) {
      await symlink(linkTarget(name), join(dir, name));
    } else if (kind === 'file' || kind === 'link') {
      // A name in our manifest is ours (e.g. an adopted file): replace it in one rename.
      const tmp = join(dir, LINK_TMP_PREFIX + randomBytes(6).toString('hex'));
      await symlink(linkTarget(name), tmp);
      await rename(tmp, join(dir, name));
    }
  }
  for (const [name, kind] of present) {
    if (kind !== 'ours' || foreign.has(name)) continue;
    if (managed.get(name)?.enabled !== true) await unlink(join(dir, name));
  }
}

/** Remove what interrupted applies of ours left: only payloads we marked, our temp names, lock debris. */
export async function removeLeftovers(dir: string, current: string | undefined): Promise<void> {
  for (const n of await readdir(dir)) {
    if (n === current || !n.startsWith('..')) continue;
    if (isPayloadDirName(n)) {
      const path = join(dir, n);
      const origin = await payloadOrigin(path);
      if (origin === 'ours') await removeOwnPayload(path);
      else if (origin === 'empty') await removeEmptyPayload(path);
    } else if (n.startsWith(LINK_TMP_PREFIX) || isStaleLockTemp(n)) {
      await rm(join(dir, n), { recursive: true, force: true });
    } else if (n === DATA_TMP_LINK) {
      await unlink(join(dir, n)).catch(() => undefined);
    }
  }
  await removeStaleGuards(dir);
}

export async function repair(dir: string, snap: Snapshot): Promise<void> {
  if (snap.payload === undefined) {
    await removeLeftovers(dir, undefined);
    await syncLinks(dir, new Map(), new Map());
    return;
  }
  await syncLinks(dir, snap.managed, snap.foreign);
  await removeLeftovers(dir, snap.payload);
  await fsyncDir(dir);
}

export function failWrites(results: ActionResult[], e: unknown, dir: string): ActionResult[] {
  if (e instanceof AfterSwapError) {
    const message = `written, but updating the links in ${dir} failed (${e.message}); the next apply repairs them`;
    return results.map((r) => (r.wrote ? { ...r, ok: false, message } : r));
  }
  const why = e instanceof SmcError ? e.message : `cannot write local store ${dir}: ${describeFsError(e)}`;
  return results.map((r) => (r.wrote ? { action: r.action, ok: false, message: why, wrote: false } : r));
}

/**
 * Remove a payload of ours with its marker last: a removal cut short (the process killed) leaves a
 * payload still marked as ours, which the next apply removes — not an unmarked one, which would
 * count as someone else's and stay for good. Once the marker is gone, at most an empty `.smc/` is left.
 */
async function removeOwnPayload(path: string): Promise<void> {
  for (const n of await readdir(path).catch(() => [] as string[])) {
    if (n !== META_DIR) await rm(join(path, n), { recursive: true, force: true });
  }
  const meta = join(path, META_DIR);
  for (const n of await readdir(meta).catch(() => [] as string[])) {
    if (n !== PAYLOAD_MARKER) await rm(join(meta, n), { recursive: true, force: true });
  }
  await rm(path, { recursive: true, force: true });
}

/** Remove a payload directory holding nothing (at most an empty `.smc/`), never anything in it. */
async function removeEmptyPayload(path: string): Promise<void> {
  await rmdir(join(path, META_DIR)).catch(() => undefined);
  await rmdir(path).catch(() => undefined);
}
