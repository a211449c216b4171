/**
 * How the controller's API clients send requests: `undici.request` on the shared connection,
 * through client-node's own extension point (`createConfiguration({ httpApi })`, the
 * `PromiseHttpLibrary` that `wrapHttpLibrary` adapts).
 *
 * Why: client-node's default library sends every call through undici's WHATWG `fetch` (web streams,
 * Headers and Response objects), which cost about twice the CPU of the request itself — measured on
 * the real apiserver, 4 at a time: a Secret read 0.63–0.85 ms of CPU with `fetch`, 0.39–0.49 ms
 * with `undici.request`. At a fleet's 3–8 requests per SMC pass that was a sixth of the
 * controller's CPU (docs/performance.md). Everything else — URLs, auth headers, the shared
 * dispatcher (src/controller/kube-client.ts), (de)serialisation and `ApiException` — stays
 * client-node's. Watches keep client-node's own `fetch` (a streamed body).
 *
 * Requests go over HTTP/1.1 (`allowH2: false`: undici's Agent keeps a separate keep-alive pool of
 * HTTP/1.1 connections for them), watches over the pool's one HTTP/2 connection. Node's HTTP/2
 * client costs more CPU per request: `npm run bench:kube-requests` (the real apiserver, both
 * protocols in one process, 2,000 requests per kind 4 or 8 at a time) measured 0.67–0.92× the
 * controller's CPU per request over HTTP/1.1, and 0.79–1.04× the apiserver's, that is no clear
 * change there (docs/performance.md). HTTP/1.1 needs a connection per request in flight: as many
 * as the controller runs at once (reconciles, the Secret poll), kept alive.
 */
import {
  type HttpLibrary,
  type RequestContext,
  ResponseContext,
  wrapHttpLibrary,
} from '../kube/client-node.js';
import { type Dispatcher, request } from 'undici';

type Method = Dispatcher.HttpMethod;

/**
 * undici's Agent reads `allowH2` from each dispatch too, and keeps HTTP/1.1-only connections apart
 * (`lib/dispatcher/agent.js`); its request types do not declare it. test/controller/kube-client.kube.test.ts
 * checks what the TLS handshake offers, so an undici release that stops honouring it fails there.
 */
const HTTP1_ONLY: object = { allowH2: false };

/**
 * The library; `http2: true` lets undici negotiate HTTP/2 for requests too (the baseline of
 * `npm run bench:kube-requests`, which measures the difference).
 */
export function createRequestHttpLibrary(options: { http2?: boolean } = {}): HttpLibrary {
  const protocol = options.http2 ? {} : HTTP1_ONLY;
  return wrapHttpLibrary({
    send: (req) => send(req, protocol),
  });
}

export const requestHttpLibrary: HttpLibrary = createRequestHttpLibrary();

async function send(req: RequestContext, protocol: object): Promise<ResponseContext> {
  const body = req.getBody();
  if (body !== undefined && typeof body !== 'string') {
    // Only multipart uploads (not used by the controller) send a FormData body.
    throw new Error('kube-http: only string request bodies are supported');
  }
  const res = await request(req.getUrl(), {
    method: req.getHttpMethod().toString() as Method,
    headers: req.getHeaders(),
    ...(body !== undefined ? { body } : {}),
    ...(req.getSignal() ? { signal: req.getSignal() } : {}),
    ...(req.getDispatcher() ? { dispatcher: req.getDispatcher() } : {}),
    ...protocol,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return new ResponseContext(res.statusCode, headers, {
    text: () => Promise.resolve(bytes.toString('utf8')),
    binary: () => Promise.resolve(bytes),
    stream: () => new Blob([bytes]).stream(),
  });
}
