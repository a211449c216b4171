import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFile, readdir, readlink, symlink, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmcError } from '../../errors.js';
import { LOCK_FILE, isErrno } from './layout.js';

/**
 * Only one writer per directory: the cleanup of a crashed writer's leftovers would otherwise delete a
 * live writer's half-built payload. In-process writers queue on a promise chain; other processes are
 * kept out by `DIR/..smc_lock`, a symlink whose target names its holder (`{"pid","host","nonce"}`),
 * created atomically with that content by symlink(2), which fails if the name exists.
 *
 * A lock whose process is gone (same host, pid not alive) is stale and taken over, so a writer killed
 * mid-apply never blocks the next one. Taking over is where naive lock files go wrong: "read the
 * holder, find it stale, unlink, create" lets a second writer that also read the stale holder unlink
 * the first one's fresh lock, and both then hold it. Here the unlink is a compare-and-remove: only
 * the process that creates `..smc_lock.takeover.<id>` (exclusively, with symlink(2)) may remove the
 * lock instance `<id>` (a digest of its content, which carries a random nonce), and it does so only
 * after checking, while holding that guard, that `..smc_lock` is still instance `<id>`. Nothing else
 * ever removes instance `<id>`: its holder is dead. A late writer that read the stale holder finds
 * either the guard held (and waits) or, once the guard is gone, a different instance (and leaves it).
 * A guard whose own holder died mid-take-over is stale too and removed the same way, one level up.
 *
 * Why not a library: `proper-lockfile` (mkdir + mtime) takes a stale lock over with exactly the racy
 * stat → rmdir → mkdir sequence (moxystudio/node-proper-lockfile#121, open), judges staleness by age
 * rather than by the holder being gone, and is unmaintained; `lockfile` has the same race
 * (npm/lockfile#4). Kernel locks (flock/fcntl), which die with their holder, are not in Node's core
 * and would need a native addon.
 */

const queues = new Map<string, Promise<void>>();
/** Nonces of the lock and guard instances this process holds right now (our own pid is not stale). */
const held = new Set<string>();

const GUARD_PREFIX = `${LOCK_FILE}.takeover.`;

interface LockHolder {
  pid?: number;
  host?: string;
  nonce?: string;
  /** Identity of this instance of the lock file: a digest of its content (which carries the nonce). */
  id: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

function isStale(holder: LockHolder): boolean {
  if (holder.pid === undefined || holder.host === undefined) return true; // unreadable: no live writer made it
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return holder.nonce === undefined || !held.has(holder.nonce);
  return !isAlive(holder.pid);
}

function parseHolder(text: string): LockHolder {
  const id = createHash('sha256').update(text).digest('hex').slice(0, 32);
  try {
    const v = JSON.parse(text) as { pid?: unknown; host?: unknown; nonce?: unknown };
    if (typeof v.pid === 'number' && typeof v.host === 'string') {
      return { pid: v.pid, host: v.host, ...(typeof v.nonce === 'string' ? { nonce: v.nonce } : {}), id };
    }
  } catch {
    // not ours: unreadable content
  }
  return { id };
}

/** The holder named by a lock (a symlink; a regular file from an older version), or 'gone'. */
async function readHolder(path: string): Promise<LockHolder | 'gone'> {
  try {
    return parseHolder(await readlink(path));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 'gone';
    if (!isErrno(e, 'EINVAL')) throw e;
  }
  try {
    return parseHolder(await readFile(path, 'utf8'));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 'gone';
    throw e;
  }
}

interface Claim {
  path: string;
  nonce: string;
}

/** Create `path` naming this process as its holder; undefined when it already exists. */
async function createExclusive(path: string): Promise<Claim | undefined> {
  const nonce = randomBytes(12).toString('hex');
  const body = JSON.stringify({ pid: process.pid, host: hostname(), nonce, since: new Date().toISOString() });
  held.add(nonce);
  try {
    await symlink(body, path);
    return { path, nonce };
  } catch (e) {
    held.delete(nonce);
    if (isErrno(e, 'EEXIST')) return undefined;
    throw e;
  }
}

async function release(claim: Claim): Promise<void> {
  await unlink(claim.path).catch(() => undefined);
  held.delete(claim.nonce);
}

/**
 * Remove the stale instance `id` of the lock (or guard) at `path`, if it is still there, as the only
 * process allowed to: the one holding `..smc_lock.takeover.<id>`. Returns without removing anything
 * when another live process holds that guard (the caller waits and looks again).
 */
async function removeStale(dir: string, path: string, id: string): Promise<void> {
  const guard = await claimTakeOver(dir, id);
  if (guard === undefined) return;
  try {
    const now = await readHolder(path);
    if (now !== 'gone' && now.id === id) {
      await unlink(path).catch((e: unknown) => {
        if (!isErrno(e, 'ENOENT')) throw e;
      });
    }
  } finally {
    await release(guard);
  }
}

/** Hold `..smc_lock.takeover.<id>`; undefined when a live process holds it. */
async function claimTakeOver(dir: string, id: string): Promise<Claim | undefined> {
  const guardPath = join(dir, GUARD_PREFIX + id);
  for (;;) {
    const mine = await createExclusive(guardPath);
    if (mine !== undefined) return mine;
    const holder = await readHolder(guardPath);
    if (holder === 'gone') continue;
    if (!isStale(holder)) return undefined;
    // Its holder died mid-take-over: remove that guard instance the same way, then try again.
    await removeStale(dir, guardPath, holder.id);
  }
}

async function acquireFileLock(dir: string, timeoutMs: number): Promise<Claim> {
  const lockPath = join(dir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = await createExclusive(lockPath);
    if (mine !== undefined) return mine;
    const holder = await readHolder(lockPath);
    if (holder === 'gone') continue;
    if (isStale(holder)) {
      await removeStale(dir, lockPath, holder.id);
      if ((await readHolder(lockPath)) === 'gone') continue;
    }
    if (Date.now() > deadline) {
      throw new SmcError(
        'Conflict',
        `local store ${dir} is locked by process ${holder.pid ?? '?'} on ${holder.host ?? '?'}; ` +
          `remove ${lockPath} if that process is gone`,
      );
    }
    await sleep(20 + Math.floor(Math.random() * 40));
  }
}

/** Run `fn` as the only writer of `dir` (which must exist). */
export async function withDirLock<T>(dir: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(dir) ?? Promise.resolve();
  let done!: () => void;
  const gate = new Promise<void>((resolve) => (done = resolve));
  const mine = previous.then(() => gate);
  queues.set(dir, mine);
  await previous;
  try {
    const lock = await acquireFileLock(dir, timeoutMs);
    try {
      return await fn();
    } finally {
      await release(lock);
    }
  } finally {
    done();
    if (queues.get(dir) === mine) queues.delete(dir);
  }
}

/** Whether `DIR/..smc_lock` exists and belongs to a process that is gone (debris of a killed writer). */
export async function hasStaleLock(dir: string): Promise<boolean> {
  const holder = await readHolder(join(dir, LOCK_FILE));
  return holder !== 'gone' && isStale(holder);
}

/** Temp files of a lock attempt by an older version were `..smc_lock.<pid>.<hex>`. */
const LOCK_TMP = new RegExp(`^${LOCK_FILE.replace(/\./g, '\\.')}\\.(\\d+)\\.[0-9a-f]+$`);

/** A lock-attempt temp file (`..smc_lock.<pid>.<hex>`) left by a process that died before removing it. */
export function isStaleLockTemp(name: string): boolean {
  const m = LOCK_TMP.exec(name);
  return m !== null && Number(m[1]) !== process.pid && !isAlive(Number(m[1]));
}

/** A take-over guard's name (`..smc_lock.takeover.<id>`). */
export function isLockGuardName(name: string): boolean {
  return name.startsWith(GUARD_PREFIX);
}

/** Whether the guard `name` in `dir` was left by a process that died while taking a lock over. */
export async function isStaleGuard(dir: string, name: string): Promise<boolean> {
  const holder = await readHolder(join(dir, name));
  return holder !== 'gone' && isStale(holder);
}

/**
 * Remove take-over guards left by processes killed mid-take-over (each by the same compare-and-remove
 * as a stale lock, so a live take-over is never disturbed). Best effort: called under the lock.
 */
export async function removeStaleGuards(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!isLockGuardName(name)) continue;
    const path = join(dir, name);
    const holder = await readHolder(path);
    if (holder !== 'gone' && isStale(holder)) await removeStale(dir, path, holder.id);
  }
}
