import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmcError } from '../../errors.js';
import { LOCK_FILE, isErrno } from './layout.js';

/**
 * Only one writer per directory: the cleanup of a crashed writer's leftovers would otherwise delete a
 * live writer's half-built payload. In-process writers queue on a promise chain; other processes are
 * kept out by `DIR/..smc_lock`, created atomically with its content (write a temp file, then link(2),
 * which fails if the lock exists). A lock whose process is gone (same host, pid not alive) is stale
 * and taken over, so a writer killed mid-apply never blocks the next one.
 */

const queues = new Map<string, Promise<void>>();
/** Lock files this process holds right now (so our own pid in a lock file is not mistaken for stale). */
const held = new Set<string>();

interface LockHolder {
  pid: number;
  host: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

function isStale(holder: LockHolder | undefined, lockPath: string): boolean {
  if (holder === undefined) return true; // unreadable content: cannot belong to a live writer (see above)
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !held.has(lockPath);
  return !isAlive(holder.pid);
}

async function readHolder(lockPath: string): Promise<LockHolder | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 'gone';
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? { pid: v.pid, host: v.host } : undefined;
  } catch {
    return undefined;
  }
}

/** Temp files of a lock attempt are `..smc_lock.<pid>.<hex>`. */
const LOCK_TMP = new RegExp(`^${LOCK_FILE.replace(/\./g, '\\.')}\\.(\\d+)\\.[0-9a-f]+$`);

async function acquireFileLock(dir: string, timeoutMs: number): Promise<string> {
  const lockPath = join(dir, LOCK_FILE);
  const body = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tmp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, body, { mode: 0o600 });
    try {
      await link(tmp, lockPath);
      held.add(lockPath);
      return lockPath;
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const holder = await readHolder(lockPath);
    if (holder === 'gone') continue;
    if (isStale(holder, lockPath)) {
      await unlink(lockPath).catch((e: unknown) => {
        if (!isErrno(e, 'ENOENT')) throw e;
      });
      continue;
    }
    if (Date.now() > deadline) {
      throw new SmcError(
        'Conflict',
        `local store ${dir} is locked by process ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}; ` +
          `remove ${lockPath} if that process is gone`,
      );
    }
    await sleep(20 + Math.floor(Math.random() * 40));
  }
}

async function releaseFileLock(lockPath: string): Promise<void> {
  held.delete(lockPath);
  await unlink(lockPath).catch(() => undefined);
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
    const lockPath = await acquireFileLock(dir, timeoutMs);
    try {
      return await fn();
    } finally {
      await releaseFileLock(lockPath);
    }
  } finally {
    done();
    if (queues.get(dir) === mine) queues.delete(dir);
  }
}

/** Whether `DIR/..smc_lock` exists and belongs to a process that is gone (debris of a killed writer). */
export async function hasStaleLock(dir: string): Promise<boolean> {
  const lockPath = join(dir, LOCK_FILE);
  const holder = await readHolder(lockPath);
  return holder !== 'gone' && isStale(holder, lockPath);
}

/** A lock-attempt temp file (`..smc_lock.<pid>.<hex>`) left by a process that died before removing it. */
export function isStaleLockTemp(name: string): boolean {
  const m = LOCK_TMP.exec(name);
  return m !== null && Number(m[1]) !== process.pid && !isAlive(Number(m[1]));
}
