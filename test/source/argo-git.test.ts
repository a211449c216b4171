import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import {
  argoGitSources,
  displayRepoURL,
  fetchArgoGit,
  lsRemoteRevision,
  scrubGitOutput,
} from '../../src/source/argo-git.js';
import { type GitServer, git, gitEnv, startGitServer } from '../peers/gitops/index.js';

const PASSWORD = 'pw-CANARY-7f3a:with/odd@chars';
let open: GitServer;
let locked: GitServer;
let scratch: string;

beforeAll(async () => {
  [open, locked] = await Promise.all([
    startGitServer(),
    startGitServer({ auth: { username: 'argo', password: PASSWORD } }),
  ]);
  scratch = await mkdtemp(join(tmpdir(), 'smc-argo-test-'));
});
afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
  await rm(scratch, { recursive: true, force: true });
});

const newCache = () => mkdtemp(join(scratch, 'cache-'));

interface Call {
  argv: readonly string[];
  env: readonly string[];
}
function tracer(): { calls: Call[]; trace: (argv: readonly string[], env: readonly string[]) => void } {
  const calls: Call[] = [];
  return { calls, trace: (argv, env) => calls.push({ argv, env }) };
}

describe('fetchArgoGit', () => {
  it('checks out a branch at path; reuses the cache when the remote is unchanged; follows a new commit', async () => {
    const repo = await open.createRepo('branch', { 'apps/pay/a.env': 'A=1\n', 'other/b.env': 'B=1\n' });
    const c1 = await repo.head();
    const cacheDir = await newCache();
    const t = tracer();
    const co = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: 'main',
      path: 'apps/pay',
      cacheDir,
      trace: t.trace,
    });
    expect(co.revision).toBe(c1);
    expect(co.fetched).toBe(true);
    expect(co.root).toBe(join(co.repoDir, 'apps/pay'));
    expect(await readFile(join(co.root, 'a.env'), 'utf8')).toBe('A=1\n');
    expect(co.description).toContain('apps/pay');
    // shallow: exactly one commit
    const env = gitEnv(scratch);
    expect(await git(['-C', co.repoDir, 'rev-list', '--count', 'HEAD'], { env })).toBe('1');
    expect(t.calls.find((c) => c.argv.includes('fetch'))?.argv).toEqual(
      expect.arrayContaining(['--depth', '1', c1]),
    );

    // unchanged remote: only an ls-remote, no fetch
    const t2 = tracer();
    const again = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: 'main',
      path: 'apps/pay',
      cacheDir,
      trace: t2.trace,
    });
    expect(again.fetched).toBe(false);
    expect(again.revision).toBe(c1);
    expect(
      t2.calls.map((c) => c.argv.find((a) => ['ls-remote', 'fetch', 'init', 'checkout'].includes(a))),
    ).not.toContain('fetch');

    // a new commit is detected by lsRemoteRevision and then fetched into the same cache dir
    const c2 = await repo.commit({ 'apps/pay/a.env': 'A=2\n' }, 'rotate');
    expect(await lsRemoteRevision({ repoURL: repo.url, targetRevision: 'main' })).toBe(c2);
    const next = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: 'main',
      path: 'apps/pay',
      cacheDir,
    });
    expect(next.fetched).toBe(true);
    expect(next.revision).toBe(c2);
    expect(next.repoDir).toBe(co.repoDir);
    expect(await readFile(join(next.root, 'a.env'), 'utf8')).toBe('A=2\n');
  });

  it('resolves HEAD, a lightweight tag, an annotated tag and a commit SHA', async () => {
    const repo = await open.createRepo('revs', { 'a.env': 'V=1\n' });
    const c1 = await repo.head();
    const env = gitEnv(scratch);
    await git(['tag', 'light', c1], { cwd: repo.gitDir, env });
    await git(['tag', '-a', 'v1.0.0', '-m', 'release', c1], { cwd: repo.gitDir, env });
    const c2 = await repo.commit({ 'a.env': 'V=2\n' });
    const cacheDir = await newCache();

    const head = await fetchArgoGit({ repoURL: repo.url, targetRevision: 'HEAD', cacheDir });
    expect(head.revision).toBe(c2);
    expect(await readFile(join(head.root, 'a.env'), 'utf8')).toBe('V=2\n');
    expect((await fetchArgoGit({ repoURL: repo.url, cacheDir })).revision).toBe(c2); // default HEAD

    for (const tag of ['light', 'v1.0.0', 'refs/tags/v1.0.0']) {
      const co = await fetchArgoGit({ repoURL: repo.url, targetRevision: tag, cacheDir });
      expect(co.revision).toBe(c1);
      expect(await readFile(join(co.root, 'a.env'), 'utf8')).toBe('V=1\n');
      expect(await lsRemoteRevision({ repoURL: repo.url, targetRevision: tag })).toBe(c1);
    }
    // an older commit by SHA (not a branch tip): fetched exactly
    const bySha = await fetchArgoGit({ repoURL: repo.url, targetRevision: c1, cacheDir: await newCache() });
    expect(bySha.revision).toBe(c1);
    expect(await readFile(join(bySha.root, 'a.env'), 'utf8')).toBe('V=1\n');
    // a SHA that is already checked out needs no network at all
    const t = tracer();
    const cached = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: c1,
      cacheDir: join(bySha.repoDir, '..'),
      trace: t.trace,
    });
    expect(cached.fetched).toBe(false);
    expect(t.calls.some((c) => c.argv.includes('ls-remote') || c.argv.includes('fetch'))).toBe(false);
  });

  it('fails clearly on an unknown revision, a missing path and bad input', async () => {
    const repo = await open.createRepo('errs', { 'a/x.env': 'X=1\n' });
    const cacheDir = await newCache();
    await expect(fetchArgoGit({ repoURL: repo.url, targetRevision: 'nope', cacheDir })).rejects.toMatchObject(
      {
        code: 'GitRevisionNotFound',
      },
    );
    await expect(fetchArgoGit({ repoURL: repo.url, path: 'missing', cacheDir })).rejects.toMatchObject({
      code: 'SourceNotFound',
    });
    await expect(fetchArgoGit({ repoURL: repo.url, path: '../..', cacheDir })).rejects.toMatchObject({
      code: 'InvalidSpec',
    });
    await expect(
      fetchArgoGit({ repoURL: repo.url, targetRevision: '--upload-pack=x', cacheDir }),
    ).rejects.toMatchObject({
      code: 'InvalidSpec',
    });
    await expect(fetchArgoGit({ repoURL: 'ext::sh -c touch% /tmp/pwned', cacheDir })).rejects.toMatchObject({
      code: 'InvalidSpec',
    });
    await expect(fetchArgoGit({ repoURL: 'file:///etc', cacheDir })).rejects.toMatchObject({
      code: 'InvalidSpec',
    });
    for (const withCreds of [
      repo.url.replace('http://', `http://argo:${encodeURIComponent(PASSWORD)}@`),
      repo.url.replace('http://', `http://argo:${PASSWORD}@`), // not even a parseable URL
    ]) {
      const err = await fetchArgoGit({ repoURL: withCreds, cacheDir }).catch((e: unknown) => e);
      expect(isSmcError(err, 'InvalidSpec')).toBe(true);
      expect((err as Error).message).not.toContain('CANARY');
    }
  });

  it('checks symlinks out as plain files (no escape from the tree)', async () => {
    const repo = await open.createRepo('links', { 'a.env': 'A=1\n' });
    const env = gitEnv(scratch);
    const work = join(scratch, 'links-work');
    await git(['clone', '--quiet', repo.url, work], { env });
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/passwd', join(work, 'passwd.env'));
    await git(['add', '-A'], { cwd: work, env });
    await git(['commit', '--quiet', '-m', 'link'], { cwd: work, env });
    await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: work, env });
    const co = await fetchArgoGit({ repoURL: repo.url, targetRevision: 'main', cacheDir: await newCache() });
    const st = await stat(join(co.root, 'passwd.env'));
    expect(st.isFile()).toBe(true);
    expect(await readFile(join(co.root, 'passwd.env'), 'utf8')).toBe('/etc/passwd');
  });
});

describe('older servers (protocol v0: only advertised refs can be fetched)', () => {
  it('falls back to fetching the ref, or the full history for a bare commit SHA', async () => {
    const repo = await open.createRepo('v0', { 'a.env': 'V=1\n' });
    const c1 = await repo.head();
    await repo.commit({ 'a.env': 'V=2\n' });
    const c3 = await repo.commit({ 'a.env': 'V=3\n' });
    const gitConfig = { 'protocol.version': '0' };
    const t = tracer();
    const branch = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: 'main',
      cacheDir: await newCache(),
      gitConfig,
      trace: t.trace,
    });
    expect(branch.revision).toBe(c3);
    const fetches = t.calls.filter((c) => c.argv.includes('fetch')).map((c) => c.argv.at(-1));
    expect(fetches).toEqual([c3]); // a branch tip is advertised, so v0 serves it by SHA
    expect(await readFile(join(branch.root, 'a.env'), 'utf8')).toBe('V=3\n');
    const old = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: c1,
      cacheDir: await newCache(),
      gitConfig,
    });
    expect(old.revision).toBe(c1);
    expect(await readFile(join(old.root, 'a.env'), 'utf8')).toBe('V=1\n');
  });
});

describe('private repositories', () => {
  it('works with basic auth; credentials never in argv, env names only, or .git/config', async () => {
    const repo = await locked.createRepo('private', { 'p/s.env': 'S=1\n' });
    const cacheDir = await newCache();
    const t = tracer();
    const helperTmp = await mkdtemp(join(scratch, 'helpers-'));
    const co = await fetchArgoGit({
      repoURL: repo.url,
      targetRevision: 'main',
      path: 'p',
      cacheDir,
      tmpDir: helperTmp,
      credentials: { username: 'argo', password: PASSWORD },
      trace: t.trace,
    });
    expect(await readFile(join(co.root, 's.env'), 'utf8')).toBe('S=1\n');
    expect(co.description).not.toContain(PASSWORD);
    expect(t.calls.length).toBeGreaterThan(0);
    for (const c of t.calls) {
      expect(c.argv.join(' ')).not.toContain(PASSWORD);
      expect(c.argv.join(' ')).not.toContain(encodeURIComponent(PASSWORD));
      expect(c.argv.join(' ')).not.toContain('argo@');
    }
    expect(t.calls[0]!.env).toContain('GIT_ASKPASS');
    const config = await readFile(join(co.repoDir, '.git/config'), 'utf8');
    expect(config).not.toContain(PASSWORD);
    expect(config).not.toContain('argo');
    // nothing else in the cache holds the password either
    const { execFileSync } = await import('node:child_process');
    expect(() => execFileSync('grep', ['-rlF', PASSWORD, cacheDir])).toThrow(); // grep exits 1: no match
    // and no helper files are left in the temp dir
    expect(await readdir(helperTmp)).toEqual([]);
    expect(
      await lsRemoteRevision({
        repoURL: repo.url,
        targetRevision: 'main',
        credentials: { token: PASSWORD, username: 'argo' },
      }),
    ).toBe(co.revision);
  });

  it('a wrong password fails with a clear error that does not contain the password', async () => {
    const repo = await locked.createRepo('private2', { 's.env': 'S=1\n' });
    const wrong = 'WRONG-pw-CANARY-91c2';
    for (const run of [
      () =>
        fetchArgoGit({
          repoURL: repo.url,
          cacheDir: scratch,
          credentials: { username: 'argo', password: wrong },
        }),
      () => lsRemoteRevision({ repoURL: repo.url, credentials: { username: 'argo', password: wrong } }),
    ]) {
      const err = await run().catch((e: unknown) => e);
      expect(isSmcError(err, 'GitAuthFailed')).toBe(true);
      const msg = (err as Error).message;
      expect(msg).toMatch(/Authentication failed/);
      expect(msg).toContain(displayRepoURL(repo.url));
      expect(msg).not.toContain(wrong);
      expect(msg).not.toContain(PASSWORD);
    }
    const none = await lsRemoteRevision({ repoURL: repo.url }).catch((e: unknown) => e);
    expect(isSmcError(none, 'GitAuthFailed')).toBe(true);
  });

  it('a cached tree at a full SHA is served only to the credentials that fetched it', async () => {
    const repo = await locked.createRepo('cached-private', { 's.env': 'S=private\n' });
    const sha = await repo.head();
    const cacheDir = await newCache();
    const good = { username: 'argo', password: PASSWORD };
    const first = await fetchArgoGit({ repoURL: repo.url, targetRevision: sha, cacheDir, credentials: good });
    expect(await readFile(join(first.root, 's.env'), 'utf8')).toBe('S=private\n');
    // The same SHA without credentials, or with wrong ones: the remote refuses, so must we.
    for (const credentials of [undefined, { username: 'argo', password: 'WRONG-pw-CANARY-55d1' }]) {
      const err = await fetchArgoGit({
        repoURL: repo.url,
        targetRevision: sha,
        cacheDir,
        ...(credentials ? { credentials } : {}),
      }).catch((e: unknown) => e);
      expect(isSmcError(err, 'GitAuthFailed'), String(err)).toBe(true);
      expect((err as Error).message).not.toContain(PASSWORD);
    }
    // The credentials that fetched it are served from the cache without a fetch.
    const again = await fetchArgoGit({ repoURL: repo.url, targetRevision: sha, cacheDir, credentials: good });
    expect(again.fetched).toBe(false);
    expect(again.repoDir).toBe(first.repoDir);
    // No cache directory name, nor anything else in the cache, carries the password.
    const { execFileSync } = await import('node:child_process');
    expect(() => execFileSync('grep', ['-rlF', PASSWORD, cacheDir])).toThrow();
    expect((await readdir(cacheDir)).join(' ')).not.toContain(PASSWORD);
  });

  it('a cached tree is not served for an unreachable remote to a caller that never read it', async () => {
    const server = await startGitServer();
    const repo = await server.createRepo('gone', { 'g.env': 'G=1\n' });
    const sha = await repo.head();
    const cacheDir = await newCache();
    const token = { token: 'tok-CANARY-0b7e', username: 'argo' };
    await fetchArgoGit({ repoURL: repo.url, targetRevision: sha, cacheDir, credentials: token });
    await server.stop();
    // Anonymous caller, host now unreachable: no proof of access, so no tree.
    const err = await fetchArgoGit({ repoURL: repo.url, targetRevision: sha, cacheDir }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(err), String(err)).toBe(true);
    expect((err as { code?: string }).code).toMatch(/^Git(FetchFailed|AuthFailed)$/);
    // The caller that fetched it keeps its tree while the remote is down.
    const kept = await fetchArgoGit({ repoURL: repo.url, targetRevision: sha, cacheDir, credentials: token });
    expect(kept.fetched).toBe(false);
    expect(await readFile(join(kept.root, 'g.env'), 'utf8')).toBe('G=1\n');
  });

  it('SSH: key in a 0600 temp file via GIT_SSH_COMMAND with strict known_hosts; removed afterwards', async () => {
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACANARYKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n';
    const t = tracer();
    const helperTmp = await mkdtemp(join(scratch, 'helpers-'));
    const seen: { mode: number; knownHosts: boolean }[] = [];
    const trace = (argv: readonly string[], env: readonly string[]) => {
      t.trace(argv, env);
      for (const d of readdirSync(helperTmp)) {
        const id = join(helperTmp, d, 'id');
        if (existsSync(id)) {
          seen.push({
            mode: statSync(id).mode & 0o777,
            knownHosts: existsSync(join(helperTmp, d, 'known_hosts')),
          });
        }
      }
    };
    const err = await lsRemoteRevision({
      repoURL: 'ssh://git@127.0.0.1:1/repo.git',
      credentials: { sshPrivateKey: key, knownHosts: '127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n' },
      trace,
      tmpDir: helperTmp,
      timeoutMs: 10_000,
    }).catch((e: unknown) => e);
    expect(isSmcError(err)).toBe(true);
    expect((err as Error).message).not.toContain('CANARYKEYMATERIAL');
    expect(t.calls[0]!.env).toContain('GIT_SSH_COMMAND');
    expect(t.calls[0]!.argv.join(' ')).not.toContain('CANARYKEYMATERIAL');
    expect(seen).toEqual([{ mode: 0o600, knownHosts: true }]);
    expect(readdirSync(helperTmp)).toEqual([]);
  });
});

describe('helpers', () => {
  it('lists the Git sources of an Application (sources[] wins, charts skipped, defaults)', () => {
    expect(argoGitSources({ source: { repoURL: 'https://g/a.git', path: 'x' } })).toEqual([
      { repoURL: 'https://g/a.git', targetRevision: 'HEAD', path: 'x' },
    ]);
    expect(
      argoGitSources({
        source: { repoURL: 'https://g/ignored.git' },
        sources: [
          { repoURL: 'https://charts.example.com', chart: 'nginx', targetRevision: '1.0.0' },
          { repoURL: 'https://g/b.git', targetRevision: 'v2', path: 'apps/b' },
          { repoURL: 'https://g/values.git', ref: 'values' },
        ],
      }),
    ).toEqual([
      { repoURL: 'https://g/b.git', targetRevision: 'v2', path: 'apps/b' },
      { repoURL: 'https://g/values.git', targetRevision: 'HEAD', path: '' },
    ]);
    expect(argoGitSources(undefined)).toEqual([]);
  });
  it('scrubs credentials and URL userinfo from git output', () => {
    const out = scrubGitOutput("fatal: unable to access 'https://u:hunter2@host/x.git/': hunter2 bad\n", [
      'hunter2',
    ]);
    expect(out).not.toContain('hunter2');
    expect(out).toContain('https://***@host/x.git/');
  });
  it('shows repo URLs without credentials', () => {
    expect(displayRepoURL('https://u:p@example.com/a.git?x=1')).toBe('https://example.com/a.git');
    expect(displayRepoURL('git@github.com:org/repo.git')).toBe('github.com:org/repo.git');
  });
});
