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

export async function startController(
  env: Record<string, string>,
  args: string[] = [],
  opts: { readyTimeoutMs?: number } = {},
): Promise<ControllerProcess> {
  const port = await freePort();
  let out = '';
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`controller exited early:\n${out}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline)
      throw new Error(`controller not ready within ${readyTimeoutMs / 1000} s:\n${out}`);
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

/** Poll `check` until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; log?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
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
