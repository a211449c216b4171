/**
 * Temporary directories that hold plaintext: the decrypted copy a kustomize build reads
 * (`smc-kustomize-*`) and the Git credential helper files (`smc-gitcred-*`).
 *
 * - They are created 0700 under the private base: `SMC_PRIVATE_TMP_DIR` when set (the controller's
 *   manifests point it at a memory-backed `emptyDir`, so plaintext never reaches a disk and
 *   vanishes with the pod), else the OS temp directory. The base itself is made 0700.
 * - Each name carries the creating process's pid (`smc-kustomize-<pid>-XXXXXX`), so a leftover of a
 *   process killed with SIGKILL can be told from a live process's directory: `sweepStaleTempDirs`
 *   removes those whose process is gone (the controller calls it at start-up; an emptyDir survives
 *   a container restart, and the new process may even have the same pid: its own pid counts as
 *   gone unless the directory is one it made).
 * - Every live directory is tracked, so `removeTempDirsNow` can remove them synchronously from a
 *   SIGINT/SIGTERM handler (msmctl installs one with `removeTempDirsOnSignals`).
 */
import { rmSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type TempDirPrefix = 'smc-kustomize-' | 'smc-gitcred-';
const PREFIXES: readonly TempDirPrefix[] = ['smc-kustomize-', 'smc-gitcred-'];
/** `smc-kustomize-<pid>-XXXXXX` */
const NAME = /^smc-(?:kustomize|gitcred)-(\d+)-[A-Za-z0-9]+$/;

/** Directories this process created and has not removed yet. */
const live = new Set<string>();

/** Where plaintext temporary directories go: `SMC_PRIVATE_TMP_DIR`, else the OS temp directory. */
export function privateTmpBase(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.SMC_PRIVATE_TMP_DIR;
  return configured !== undefined && configured !== '' ? path.resolve(configured) : tmpdir();
}

/** Create `base` if needed and make it private (0700). Refuses a symlink or a non-directory. */
export async function ensurePrivateBase(base: string): Promise<void> {
  await mkdir(base, { recursive: true, mode: 0o700 });
  const st = await lstat(base);
  if (!st.isDirectory()) throw new Error(`private temporary directory ${base} is not a directory`);
  await chmod(base, 0o700);
}

/** A new private (0700) temporary directory `<base>/<prefix><pid>-XXXXXX`, tracked until removed. */
export async function makeTempDir(prefix: TempDirPrefix, base?: string): Promise<string> {
  const configured = base ?? process.env.SMC_PRIVATE_TMP_DIR;
  const root = base ?? privateTmpBase();
  if (configured !== undefined && configured !== '') await ensurePrivateBase(root);
  const dir = await mkdtemp(path.join(root, `${prefix}${process.pid}-`));
  live.add(dir);
  await chmod(dir, 0o700);
  return dir;
}

/** Remove a directory made by `makeTempDir`, whatever is in it. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}

/** Remove every live temporary directory of this process now (for a signal handler). */
export function removeTempDirsNow(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
      live.delete(dir);
    } catch {
      // best effort: the process is about to exit
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * Remove the temporary directories in `base` left by processes that are gone (killed before they
 * could clean up). Returns the names removed. Directories of live processes are left alone.
 */
export async function sweepStaleTempDirs(base: string = privateTmpBase()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(base);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw e;
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m === null || !PREFIXES.some((p) => name.startsWith(p))) continue;
    const pid = Number(m[1]);
    const full = path.join(base, name);
    const gone = pid === process.pid ? !live.has(full) : !isAlive(pid);
    if (!gone) continue;
    await rm(full, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * On SIGINT or SIGTERM: remove this process's temporary directories, then exit as the signal
 * would have (128 + signal number) — unless a command listens for the signal itself (the
 * reloader's graceful stop), which then decides how the process ends. For msmctl; the controller
 * stops gracefully instead.
 */
export function removeTempDirsOnSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      removeTempDirsNow();
      if (process.listenerCount(signal) === 0) process.exit(code);
    });
  }
}
