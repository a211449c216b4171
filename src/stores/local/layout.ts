import { randomInt } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DATA_LINK } from '../../kubelet-volume.js';

/**
 * The kubelet AtomicWriter layout, plus our bookkeeping inside the payload:
 *
 *     DIR/..2025_01_02_15_04_05.123456789/   payload (0755): one file per enabled entry
 *         .smc/payload                        marker: this tool wrote the payload (see PAYLOAD_MARKER)
 *         .smc/manifest.json                  per name: key, kind, enabled, owner, version (no values)
 *         .smc/disabled/<name>                values of disabled entries, kept for re-enabling
 *     DIR/..data -> ..2025_01_02_15_04_05.123456789      swapped atomically by rename(2)
 *     DIR/<name> -> ..data/<name>             one link per enabled entry
 *
 * Bookkeeping lives inside the payload so it swaps atomically with the data: after a crash, the
 * manifest and the files always describe the same state. `.smc` cannot clash with an entry because
 * local names never start with a dot, and it is never linked at the top level, so an application
 * listing DIR sees only its entries. `..data` is `DATA_LINK`, shared with the reload library
 * (src/kubelet-volume.ts).
 */
export const DATA_TMP_LINK = '..data_tmp';
export const LOCK_FILE = '..smc_lock';
export const LINK_TMP_PREFIX = '..smc_link_tmp.';
export const META_DIR = '.smc';
export const MANIFEST_FILE = 'manifest.json';
export const DISABLED_DIR = 'disabled';
/**
 * Written into each payload directory first thing, before anything else goes in: only a
 * payload-named directory carrying `.smc/payload` (or, from earlier versions, `.smc/manifest.json`) is ever
 * removed as a leftover. A user's `..2020_01_01_00_00_00.000000000/` is left alone.
 */
export const PAYLOAD_MARKER = 'payload';
export const PAYLOAD_MARKER_TEXT =
  'written by secret-manager-controller (local store); removed with its payload\n';

const PAYLOAD_DIR = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/;

/** A timestamped payload directory name, ours or the kubelet's. */
export function isPayloadDirName(name: string): boolean {
  return PAYLOAD_DIR.test(name);
}

/** `..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN` (UTC, random digits as the kubelet's TempDir suffix). */
export function newPayloadDirName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${stamp}.${String(randomInt(0, 1_000_000_000)).padStart(9, '0')}`;
}

/** The target every top-level link of ours has. */
export function linkTarget(name: string): string {
  return `${DATA_LINK}/${name}`;
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e
    ? String((e as { code: unknown }).code)
    : undefined;
}

export function isErrno(e: unknown, ...codes: string[]): boolean {
  const code = errno(e);
  return code !== undefined && codes.includes(code);
}

/** A value-free description of a file-system error: the errno code and syscall, never the data. */
export function describeFsError(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (code !== undefined)
      return syscall !== undefined ? `${String(code)} on ${String(syscall)}` : String(code);
  }
  return 'unexpected error';
}

/** Write a new file and flush it to disk; `mode` is set explicitly so the umask cannot widen or narrow it. */
export async function writeFileDurable(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so created/renamed names in it survive a power loss (a no-op where unsupported). */
export async function fsyncDir(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch (e) {
    if (!isErrno(e, 'EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP')) throw e;
  } finally {
    await fh?.close();
  }
}
