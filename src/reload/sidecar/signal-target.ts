/**
 * Signal delivery: to the pid in a pid file, or to every process with a given name. Another
 * container's processes are only visible with `shareProcessNamespace: true` on the pod.
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DeliveryError } from '../../errors.js';
import type { ReloadTarget } from './delivery.js';

const NAMESPACE_HINT =
  'a process in another container is visible only with `shareProcessNamespace: true` on the pod';

export function pidFileTarget(pidFile: string, signal: NodeJS.Signals): ReloadTarget {
  return {
    kind: 'signal',
    description: `${signal} to the pid in ${pidFile}`,
    async deliver() {
      let text: string;
      try {
        text = (await readFile(pidFile, 'utf8')).trim();
      } catch (e) {
        // Not written yet (the application is starting) or not mounted yet: worth retrying.
        throw new DeliveryError(`${pidFile}: cannot read the pid file (${errnoOf(e) ?? 'error'})`, true);
      }
      if (!/^[1-9][0-9]{0,9}$/.test(text)) {
        throw new DeliveryError(`${pidFile}: does not hold a process id`, true);
      }
      const pid = Number(text);
      if (pid === process.pid) throw new DeliveryError(`${pidFile}: names the reloader itself`, false);
      sendSignal(pid, signal, `pid ${pid} from ${pidFile}`);
      return `${signal} sent to pid ${pid}`;
    },
  };
}

export function processNameTarget(name: string, signal: NodeJS.Signals, procDir = '/proc'): ReloadTarget {
  return {
    kind: 'signal',
    description: `${signal} to processes named "${name}"`,
    async deliver() {
      const pids = (await findProcesses(name, procDir)).filter((pid) => pid !== process.pid);
      if (pids.length === 0) {
        throw new DeliveryError(`no process named "${name}" is visible (${NAMESPACE_HINT})`, true);
      }
      const sent: number[] = [];
      let lastError: unknown;
      for (const pid of pids) {
        try {
          sendSignal(pid, signal, `process "${name}" (pid ${pid})`);
          sent.push(pid);
        } catch (e) {
          lastError = e; // e.g. exited since the scan
        }
      }
      if (sent.length === 0) throw lastError;
      return `${signal} sent to pid ${sent.join(', ')}`;
    },
  };
}

/**
 * Processes whose name is `name`, as `pkill -x` matches: the kernel's `comm` (the first 15 bytes of
 * the executable name, or what the process set with prctl/`process.title`), or the base name of
 * `argv[0]` (so `node` and `python3` match interpreters whose main thread renamed itself).
 */
export async function findProcesses(name: string, procDir = '/proc'): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(procDir);
  } catch (e) {
    throw new DeliveryError(`cannot list processes in ${procDir} (${errnoOf(e) ?? 'error'})`, false);
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const comm = (await readFile(join(procDir, entry, 'comm'), 'utf8')).replace(/\n$/, '');
      let match = comm === name;
      if (!match) {
        const argv0 = (await readFile(join(procDir, entry, 'cmdline'), 'utf8')).split('\0')[0] ?? '';
        match = argv0 !== '' && (argv0 === name || basename(argv0) === name);
      }
      if (match) found.push(Number(entry));
    } catch {
      // The process exited while we looked, or is not ours to inspect.
    }
  }
  return found.sort((a, b) => a - b);
}

function sendSignal(pid: number, signal: NodeJS.Signals, what: string): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ESRCH') throw new DeliveryError(`${what}: no such process (${NAMESPACE_HINT})`, true);
    if (code === 'EPERM') {
      throw new DeliveryError(
        `${what}: not permitted to signal it (run the reloader as the same user as the application, or grant CAP_KILL)`,
        false,
      );
    }
    throw new DeliveryError(`${what}: kill failed (${code ?? 'error'})`, true);
  }
}

export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e
    ? String((e as { code: unknown }).code)
    : undefined;
}
