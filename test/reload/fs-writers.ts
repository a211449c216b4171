/**
 * Writers that change a directory the way real ones do, step by step, for the watcher tests and the
 * benchmark: the kubelet's AtomicWriter, an editor's temp-file-and-rename save, and vim's
 * backup-rename save.
 */
import { randomInt } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export async function tempBase(
  label = 'smc-reload-',
): Promise<{ base: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), label));
  return { base, cleanup: () => rm(base, { recursive: true, force: true }) };
}

/** Called between two steps of a write: lets a test stretch a write over time (random timing). */
export type Pause = () => Promise<void>;
const noPause: Pause = async () => undefined;

export interface AtomicWriteResult {
  /** performance.now() right after `rename(..data_tmp, ..data)`: when the new content became visible. */
  swappedAt: number;
}

/**
 * The kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go), step by step:
 *  1. create a new timestamped directory `..YYYY_MM_DD_HH_MM_SS.<random>`;
 *  2. write the payload files into it;
 *  3. create the symlink `..data_tmp -> <new dir>`;
 *  4. rename `..data_tmp` over `..data` (the atomic switch);
 *  5. create the user-visible links `KEY -> ..data/KEY` for new top-level names;
 *  6. remove the user-visible links of names that left;
 *  7. remove the old timestamped directory.
 * Keys may be nested (`conf/app.yaml`): the visible link is then the first component (`conf`).
 */
export class AtomicWriterSim {
  constructor(readonly dir: string) {}

  async write(payload: Record<string, string>, pause: Pause = noPause): Promise<AtomicWriteResult> {
    const dir = this.dir;
    await mkdir(dir, { recursive: true });
    const dataLink = join(dir, '..data');
    const oldTs = await readlink(dataLink).catch(() => undefined);

    const tsName = `..${timestamp(new Date())}.${randomInt(0, 2 ** 31)}`; // step 1
    const tsDir = join(dir, tsName);
    await mkdir(tsDir, { mode: 0o755 });
    await pause();
    for (const [key, value] of Object.entries(payload)) {
      // step 2
      const file = join(tsDir, key);
      if (key.includes('/')) await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, value, { mode: 0o644 });
    }
    await pause();
    await symlink(tsName, join(dir, '..data_tmp')); // step 3
    await pause();
    await rename(join(dir, '..data_tmp'), dataLink); // step 4
    const swappedAt = performance.now();
    await pause();

    const wanted = new Set(Object.keys(payload).map((k) => k.split('/')[0]!));
    for (const name of wanted) {
      // step 5
      const exists = await lstat(join(dir, name)).then(
        () => true,
        () => false,
      );
      if (!exists) await symlink(join('..data', name), join(dir, name));
    }
    await pause();
    for (const name of await readdir(dir)) {
      // step 6
      if (!name.startsWith('..') && !wanted.has(name)) await unlink(join(dir, name));
    }
    await pause();
    if (oldTs !== undefined) await rm(join(dir, oldTs), { recursive: true, force: true }); // step 7
    return { swappedAt };
  }
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}

/** An editor's atomic save: write a temp file next to the target, then rename it over the target. */
export async function renameSave(file: string, content: string, pause: Pause = noPause): Promise<number> {
  const tmp = `${file}.tmp.${randomInt(0, 1e9)}`;
  await writeFile(tmp, content);
  await pause();
  await rename(tmp, file);
  return performance.now();
}

/**
 * vim's save with a backup (`backupcopy=no`, `writebackup`): probe the directory with a `4913` file,
 * rename the original to `FILE~`, write a new `FILE` in place (open, write, close), delete the backup.
 * Between the rename and the write, FILE does not exist.
 */
export async function vimSave(file: string, content: string, pause: Pause = noPause): Promise<number> {
  const probe = join(file, '..', '4913');
  await writeFile(probe, '');
  await unlink(probe);
  await rename(file, `${file}~`).catch(() => undefined);
  await pause();
  await writeFile(file, content);
  const done = performance.now();
  await unlink(`${file}~`).catch(() => undefined);
  return done;
}

/** A pause of 0–`maxMs` ms, sometimes none at all (the next step runs in the same tick). */
export function randomPause(maxMs: number): Pause {
  return async () => {
    const r = Math.random();
    if (r < 0.5) return;
    if (r < 0.75) await new Promise((resolve) => setImmediate(resolve));
    else await sleep(randomInt(0, maxMs + 1));
  };
}

export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summarize(label: string, latencies: number[]): string {
  const f = (n: number) => `${n.toFixed(1)} ms`;
  return `${label}: n=${latencies.length} p50=${f(percentile(latencies, 50))} p99=${f(percentile(latencies, 99))} max=${f(Math.max(...latencies))}`;
}
