/**
 * A long-running program of the docs (Python, Go, the reloader sidecar) as a child process: its
 * output kept line by line (stdout and stderr together, as a terminal shows them), waited on by
 * condition, never by time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from '../reload/fs-writers.js';

export interface Program {
  readonly proc: ChildProcess;
  /** Every output line so far. */
  lines(): string[];
  output(): string;
  /** Lines matching `re`. */
  count(re: RegExp): number;
  /** Wait until `count(re) >= n` (the process exiting first fails, with its output). */
  waitForCount(re: RegExp, n: number, what?: string, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startProgram(
  label: string,
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Program {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const lines = () => out.split('\n').filter((l) => l.trim() !== '');
  const count = (re: RegExp) => lines().filter((l) => re.test(l)).length;
  return {
    proc,
    lines,
    output: () => out,
    count,
    async waitForCount(re, n, what = `${n} line(s) matching ${re}`, timeoutMs = 120_000) {
      await waitFor(
        () => count(re) >= n || proc.exitCode !== null || proc.signalCode !== null,
        timeoutMs,
        `${label}: ${what}`,
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${label} output:\n${out}`);
      });
      if (count(re) < n)
        throw new Error(
          `${label} exited (${proc.exitCode ?? proc.signalCode}) before ${what}; output:\n${out}`,
        );
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
