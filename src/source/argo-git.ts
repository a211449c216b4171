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
 * Credentials never appear in URLs, argv, `.git/config`, logs or error messages: git runs in the
 * isolated environment of `git/environment.ts` (askpass helper, 0600 SSH key file, no system or global
 * config, only http/https/ssh, no symlinks checked out), through `git/command.ts`, which scrubs its
 * stderr of credentials and URL userinfo before it reaches an error message. What the user names is
 * checked first (`git/inputs.ts`).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { SmcError } from '../errors.js';
import { GitCommandError, type GitRunOptions, runGit, toSmcError } from './git/command.js';
import { type GitContext, type GitCredentials, gitContext } from './git/environment.js';
import { checkPath, displayRepoURL, validateRepoURL, validateRevision } from './git/inputs.js';
import type { SourceCheckout } from './source.js';

export { scrubGitOutput } from './git/command.js';
export type { GitCredentials } from './git/environment.js';
export { displayRepoURL } from './git/inputs.js';

export interface GitSourceOptions extends GitRunOptions {
  repoURL: string;
  /** Branch, tag, `HEAD`, full ref (`refs/...`) or a full commit SHA. Default `HEAD`. */
  targetRevision?: string;
  credentials?: GitCredentials;
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
