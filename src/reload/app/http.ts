/**
 * `POST /reload` for Node's `http` (and anything built on it), with an optional bearer token, plus a
 * route handler for fastify and express.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SmcError } from '../../errors.js';
import { coalesce } from './coalesce.js';
import { describeError } from './describe-error.js';
import type { ReloadOutcome } from './reloadable.js';

export interface ReloadEndpointOptions {
  /**
   * Does the reload. May return a `ReloadOutcome` (from `createReloadable`): a failed outcome answers
   * 500. Throwing answers 500 too. Overlapping requests are coalesced into one follow-up reload.
   */
  reload: () => unknown;
  /**
   * Bearer token required in `Authorization: Bearer <token>`. A function is called per request, so a
   * token read from a mounted Secret can rotate. Without a token the endpoint is open: bind it to
   * localhost or protect it otherwise.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Path served by `reloadHandler` (`null`: any path). Default `/reload`. */
  path?: string | null;
}

/** The JSON answer. Never carries a value: only a status and a value-free error message. */
export interface ReloadResponseBody {
  status: 'reloaded' | 'failed' | 'unauthorized' | 'method not allowed' | 'not found';
  /** Generation now served, when the reload returned a `ReloadOutcome`. */
  generation?: number;
  /** Why the reload failed (a `ReloadValidationError` message, an errno code or an error type). */
  error?: string;
}

export interface ReloadResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: ReloadResponseBody;
}

/** The parts of a request the endpoint looks at (Node's, express's and fastify's requests all fit). */
export interface ReloadRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The framework-neutral core: decide the answer to one request (method, then token, then reload).
 * `reloadHandler` and `reloadRoute` are thin adapters over it.
 */
export function createReloadEndpoint(
  options: ReloadEndpointOptions,
): (req: ReloadRequest) => Promise<ReloadResponse> {
  if (options.token === '') {
    throw new SmcError('InvalidSpec', 'reload endpoint: token must not be empty (omit it for no token)');
  }
  const reload = coalesce(async () => options.reload());
  const path = options.path === undefined ? '/reload' : options.path;

  return async (req) => {
    if (path !== null && req.url !== undefined && pathOf(req.url) !== path) {
      return answer(404, { status: 'not found' });
    }
    if ((req.method ?? 'GET').toUpperCase() !== 'POST') {
      return answer(405, { status: 'method not allowed' }, { Allow: 'POST' });
    }
    if (options.token !== undefined) {
      let expected: string | undefined;
      try {
        // Trimmed: a token file written with `echo` ends with a newline that is not part of the token.
        expected = (typeof options.token === 'function' ? await options.token() : options.token)?.trim();
      } catch (e) {
        return answer(500, {
          status: 'failed',
          error: `reading the reload token failed: ${describeError(e)}`,
        });
      }
      // No usable token configured: refuse everything rather than run open.
      if (!expected || !bearerMatches(req.headers.authorization, expected)) {
        return answer(401, { status: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer realm="reload"' });
      }
    }
    try {
      const result = await reload();
      if (isOutcome(result)) {
        return result.ok
          ? answer(200, { status: 'reloaded', generation: result.generation })
          : answer(500, { status: 'failed', generation: result.generation, error: result.message });
      }
      return answer(200, { status: 'reloaded' });
    } catch (e) {
      return answer(500, { status: 'failed', error: describeError(e) });
    }
  };
}

/**
 * A request listener for Node's `http`/`https` servers that answers `POST /reload`:
 * 200 `{"status":"reloaded"}`, 500 `{"status":"failed","error":…}`, 401 for a missing or wrong bearer
 * token (compared in constant time), 405 for other methods, 404 for other paths — or, used as
 * express/connect middleware, other paths go to `next()`.
 *
 * @example
 * ```ts
 * http.createServer(reloadHandler({ reload: () => config.reload(), token: process.env.RELOAD_TOKEN }))
 *   .listen(8080, '127.0.0.1');
 * // express: app.use(reloadHandler({ reload }))
 * ```
 */
export function reloadHandler(
  options: ReloadEndpointOptions,
): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void {
  const endpoint = createReloadEndpoint(options);
  const path = options.path === undefined ? '/reload' : options.path;
  return (req, res, next) => {
    if (next && path !== null && pathOf(req.url ?? '/') !== path) {
      next();
      return;
    }
    req.resume(); // the body is not used; drain it so the connection can be reused
    void endpoint(req)
      .catch((e: unknown) => answer(500, { status: 'failed', error: describeError(e) }))
      .then((r) => {
        if (res.headersSent) return;
        res.writeHead(r.statusCode, r.headers);
        res.end(JSON.stringify(r.body));
      });
  };
}

/** The parts of a reply object that fastify's `reply` and express's `res` share. */
export interface FrameworkReply {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
  send(body: unknown): unknown;
}

/**
 * A route handler for fastify and express: `fastify.post('/reload', reloadRoute(opts))` or
 * `app.post('/reload', reloadRoute(opts))`. The route decides the path; the handler still answers 405
 * to other methods if mounted with `all`.
 */
export function reloadRoute(
  options: Omit<ReloadEndpointOptions, 'path'>,
): (request: ReloadRequest, reply: FrameworkReply) => Promise<unknown> {
  const endpoint = createReloadEndpoint({ ...options, path: null });
  return async (request, reply) => {
    const r = await endpoint(request);
    reply.status(r.statusCode);
    for (const [name, value] of Object.entries(r.headers)) reply.header(name, value);
    return reply.send(r.body);
  };
}

function answer(
  statusCode: number,
  body: ReloadResponseBody,
  extra: Record<string, string> = {},
): ReloadResponse {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra },
    body,
  };
}

function pathOf(url: string): string {
  const q = url.search(/[?#]/);
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Compare the presented bearer token with the expected one in constant time: both are hashed first,
 * so neither the content nor the length of the expected token leaks through timing.
 */
function bearerMatches(header: string | string[] | undefined, expected: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  if (!m) return false;
  const given = createHash('sha256').update(m[1]!).digest();
  const wanted = createHash('sha256').update(expected).digest();
  return timingSafeEqual(given, wanted);
}

function isOutcome(v: unknown): v is ReloadOutcome {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { ok?: unknown }).ok === 'boolean' &&
    ((v as { status?: unknown }).status === 'reloaded' || (v as { status?: unknown }).status === 'failed')
  );
}
