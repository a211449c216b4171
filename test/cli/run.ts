/** Run msmctl as a separate process, the way a user does (TypeScript sources through tsx). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../peers.js';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function msmctl(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliRun {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'src/cli/msmctl.ts'), ...args],
    {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same, without blocking this process: needed when the peer runs inside the test process
 * itself (an in-process fake cannot answer while spawnSync holds the event loop).
 */
export function msmctlAsync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; onStderr?: (chunk: string) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src/cli/msmctl.ts'), ...args],
      {
        cwd: opts.cwd ?? repoRoot,
        env: { ...process.env, ...opts.env },
        timeout: 120_000,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  stdout: () => string;
  stderr: () => string;
  /** Settles when the process has exited. */
  exited: Promise<CliRun>;
}

/** A long-running msmctl (`list -w`, `status -w`): output read while it runs, stopped by a signal. */
export function msmctlProcess(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'src/cli/msmctl.ts'), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      timeout: 170_000,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}
