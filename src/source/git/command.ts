/**
 * Running one git command in a prepared environment (`environment.ts`): bounded output, a timeout,
 * stderr scrubbed of credentials and URL userinfo before it reaches an error, and the failure turned
 * into an `SmcError` (`GitAuthFailed` when the server refused the credentials, else `GitFetchFailed`).
 */
import { spawn } from 'node:child_process';
import { SmcError } from '../../errors.js';
import type { GitContext } from './environment.js';

export interface GitRunOptions {
  /** Timeout for one git command. Default 120 s. */
  timeoutMs?: number;
  /** Observer of every git invocation (argv without the binary, and the names of extra env vars). */
  trace?: (argv: readonly string[], envNames: readonly string[]) => void;
}

/** Remove credentials and URL userinfo from git output; bounded length. */
export function scrubGitOutput(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s) out = out.split(s).join('***');
  }
  out = out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, '$1***@');
  out = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(hint:|remote: (Counting|Compressing|Enumerating|Total))/.test(l))
    .join('; ');
  return out.length > 600 ? `${out.slice(0, 600)}…` : out;
}

export class GitCommandError extends Error {
  constructor(
    readonly stderr: string,
    readonly exitCode: number | null,
    readonly timedOut: boolean,
  ) {
    super(stderr);
  }
}

export function runGit(ctx: GitContext, args: string[], opts: GitRunOptions, cwd?: string): Promise<string> {
  opts.trace?.(args, ctx.extraEnvNames);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: ctx.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 16 * 1024 * 1024) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new GitCommandError(`cannot run git: ${(e as NodeJS.ErrnoException).code ?? e.message}`, null, false),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) resolve(stdout);
      else reject(new GitCommandError(scrubGitOutput(stderr, ctx.secrets), code, timedOut));
    });
  });
}

export function toSmcError(e: unknown, what: string): SmcError {
  if (e instanceof SmcError) return e;
  if (!(e instanceof GitCommandError)) return new SmcError('GitFetchFailed', `${what}: ${String(e)}`);
  if (e.timedOut) return new SmcError('GitFetchFailed', `${what}: timed out`);
  const auth =
    /Authentication failed|could not read (Username|Password)|terminal prompts disabled|HTTP (401|403)|Permission denied \(publickey|Host key verification failed|invalid credentials/i;
  const code = auth.test(e.stderr) ? 'GitAuthFailed' : 'GitFetchFailed';
  return new SmcError(code, `${what}: ${e.stderr || `git exited with ${e.exitCode}`}`);
}
