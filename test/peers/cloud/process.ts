/**
 * Start/stop plumbing shared by the cloud emulator peers: free loopback ports, one process group
 * per peer with its log in a temp dir, a readiness poll with a deadline, and errors that name the
 * peer and its log instead of hanging.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { peerPath } from '../../peers.js';

export const LOOPBACK = '127.0.0.1';

export type CloudPeer = 'gcp-sm-emulator' | 'moto';

/** Thrown when a peer cannot be started; `logPath` is the peer's own output. */
export class PeerStartError extends Error {
  constructor(
    readonly peer: string,
    readonly logPath: string,
    reason: string,
    /** The process that was started (already stopped when this is thrown). */
    readonly pid?: number,
  ) {
    super(`${peer} failed to start: ${reason}. Its log: ${logPath}${logTail(logPath)}`);
    this.name = 'PeerStartError';
  }
}

function logTail(logPath: string, lines = 15): string {
  try {
    const text = readFileSync(logPath, 'utf8').trimEnd();
    if (!text) return '\n(log is empty)';
    return `\n--- last lines of ${path.basename(logPath)} ---\n${text.split('\n').slice(-lines).join('\n')}`;
  } catch {
    return '';
  }
}

/** The installed peer's main binary, or a PeerMissingError naming it and why (test/peers.ts). */
export function peerBinary(peer: CloudPeer): string {
  return peerPath(peer);
}

/**
 * The peer's binary, for a suite's beforeAll: the vitest global setup installed every peer before
 * any test started, so a missing one fails the suite naming the peer (never skips it).
 */
export function ensurePeer(peer: CloudPeer): Promise<string> {
  return Promise.resolve().then(() => peerBinary(peer));
}

export { freePort } from '../free-port.js';

/** A short random suffix for names that must not collide between tests (projects, secrets, vaults). */
export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

export interface StartOptions {
  /** The name error messages use (a CloudPeer, or anything else started this way). */
  peer: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** One readiness probe: resolve true when the peer answers a real request. Probes must time out on their own. */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** Extra cleanup after the process is gone (the temp dir itself is always removed). */
  onStop?: () => Promise<void> | void;
}

export interface PeerProcess {
  peer: string;
  pid: number;
  /** Temp dir owned by this peer; removed by stop(). */
  dir: string;
  logPath: string;
  /** Milliseconds from spawn to the first successful readiness probe. */
  startMs: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if a test forgets stop() or the worker dies: no emulator outlives the test process.
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fetch-based probe that never hangs: each attempt is bounded by `timeoutMs`. */
export async function httpOk(url: string, init: RequestInit = {}, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export async function startPeerProcess(opts: StartOptions): Promise<PeerProcess> {
  installExitHook();
  const dir = mkdtempSync(path.join(os.tmpdir(), `smc-${opts.peer}-`));
  const logPath = path.join(dir, `${opts.peer}.log`);
  const logFd = openSync(logPath, 'a');
  const t0 = performance.now();
  const child = spawn(opts.command, opts.args, {
    cwd: dir,
    detached: true, // own process group, so stop() reaches every child the peer forks
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ...opts.env },
  });
  closeSync(logFd);
  running.add(child);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      running.delete(child);
      resolve();
    });
  });

  const terminate = async (): Promise<void> => {
    if (exited || spawnError) return;
    killGroup(child, 'SIGTERM');
    const graceful = await Promise.race([exitPromise.then(() => true), sleep(5000).then(() => false)]);
    if (!graceful) {
      killGroup(child, 'SIGKILL');
      await Promise.race([exitPromise, sleep(2000)]);
    }
    // Anything the peer forked that is still in its group gets the same treatment.
    killGroup(child, 'SIGKILL');
  };
  const cleanup = async (): Promise<void> => {
    try {
      await opts.onStop?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate();
    await cleanup();
  };

  const fail = async (reason: string): Promise<never> => {
    stopped = true;
    await terminate();
    // The temp dir goes away; keep the log where the error message points.
    const kept = path.join(os.tmpdir(), `smc-${opts.peer}-failed-${uniqueSuffix()}.log`);
    if (existsSync(logPath)) copyFileSync(logPath, kept);
    await cleanup();
    throw new PeerStartError(opts.peer, kept, reason, child.pid);
  };

  const deadline = t0 + opts.readyTimeoutMs;
  for (;;) {
    if (spawnError) return fail(`could not run ${opts.command}: ${spawnError.message}`);
    if (exited) {
      const how = exited.signal ? `signal ${exited.signal}` : `exit code ${exited.code}`;
      return fail(`process exited before it was ready (${how})`);
    }
    if (await opts.ready()) break;
    if (performance.now() > deadline) {
      return fail(`not ready within ${opts.readyTimeoutMs} ms`);
    }
    await Promise.race([exitPromise, sleep(100)]);
  }
  const startMs = Math.round(performance.now() - t0);
  return { peer: opts.peer, pid: child.pid!, dir, logPath, startMs, stop };
}
