/**
 * The controller as a separate process (`node --import tsx src/controller/entry.ts`), as the
 * e2e tests run it: its own environment, its log kept for failure messages, `/metrics` scraped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../peers/free-port.js';
import { repoRoot } from '../peers.js';

export { freePort };

export interface ControllerProcess {
  readonly url: string;
  readonly log: () => string;
  /** Sum of a metric's samples whose labels include every pair in `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<number | null>;
  /** SIGKILL: no drain, no cleanup (a crash, or a node lost mid-work). */
  kill(): Promise<void>;
}

/**
 * How long a controller may take to answer `/readyz` 200. Generous: with several kube test files
 * starting controllers at once through tsx on 2 busy cores, a start took over 30 s. Waiting longer
 * costs nothing when it is ready sooner; a real failure says why (exit status, last output).
 */
export const CONTROLLER_READY_TIMEOUT_MS = 120_000;

/** The last `maxLines` lines of a process's output, for an error message. */
export function outputTail(out: string, maxLines = 60): string {
  const lines = out.trimEnd().split('\n');
  const tail = lines.slice(-maxLines).join('\n').slice(-8000);
  return lines.length > maxLines
    ? `[… ${lines.length - maxLines} earlier lines]\n${tail}`
    : tail || '(no output)';
}

/** `exit code 1`, `signal SIGKILL`. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

export async function startController(
  env: Record<string, string>,
  args: string[] = [],
  opts: { readyTimeoutMs?: number } = {},
): Promise<ControllerProcess> {
  const port = await freePort();
  let out = '';
  const startedAt = Date.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/controller/entry.ts'), ...args],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...env,
        METRICS_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let ended: string | undefined;
  child.once('error', (e) => (ended ??= `could not be run: ${e.message}`));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      ended ??= exitStatus(code, signal);
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = opts.readyTimeoutMs ?? CONTROLLER_READY_TIMEOUT_MS;
  const deadline = startedAt + readyTimeoutMs;
  const after = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  let lastAnswer: string;
  for (;;) {
    if (ended !== undefined)
      throw new Error(
        `controller exited before it was ready (${ended}, after ${after()}); its last output:\n${outputTail(out)}`,
      );
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
      lastAnswer = `HTTP ${r.status}`;
    } catch (e) {
      lastAnswer = `not listening (${(e as { cause?: { code?: string } }).cause?.code ?? String(e)})`;
    }
    if (Date.now() > deadline) {
      // Still running but never ready: stop it, or it outlives the failed test.
      if (ended === undefined) {
        child.kill('SIGKILL');
        await exited;
      }
      throw new Error(
        `controller not ready within ${readyTimeoutMs / 1000} s (GET ${url}/readyz: ${lastAnswer}; ` +
          `the process was still running and was killed); its last output:\n${outputTail(out)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => out,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const ls = Object.fromEntries(
          [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
        );
        if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
      }
      return sum;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      let killed = false;
      const t = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, 15_000);
      const code = await exited;
      clearTimeout(t);
      // A controller that would not stop fails its test (exit code null); show why.
      if (killed)
        console.log(`controller did not stop within 15 s of SIGTERM; its last output:\n${out.slice(-4000)}`);
      return code;
    },
  };
}

/**
 * Default deadline of `waitFor` (was 20 s): generous, since the controllers, peers and this process
 * share 2 cores with other test files, and a wait returns as soon as its check passes; below the
 * 60 s test timeout (vitest.config.ts), so a wait that times out fails with its own message.
 */
export const WAIT_TIMEOUT_MS = 45_000;

/** Poll `check` until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: {
    timeoutMs?: number;
    intervalMs?: number;
    log?: () => string;
    /** Why waiting longer is pointless (e.g. the process waited on exited), else undefined. */
    stopIf?: () => string | undefined;
  } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? WAIT_TIMEOUT_MS);
  let last: unknown;
  for (;;) {
    const stop = opts.stopIf?.();
    if (stop !== undefined)
      throw new Error(
        `gave up waiting for ${what}: ${stop}${opts.log ? `\nlast output:\n${outputTail(opts.log())}` : ''}`,
      );
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${opts.log ? `\ncontroller log:\n${opts.log().slice(-6000)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
