/**
 * Long-running peer processes (etcd, kube-apiserver): loopback ports, log files, readiness waits
 * that fail fast with the peer's name and log path, and a watchdog so that a killed test runner
 * never leaves a peer behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** A peer that could not start (or stopped unexpectedly): names the peer and its log. */
export class PeerStartError extends Error {
  constructor(
    readonly peer: string,
    readonly logPath: string | undefined,
    reason: string,
    logTail = '',
  ) {
    super(
      `${peer} failed to start: ${reason}` +
        (logPath ? ` (log: ${logPath})` : '') +
        (logTail ? `\n--- last lines of the ${peer} log ---\n${logTail}` : ''),
    );
    this.name = 'PeerStartError';
  }
}

export { freePort } from '../free-port.js';

export async function tailFile(path: string, lines = 25): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// The peer runs under a bash watchdog whose fd 3 is the other end of a pipe from this process: when
// this process dies (even by SIGKILL) the pipe closes, `read` returns and the peer gets SIGTERM,
// then 5 s later SIGKILL for the whole process group (kube-apiserver's graceful shutdown hangs
// when etcd went away first). The wrapper exits with the peer's status. stop() closes the pipe the
// same way.
const WATCHDOG =
  'exec 3<&0; "$@" </dev/null & c=$!; ' +
  '{ read -r _ <&3; kill -TERM "$c" 2>/dev/null; sleep 5; kill -KILL 0; } & ' +
  'wait "$c"';

export interface PeerProcess {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  /** Exit code (or signal name) once the process has exited, else undefined. */
  exited(): string | undefined;
  /** Throws a PeerStartError with the log tail if the process has exited. */
  assertRunning(): Promise<void>;
  /** SIGTERM, then SIGKILL to the whole process group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnPeer(
  name: string,
  command: string,
  args: string[],
  logPath: string,
  env: NodeJS.ProcessEnv = process.env,
): PeerProcess {
  const log = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('bash', ['-c', WATCHDOG, name, command, ...args], {
      stdio: ['pipe', log, log],
      detached: true, // own process group, so stop() can kill the wrapper and the peer together
      env,
    });
  } finally {
    closeSync(log);
  }
  let exit: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = code !== null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    });
    child.on('error', (err) => {
      exit = `spawn error: ${err.message}`;
      resolve();
    });
  });
  child.unref();
  child.stdin?.on('error', () => {});
  // Keep the pipe open but do not keep the event loop alive for it.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  const pid = child.pid ?? -1;

  return {
    name,
    logPath,
    pid,
    exited: () => exit,
    async assertRunning() {
      if (exit !== undefined) {
        throw new PeerStartError(name, logPath, `process exited (${exit})`, await tailFile(logPath));
      }
    },
    async stop(graceMs = 8_000) {
      if (exit === undefined) {
        child.stdin?.end(); // the watchdog sends SIGTERM
        if (!(await within(exitedPromise, graceMs))) killGroup(pid, 'SIGKILL');
        await within(exitedPromise, 2_000);
      }
      child.stdin?.destroy();
      killGroup(pid, 'SIGKILL'); // the watchdog's sleeping reader
    },
  };
}

/** Resolves true when `p` settles within `ms`, false otherwise; leaves no timer behind. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([p.then(() => true), sleep(ms, false, { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Poll `probe` until it returns true. Fails with a PeerStartError naming the peer and its log when
 * the process exits or the deadline passes; never hangs.
 */
export async function waitUntilReady(
  proc: PeerProcess,
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    await proc.assertRunning();
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const tail = await tailFile(proc.logPath);
      await proc.stop(2_000);
      throw new PeerStartError(
        proc.name,
        proc.logPath,
        `${what} not ready after ${Math.round(timeoutMs / 1000)}s` +
          (lastError ? ` (last probe error: ${lastError})` : ''),
        tail,
      );
    }
    await sleep(intervalMs);
  }
}
