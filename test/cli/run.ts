/** Run msmctl as a separate process, the way a user does (TypeScript sources through tsx). */
import { spawnSync } from 'node:child_process';
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
