/**
 * A local Git smart-HTTP server: Debian git's `git http-backend` run as a CGI program behind a Node
 * http server on 127.0.0.1, with optional HTTP basic auth (clones and pushes). Flux GitRepository
 * and Argo CD Application URLs must be http(s) and go-git does not speak the dumb protocol, so this
 * is the real protocol that source-controller, Argo CD and our controller's fetcher all use.
 *
 *   const git = await startGitServer({ auth: { username: 'u', password: 'p' } });
 *   const repo = await git.createRepo('config', { 'app/secrets.env': 'A=1\n' });   // push over HTTP
 *   repo.url            // http://127.0.0.1:<port>/config.git
 *   await repo.commit({ 'app/secrets.env': 'A=2\n' }, 'rotate');                    // → commit sha
 */
import { execFile, spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface BasicAuth {
  username: string;
  password: string;
}

export interface GitServerOptions {
  /** Require HTTP basic auth for every request (clone, fetch and push). */
  auth?: BasicAuth;
}

/** Files to write (string or bytes) or delete (null), by path relative to the repository root. */
export type FileChanges = Record<string, string | Buffer | null>;

export interface GitRepo {
  name: string;
  /** `http://127.0.0.1:<port>/<name>.git` (no credentials). */
  url: string;
  /** The same with the server's credentials embedded (or `url` when the server has no auth). */
  authUrl: string;
  /** Bare repository on disk. */
  gitDir: string;
  branch: string;
  /** Commit the changes on `branch` and push them over HTTP; resolves to the new commit SHA. */
  commit(changes: FileChanges, message?: string): Promise<string>;
  /** Current commit SHA of `branch` on the server. */
  head(): Promise<string>;
}

export interface GitServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly root: string;
  readonly auth: BasicAuth | undefined;
  /** Requests served so far, e.g. `GET /config.git/info/refs?service=git-upload-pack 200`. */
  readonly requests: string[];
  /** Create a bare repository `<name>.git`; with files, commit them and push over HTTP. */
  createRepo(name: string, files?: FileChanges, opts?: { branch?: string }): Promise<GitRepo>;
  stop(): Promise<void>;
}

/** An environment for git commands that ignores the user's and the system's configuration. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    GIT_AUTHOR_NAME: 'smc test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'smc test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
  };
}

/** Run git; resolves to trimmed stdout, rejects with stderr in the message. */
export function git(args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd: opts.cwd, env: opts.env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        else resolve(stdout.trim());
      },
    );
  });
}

function withCredentials(url: string, auth: BasicAuth | undefined): string {
  if (!auth) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(auth.username);
  u.password = encodeURIComponent(auth.password);
  return u.toString();
}

function authorized(req: IncomingMessage, auth: BasicAuth): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const user = decoded.slice(0, i);
  const expected = Buffer.from(`${auth.username}:${auth.password}`);
  const got = Buffer.from(decoded);
  return got.length === expected.length && timingSafeEqual(got, expected) ? user : undefined;
}

/** Run `git http-backend` for one request and relay its CGI response. */
function cgi(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  user: string | undefined,
): Promise<number> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: NodeJS.ProcessEnv = {
    ...gitEnv(root),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REMOTE_USER: user ?? '',
    HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
  };
  // Without CONTENT_LENGTH http-backend reads the body to EOF (chunked pushes).
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];

  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let headersDone = false;
    let status = 200;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const sepLen = end === crlf ? 4 : 2;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10) || 200;
        else headers[k] = v;
      }
      headersDone = true;
      res.writeHead(status, headers);
      const rest = head.subarray(end + sepLen);
      if (rest.length) res.write(rest);
    });
    child.on('close', (code) => {
      if (!headersDone) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend exited with ${code}: ${stderr}`);
        resolve(500);
      } else {
        res.end();
        resolve(status);
      }
    });
  });
}

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const root = await mkdtemp(join(tmpdir(), 'smc-git-'));
  const work = join(root, '.work');
  await mkdir(work);
  const env = gitEnv(work);
  const requests: string[] = [];
  const auth = opts.auth;

  const server: Server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    let user: string | undefined;
    if (auth) {
      user = authorized(req, auth);
      if (!user) {
        req.resume();
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="smc-test-git"',
          'content-type': 'text/plain',
        });
        res.end('authentication required\n');
        requests.push(`${line} 401`);
        return;
      }
    }
    cgi(root, req, res, user).then(
      (status) => requests.push(`${line} ${status}`),
      () => requests.push(`${line} 500`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('git server: no address');
  const url = `http://127.0.0.1:${addr.port}`;

  async function createRepo(
    name: string,
    files?: FileChanges,
    ro: { branch?: string } = {},
  ): Promise<GitRepo> {
    const branch = ro.branch ?? 'main';
    const gitDir = join(root, `${name}.git`);
    await git(['init', '--bare', '--quiet', `--initial-branch=${branch}`, gitDir], { env });
    await git(['config', 'http.receivepack', 'true'], { cwd: gitDir, env });
    const repoUrl = `${url}/${name}.git`;
    const authUrl = withCredentials(repoUrl, auth);
    const checkout = join(work, name);
    let cloned = false;

    const repo: GitRepo = {
      name,
      url: repoUrl,
      authUrl,
      gitDir,
      branch,
      async commit(changes, message = 'update') {
        if (!cloned) {
          await git(['clone', '--quiet', '--no-checkout', authUrl, checkout], { env });
          cloned = true;
        }
        // Start from the server's branch tip (someone else may have pushed), or an unborn branch.
        await git(['fetch', '--quiet', 'origin'], { cwd: checkout, env });
        const tip = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`], {
          cwd: checkout,
          env,
        }).catch(() => '');
        if (tip) await git(['checkout', '--quiet', '--force', '-B', branch, tip], { cwd: checkout, env });
        else await git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`], { cwd: checkout, env });
        for (const [path, content] of Object.entries(changes)) {
          const file = join(checkout, path);
          if (content === null) {
            await rm(file, { recursive: true, force: true });
          } else {
            await mkdir(dirname(file), { recursive: true });
            await writeFile(file, content);
          }
        }
        await git(['add', '--all'], { cwd: checkout, env });
        await git(['commit', '--quiet', '--allow-empty', '-m', message], { cwd: checkout, env });
        await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], { cwd: checkout, env });
        return git(['rev-parse', 'HEAD'], { cwd: checkout, env });
      },
      head() {
        return git(['rev-parse', `refs/heads/${branch}`], { cwd: gitDir, env });
      },
    };
    if (files) await repo.commit(files, 'initial commit');
    return repo;
  }

  return {
    url,
    root,
    auth,
    requests,
    createRepo,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
