/** Long-running child processes for the sidecar tests: the reloader itself and a test application. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../peers.js';
import { waitFor } from './fs-writers.js';

export interface Child {
  proc: ChildProcess;
  /** Every stdout line, parsed as JSON when it is JSON (pino logs, the test app's events). */
  lines: Record<string, unknown>[];
  stdout: () => string;
  stderr: () => string;
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<Record<string, unknown>>;
  /** Send `signal` (default SIGTERM) and resolve with the exit code (null: killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

function startChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const lines: Record<string, unknown>[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ text: p });
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForLine(match, timeoutMs = 20_000, what = 'a matching output line') {
      let found: Record<string, unknown> | undefined;
      await waitFor(
        () => {
          found = lines.find(match);
          return found !== undefined || proc.exitCode !== null;
        },
        timeoutMs,
        what,
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\nstdout:\n${out}\nstderr:\n${err}`);
      });
      if (!found)
        throw new Error(`process exited (${proc.exitCode}) before ${what}\nstdout:\n${out}\nstderr:\n${err}`);
      return found;
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** `msmctl reloader ARGS` as a separate process (MSMCTL_ENTRY overrides the entry, e.g. a built copy). */
export function startReloaderProcess(args: string[], env?: NodeJS.ProcessEnv): Child {
  const entry = process.env.MSMCTL_ENTRY ?? path.join(repoRoot, 'src/cli/msmctl.ts');
  return startChild(entry, ['reloader', ...args], env);
}

export function startTestApp(args: string[]): Child {
  return startChild(path.join(repoRoot, 'test/reload/fixtures/signal-app.ts'), args);
}
