/**
 * Argo CD Application sources: `spec.source` / `spec.sources[]` (`repoURL`, `targetRevision`,
 * `path`) fetched with the `git` binary — a shallow fetch of exactly the resolved commit into a
 * cache directory per repository *and credential identity* that is reused across calls (nothing is
 * fetched when the remote revision is unchanged).
 *
 * A cached tree is only served to whoever proved they can read the repository: the cache directory
 * is keyed by an HMAC of the credentials (a per-process random key, so the name says nothing about
 * them), and a tree at a full commit SHA — where no `ls-remote` is needed — is served only after
 * this process has reached the remote with those credentials (a fetch, an `ls-remote`, or an access
 * check made just for that). Other credentials, or none, never see another identity's tree.
 *
 * Credentials never appear in URLs, argv, `.git/config`, logs or error messages:
 *  - HTTPS user/password or token: a `GIT_ASKPASS` helper script (in a private temp dir) prints them
 *    from environment variables of the git child process only; git asks for them only when the server
 *    challenges, and only for that server.
 *  - SSH: the private key goes to a 0600 temp file used through `GIT_SSH_COMMAND`
 *    (`IdentitiesOnly`, `BatchMode`), with `UserKnownHostsFile` + `StrictHostKeyChecking=yes` when
 *    known_hosts is given (or the system known_hosts otherwise); the temp dir is removed afterwards.
 * git runs with no system/global config, `GIT_TERMINAL_PROMPT=0`, `GIT_ALLOW_PROTOCOL=http:https:ssh`
 * (no `ext::`/`file://` tricks through `repoURL`) and `core.symlinks=false` (a symlink in the repository
 * is checked out as a plain file, so it can never point the renderer outside the tree). Its stderr
 * is scrubbed of credentials and URL userinfo before it reaches an error message.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SmcError } from '../errors.js';
import { makeTempDir, removeTempDir } from '../private-tmp.js';
import type { SourceCheckout } from './source.js';

export type GitCredentials =
  | { username: string; password: string }
  /** A token sent as the basic-auth password; username defaults to `x-access-token` (GitHub style). */
  | { token: string; username?: string }
  | {
      sshPrivateKey: string;
      /** known_hosts lines for the server; without them the system known_hosts is used (strict). */
      knownHosts?: string;
      /** Accept any host key (Argo's `insecure`); off by default. */
      insecureIgnoreHostKey?: boolean;
    };

export interface GitSourceOptions {
  repoURL: string;
  /** Branch, tag, `HEAD`, full ref (`refs/...`) or a full commit SHA. Default `HEAD`. */
  targetRevision?: string;
  credentials?: GitCredentials;
  /** Timeout for one git command. Default 120 s. */
  timeoutMs?: number;
  /** Observer of every git invocation (argv without the binary, and the names of extra env vars). */
  trace?: (argv: readonly string[], envNames: readonly string[]) => void;
  /**
   * Where per-call helper files (askpass script, SSH key, known_hosts) are created, in a private
   * 0700 directory removed afterwards. Must allow executing the askpass script. Default:
   * `SMC_PRIVATE_TMP_DIR`, else os.tmpdir() (see src/private-tmp.ts).
   */
  tmpDir?: string;
  /** Extra git configuration (command-line scope), e.g. `http.sslCAInfo`. Never put credentials here. */
  gitConfig?: Record<string, string>;
}

export interface FetchArgoGitOptions extends GitSourceOptions {
  /** Directory inside the repository to render (Argo `path`). Default: the repository root. */
  path?: string;
  /** Cache directory; the repository lives in `<cacheDir>/git-<hash of repoURL>`. */
  cacheDir: string;
}

export interface GitCheckout extends SourceCheckout {
  /** The commit SHA that is checked out. */
  revision: string;
  /** The cached work tree (root of the repository). */
  repoDir: string;
  /** False when the cached checkout was already at the revision (no fetch made). */
  fetched: boolean;
}

const SHA_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A repository URL safe to show: no userinfo, query or fragment. */
export function displayRepoURL(repoURL: string): string {
  const scp = /^([^@/\s]+@)?([^:/\s]+):(?!\/\/)(.*)$/.exec(repoURL);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(repoURL)) return `${scp[2]}:${scp[3]}`;
  try {
    const u = new URL(repoURL);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid repoURL>';
  }
}

function validateRepoURL(repoURL: string): void {
  const shown = displayRepoURL(repoURL);
  if (repoURL.startsWith('-') || /\s/.test(repoURL)) {
    throw new SmcError('InvalidSpec', `repoURL ${shown} is not a valid Git URL`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repoURL)) {
    let u: URL;
    try {
      u = new URL(repoURL);
    } catch {
      throw new SmcError('InvalidSpec', `repoURL ${shown} is not a valid URL`);
    }
    if (!['http:', 'https:', 'ssh:'].includes(u.protocol)) {
      throw new SmcError('InvalidSpec', `repoURL ${shown}: only https, http and ssh URLs are supported`);
    }
    if (u.password || (u.username && u.protocol !== 'ssh:')) {
      throw new SmcError(
        'InvalidSpec',
        `repoURL ${shown} carries credentials; put them in gitCredentials / a repository Secret instead`,
      );
    }
    return;
  }
  if (!/^[^@/\s]+@[^:/\s]+:/.test(repoURL)) {
    throw new SmcError(
      'InvalidSpec',
      `repoURL ${shown} is not a valid Git URL (https, http, ssh or user@host:path)`,
    );
  }
}

function validateRevision(rev: string): void {
  if (
    rev === '' ||
    rev.startsWith('-') ||
    /[\s~^:?*[\\\0]|\.\.|@\{|\/\/|\/$|\.lock$/.test(rev) ||
    rev.length > 255
  ) {
    throw new SmcError(
      'InvalidSpec',
      `targetRevision ${JSON.stringify(rev.slice(0, 100))} is not a valid Git revision`,
    );
  }
}

/** Normalise Argo `path`: relative, no `..`. '' for the root. */
function checkPath(p: string | undefined): string {
  const raw = (p ?? '').trim();
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) {
    throw new SmcError(
      'InvalidSpec',
      `source path ${JSON.stringify(raw)} must be relative to the repository root`,
    );
  }
  const parts = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) {
    throw new SmcError('InvalidSpec', `source path ${JSON.stringify(raw)} must not contain '..'`);
  }
  return parts.join('/');
}

interface GitContext {
  env: NodeJS.ProcessEnv;
  extraEnvNames: string[];
  secrets: string[];
  dispose(): Promise<void>;
}

const ASKPASS = `#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "$SMC_GIT_USERNAME" ;;
  *) printf '%s\\n' "$SMC_GIT_PASSWORD" ;;
esac
`;

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function gitContext(
  credentials: GitCredentials | undefined,
  extraConfig: Record<string, string> = {},
  baseTmp?: string,
): Promise<GitContext> {
  // Private (0700), under SMC_PRIVATE_TMP_DIR unless the caller names a base; swept if we are killed.
  const dir = await makeTempDir('smc-gitcred-', baseTmp);
  const config: [string, string][] = [
    ['credential.helper', ''],
    ['core.symlinks', 'false'],
    ['core.hooksPath', '/dev/null'],
    ['protocol.version', '2'],
    ['advice.detachedHead', 'false'],
    ['init.defaultBranch', 'main'],
    ['core.logAllRefUpdates', 'false'],
    ['gc.auto', '256'],
    ...Object.entries(extraConfig),
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'http:https:ssh',
    // Empty: git asks no helper (and, with GIT_TERMINAL_PROMPT=0, fails with "terminal prompts
    // disabled"). Not `/bin/false`: the image has no coreutils, and git would first print
    // "cannot run /bin/false" into the error the user reads.
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes',
  };
  if (process.env.NO_PROXY ?? process.env.no_proxy)
    env.NO_PROXY = process.env.NO_PROXY ?? process.env.no_proxy;
  for (const k of [
    'HTTPS_PROXY',
    'https_proxy',
    'HTTP_PROXY',
    'http_proxy',
    'SSL_CERT_FILE',
    'GIT_SSL_CAINFO',
  ]) {
    if (process.env[k]) env[k] = process.env[k];
  }
  const extra: string[] = [];
  const secrets: string[] = [];
  try {
    if (credentials && 'sshPrivateKey' in credentials) {
      const key = path.join(dir, 'id');
      await writeFile(
        key,
        credentials.sshPrivateKey.endsWith('\n')
          ? credentials.sshPrivateKey
          : `${credentials.sshPrivateKey}\n`,
        {
          mode: 0o600,
        },
      );
      const opts = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none'];
      if (credentials.knownHosts) {
        const kh = path.join(dir, 'known_hosts');
        await writeFile(
          kh,
          credentials.knownHosts.endsWith('\n') ? credentials.knownHosts : `${credentials.knownHosts}\n`,
          {
            mode: 0o600,
          },
        );
        opts.push('-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=yes');
      } else if (credentials.insecureIgnoreHostKey) {
        opts.push('-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no');
      } else {
        opts.push('-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes');
      }
      env.GIT_SSH_COMMAND = ['ssh', ...opts].map((a) => (/^[\w./=-]+$/.test(a) ? a : shQuote(a))).join(' ');
      env.GIT_SSH_VARIANT = 'ssh';
      extra.push('GIT_SSH_COMMAND');
      secrets.push(
        ...credentials.sshPrivateKey.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----')),
      );
    } else if (credentials) {
      const username =
        'password' in credentials ? credentials.username : (credentials.username ?? 'x-access-token');
      const password = 'password' in credentials ? credentials.password : credentials.token;
      const script = path.join(dir, 'askpass.sh');
      await writeFile(script, ASKPASS, { mode: 0o700 });
      env.GIT_ASKPASS = script;
      env.SMC_GIT_USERNAME = username;
      env.SMC_GIT_PASSWORD = password;
      extra.push('GIT_ASKPASS', 'SMC_GIT_USERNAME', 'SMC_GIT_PASSWORD');
      if (password) secrets.push(password, encodeURIComponent(password));
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return {
    env,
    extraEnvNames: extra,
    secrets: secrets.filter((s) => s.length > 0),
    dispose: () => removeTempDir(dir),
  };
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

class GitCommandError extends Error {
  constructor(
    readonly stderr: string,
    readonly exitCode: number | null,
    readonly timedOut: boolean,
  ) {
    super(stderr);
  }
}

function runGit(ctx: GitContext, args: string[], opts: GitSourceOptions, cwd?: string): Promise<string> {
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

function toSmcError(e: unknown, what: string): SmcError {
  if (e instanceof SmcError) return e;
  if (!(e instanceof GitCommandError)) return new SmcError('GitFetchFailed', `${what}: ${String(e)}`);
  if (e.timedOut) return new SmcError('GitFetchFailed', `${what}: timed out`);
  const auth =
    /Authentication failed|could not read (Username|Password)|terminal prompts disabled|HTTP (401|403)|Permission denied \(publickey|Host key verification failed|invalid credentials/i;
  const code = auth.test(e.stderr) ? 'GitAuthFailed' : 'GitFetchFailed';
  return new SmcError(code, `${what}: ${e.stderr || `git exited with ${e.exitCode}`}`);
}

async function resolveWith(ctx: GitContext, opts: GitSourceOptions): Promise<{ sha: string; ref?: string }> {
  const rev = (opts.targetRevision ?? '').trim() || 'HEAD';
  validateRevision(rev);
  if (SHA_RE.test(rev.toLowerCase())) return { sha: rev.toLowerCase() };
  const patterns =
    rev === 'HEAD'
      ? ['HEAD']
      : rev.startsWith('refs/')
        ? [rev, `${rev}^{}`]
        : [`refs/heads/${rev}`, `refs/tags/${rev}`, `refs/tags/${rev}^{}`];
  const shown = displayRepoURL(opts.repoURL);
  let out: string;
  try {
    out = await runGit(ctx, ['ls-remote', '--', opts.repoURL, ...patterns], opts);
  } catch (e) {
    throw toSmcError(e, `cannot list ${shown}`);
  }
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.trim().split(/\s+/);
    if (sha && name && SHA_RE.test(sha)) refs.set(name, sha);
  }
  // Branches first (as Argo CD), then tags (peeled to the commit for annotated tags).
  for (const p of rev.startsWith('refs/') || rev === 'HEAD'
    ? [`${rev}^{}`, rev]
    : [`refs/heads/${rev}`, `refs/tags/${rev}^{}`, `refs/tags/${rev}`]) {
    const sha = refs.get(p);
    if (sha) return { sha, ref: p.replace(/\^\{\}$/, '') };
  }
  throw new SmcError('GitRevisionNotFound', `revision ${JSON.stringify(rev)} not found in ${shown}`);
}

/**
 * The commit `targetRevision` points to on the remote (one `git ls-remote`, no fetch): the cheap
 * check for `gitRepositoryPullInterval`. A full commit SHA resolves to itself.
 */
export async function lsRemoteRevision(opts: GitSourceOptions): Promise<string> {
  validateRepoURL(opts.repoURL);
  const ctx = await gitContext(opts.credentials, opts.gitConfig, opts.tmpDir);
  try {
    return (await resolveWith(ctx, opts)).sha;
  } finally {
    await ctx.dispose();
  }
}

const locks = new Map<string, Promise<unknown>>();

function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return next;
}

/** Key of the credential HMAC: random per process, never stored, so a digest cannot be guessed at. */
const IDENTITY_KEY = randomBytes(32);

/** Who reads: an HMAC of the credentials, `anonymous` without any. Never shown anywhere. */
function credentialIdentity(credentials: GitCredentials | undefined): string {
  if (!credentials) return 'anonymous';
  const canonical = JSON.stringify(Object.entries(credentials).sort(([a], [b]) => a.localeCompare(b)));
  return createHmac('sha256', IDENTITY_KEY).update(canonical).digest('hex');
}

/** The cache directory used for a repository read with `credentials` (none: anonymous). */
export function repoCacheDir(cacheDir: string, repoURL: string, credentials?: GitCredentials): string {
  const id = createHash('sha256')
    .update(
      repoURL
        .trim()
        .replace(/\/+$/, '')
        .replace(/\.git$/, ''),
    )
    .update('\0')
    .update(credentialIdentity(credentials))
    .digest('hex');
  return path.join(path.resolve(cacheDir), `git-${id.slice(0, 20)}`);
}

/** Cache directories whose credentials this process has seen the remote accept. */
const proven = new Set<string>();
const PROVEN_MAX = 10_000;

function prove(repoDir: string): void {
  proven.delete(repoDir);
  proven.add(repoDir);
  if (proven.size > PROVEN_MAX) proven.delete(proven.values().next().value as string);
}

/** Fetch (shallow, exactly the resolved commit) and check out an Argo source; reuse the cache. */
export async function fetchArgoGit(opts: FetchArgoGitOptions): Promise<GitCheckout> {
  validateRepoURL(opts.repoURL);
  const rel = checkPath(opts.path);
  const repoDir = repoCacheDir(opts.cacheDir, opts.repoURL, opts.credentials);
  const shown = displayRepoURL(opts.repoURL);
  const rev = (opts.targetRevision ?? '').trim() || 'HEAD';
  return withLock(repoDir, async () => {
    const ctx = await gitContext(opts.credentials, opts.gitConfig, opts.tmpDir);
    try {
      const resolved = await resolveWith(ctx, opts);
      // A ref was resolved by `ls-remote`: the remote just accepted these credentials.
      if (resolved.ref !== undefined) prove(repoDir);
      let want = resolved.sha;
      const current = await currentHead(ctx, repoDir, opts);
      let fetched = false;
      if (current === want && !proven.has(repoDir)) {
        // A cached tree at a full SHA, and these credentials have not reached the remote in this
        // process: ask the remote first (refs only, no objects).
        try {
          await runGit(ctx, ['ls-remote', '--', opts.repoURL, 'HEAD'], opts);
        } catch (e) {
          throw toSmcError(e, `cannot read ${shown}`);
        }
        prove(repoDir);
      }
      if (current !== want) {
        await mkdir(repoDir, { recursive: true });
        const fetchArgs = (refspecs: string[], shallow: boolean) => [
          '-C',
          repoDir,
          'fetch',
          '--quiet',
          ...(shallow ? ['--depth', '1'] : []),
          '--no-tags',
          '--no-recurse-submodules',
          '--',
          opts.repoURL,
          ...refspecs,
        ];
        try {
          if (!(await exists(path.join(repoDir, '.git')))) {
            await runGit(ctx, ['init', '--quiet', '--', repoDir], opts);
          }
          try {
            // Exactly the resolved commit (protocol v2 servers allow fetching any reachable commit).
            await runGit(ctx, fetchArgs([want], true), opts);
          } catch (e) {
            if (toSmcError(e, '').code === 'GitAuthFailed' || (e instanceof GitCommandError && e.timedOut))
              throw e;
            // An older server that only serves advertised refs: fetch the ref itself (and take the
            // commit it points to now), or, for a bare commit SHA, the full history.
            if (resolved.ref && resolved.ref !== 'HEAD') {
              await runGit(ctx, fetchArgs([resolved.ref], true), opts);
            } else if (resolved.ref === 'HEAD') {
              await runGit(ctx, fetchArgs(['HEAD'], true), opts);
            } else {
              await runGit(
                ctx,
                fetchArgs(['+refs/heads/*:refs/smc/heads/*', '+refs/tags/*:refs/smc/tags/*'], false),
                opts,
              );
            }
            if (resolved.ref) {
              want = (
                await runGit(ctx, ['-C', repoDir, 'rev-parse', '--verify', 'FETCH_HEAD^{commit}'], opts)
              ).trim();
            }
          }
          await runGit(ctx, ['-C', repoDir, 'checkout', '--quiet', '--force', '--detach', want], opts);
          await runGit(ctx, ['-C', repoDir, 'clean', '-ffdxq'], opts);
        } catch (e) {
          throw toSmcError(e, `cannot fetch ${shown} at ${rev} (${want.slice(0, 12)})`);
        }
        prove(repoDir);
        fetched = true;
      }
      const root = rel ? path.join(repoDir, rel) : repoDir;
      const st = await stat(root).catch(() => undefined);
      if (!st?.isDirectory()) {
        throw new SmcError(
          'SourceNotFound',
          `path ${JSON.stringify(rel)} does not exist (or is not a directory) in ${shown} at ${want.slice(0, 12)}`,
        );
      }
      const [realRoot, realRepo] = await Promise.all([realpath(root), realpath(repoDir)]);
      if (realRoot !== realRepo && !realRoot.startsWith(realRepo + path.sep)) {
        throw new SmcError('InvalidSpec', `source path ${JSON.stringify(rel)} leaves the repository`);
      }
      return {
        root: realRoot,
        revision: want,
        repoDir,
        fetched,
        description: `Git ${shown} at ${rev} (${want.slice(0, 12)})${rel ? `, path ${rel}` : ''}`,
      };
    } finally {
      await ctx.dispose();
    }
  });
}

async function currentHead(
  ctx: GitContext,
  repoDir: string,
  opts: GitSourceOptions,
): Promise<string | undefined> {
  if (!(await exists(path.join(repoDir, '.git')))) return undefined;
  try {
    const head = (
      await runGit(ctx, ['-C', repoDir, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], opts)
    ).trim();
    if (!SHA_RE.test(head)) return undefined;
    // A work tree someone modified is not a valid cache hit.
    const dirty = (
      await runGit(ctx, ['-C', repoDir, 'status', '--porcelain', '--ignored', '--untracked-files=all'], opts)
    ).trim();
    return dirty ? undefined : head;
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/** One Git source of an Argo CD Application (`spec.source`, or each of `spec.sources[]`). */
export interface ArgoGitSource {
  repoURL: string;
  targetRevision: string;
  path: string;
}

/**
 * The Git sources of an Argo CD Application spec: `spec.sources[]` when present (Argo then ignores
 * `spec.source`), else `spec.source`. Helm chart sources (`chart` set) are left out; `targetRevision`
 * defaults to `HEAD` and `path` to the repository root.
 */
export function argoGitSources(spec: unknown): ArgoGitSource[] {
  const s = (spec ?? {}) as { source?: unknown; sources?: unknown };
  const list = Array.isArray(s.sources) && s.sources.length > 0 ? s.sources : s.source ? [s.source] : [];
  const out: ArgoGitSource[] = [];
  for (const item of list as Record<string, unknown>[]) {
    if (!item || typeof item !== 'object' || typeof item.repoURL !== 'string' || item.repoURL === '')
      continue;
    if (typeof item.chart === 'string' && item.chart !== '') continue;
    out.push({
      repoURL: item.repoURL,
      targetRevision:
        typeof item.targetRevision === 'string' && item.targetRevision ? item.targetRevision : 'HEAD',
      path: typeof item.path === 'string' ? item.path : '',
    });
  }
  return out;
}
