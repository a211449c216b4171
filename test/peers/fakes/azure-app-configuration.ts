/**
 * FAKE — not Microsoft's service. A small in-memory stand-in for the Azure App Configuration
 * key-value data plane, because no App Configuration emulator can be installed here. Written from the
 * App Configuration REST reference (api-version 2026-04-01, the one `@azure/app-configuration` 1.13
 * sends), over HTTPS on 127.0.0.1 with a certificate made per start (clients trust it per client:
 * `tlsOptions: { ca }`).
 *
 * Reproduced:
 * - Auth: HMAC-SHA256 as the service checks it (the connection string's `Id` and base64 `Secret`):
 *   `Authorization: HMAC-SHA256 Credential=<id>&SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<sig>`
 *   over `VERB\npath?query\n<x-ms-date>;<host>;<x-ms-content-sha256>`, the content hash checked against
 *   the body and the date within 15 minutes; otherwise `401` with `WWW-Authenticate: HMAC-SHA256`.
 *   Any `Bearer` token is accepted too (for a client with a TokenCredential).
 * - `GET/PUT/DELETE /kv/{key}?label=` (no label = the null label), `If-Match` / `If-None-Match`
 *   (`*` or an etag) → `412`, `GET /kv?key=&label=&tags=` (key filter: exact, `prefix*`, `a,b`; label
 *   filter: exact, `*`, `\0` for the null label, absent = any label; every `tags=name=value` must
 *   match) with pages of `PAGE` items, `@nextLink` in the body and a `Link: <…>; rel="next"` header,
 *   `PUT/DELETE /locks/{key}` (a locked key-value refuses PUT/DELETE with `409`).
 * - The 10 KB limit on key, label, content type, tags and value together (`413`); keys `.`/`..` and
 *   keys with `%` refused (`400`). Errors are `application/problem+json` (`type`, `title`, `status`).
 * Not reproduced: revisions, snapshots, feature flags, labels/keys listings, sync tokens, `$Select`,
 * `Accept-Datetime`, escaping of `*`/`,`/`\` in filters, rate limits (see `fault`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from './self-signed.js';

export const FAKE_APPCONFIG_API_VERSION = '2026-04-01';
const MAX_KV_BYTES = 10 * 1024;
const PAGE = 10;
const CLOCK_SKEW_MS = 15 * 60 * 1000;

interface KeyValue {
  key: string;
  label: string | null;
  /** Null when the key-value holds no value. */
  value: string | null;
  contentType?: string;
  tags: Record<string, string>;
  locked: boolean;
  etag: string;
  lastModified: string;
}

export interface FakeAppConfigRequest {
  method: string;
  /** Path without the query, e.g. `/kv/app:prod:DB`. */
  path: string;
  status: number;
  authorized: boolean;
  userAgent: string;
}

export interface AppConfigFault {
  method?: string;
  path?: RegExp;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Serve the request first, then answer with the error (a lost response). */
  afterServing?: boolean;
  /** `Retry-After` header, in seconds. */
  retryAfter?: string;
  /** Run before the request is served (e.g. a concurrent writer changing the key-value). */
  before?: () => void;
}

export interface FakeAppConfig {
  /** `https://127.0.0.1:<port>` */
  endpoint: string;
  /** PEM of the self-signed serving certificate (trust it per client). */
  caPem: string;
  /** `Endpoint=…;Id=…;Secret=…` accepted by the fake. */
  connectionString: string;
  /** Same endpoint and id with a wrong secret (signatures fail). */
  badConnectionString: string;
  requests: FakeAppConfigRequest[];
  fault(f: AppConfigFault): void;
  /** Direct view and manipulation of the state, bypassing the HTTP API. */
  get(key: string, label?: string | null): Readonly<KeyValue> | undefined;
  /** Change a key-value out of band (a concurrent writer): new etag. */
  poke(key: string, label: string | null, change: Partial<Pick<KeyValue, 'value' | 'tags'>>): void;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function bytes(s: string | null | undefined): number {
  return s ? Buffer.byteLength(s, 'utf8') : 0;
}

function kvSize(kv: Pick<KeyValue, 'key' | 'label' | 'value' | 'contentType' | 'tags'>): number {
  let n = bytes(kv.key) + bytes(kv.label) + bytes(kv.value) + bytes(kv.contentType);
  for (const [k, v] of Object.entries(kv.tags)) n += bytes(k) + bytes(v);
  return n;
}

const id = (key: string, label: string | null) =>
  `${key}\u0000${label ?? ''}\u0000${label === null ? 'n' : 'l'}`;

function matchesKeyFilter(key: string, filter: string | null): boolean {
  if (filter === null || filter === '' || filter === '*') return true;
  return filter.split(',').some((f) => (f.endsWith('*') ? key.startsWith(f.slice(0, -1)) : key === f));
}

function matchesLabelFilter(label: string | null, filter: string | null): boolean {
  if (filter === null || filter === '*') return true;
  return filter.split(',').some((f) => {
    if (f === '\0' || f === '') return label === null;
    if (f.endsWith('*')) return label !== null && label.startsWith(f.slice(0, -1));
    return label === f;
  });
}

export async function startFakeAppConfig(): Promise<FakeAppConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'smc-fake-appconfig-'));
  const { key: tlsKey, cert } = await selfSignedCertificate(dir, 'fake-appconfig');
  const credentialId = `fake-${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(32).toString('base64');
  const store = new Map<string, KeyValue>();
  const faults: (AppConfigFault & { left: number })[] = [];
  const requests: FakeAppConfigRequest[] = [];
  let endpoint = '';

  const json = (kv: KeyValue) => ({
    etag: kv.etag,
    key: kv.key,
    label: kv.label,
    content_type: kv.contentType ?? null,
    value: kv.value,
    tags: kv.tags,
    locked: kv.locked,
    last_modified: kv.lastModified,
  });
  const newEtag = () => randomBytes(12).toString('base64url');

  function verifyHmac(req: IncomingMessage, pathAndQuery: string, body: Buffer): boolean {
    const auth = req.headers.authorization ?? '';
    const m = /^HMAC-SHA256 Credential=([^&]+)&SignedHeaders=([^&]+)&Signature=(.+)$/.exec(auth);
    if (!m || m[1] !== credentialId) return false;
    const signed = m[2]!.split(';');
    if (signed.join(';') !== 'x-ms-date;host;x-ms-content-sha256') return false;
    const date = String(req.headers['x-ms-date'] ?? '');
    const at = Date.parse(date);
    if (Number.isNaN(at) || Math.abs(Date.now() - at) > CLOCK_SKEW_MS) return false;
    const hash = createHash('sha256').update(body).digest('base64');
    if (req.headers['x-ms-content-sha256'] !== hash) return false;
    const toSign = `${req.method}\n${pathAndQuery}\n${date};${req.headers.host};${hash}`;
    const expected = createHmac('sha256', Buffer.from(secret, 'base64')).update(toSign).digest();
    const given = Buffer.from(m[3]!, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  function conditions(req: IncomingMessage, cur: KeyValue | undefined): void {
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const unq = (s: string) => s.replace(/^"|"$/g, '');
    if (ifMatch !== undefined) {
      if (!cur || (ifMatch !== '*' && unq(ifMatch) !== cur.etag)) throw new HttpError(412, '', '');
    }
    if (ifNoneMatch !== undefined && cur && (ifNoneMatch === '*' || unq(ifNoneMatch) === cur.etag)) {
      throw new HttpError(412, '', '');
    }
  }

  function route(
    req: IncomingMessage,
    url: URL,
    body: Buffer,
  ): { status: number; json?: unknown; headers?: Record<string, string> } {
    const method = req.method ?? 'GET';
    const segs = url.pathname.split('/').slice(1);
    const [root, ...rest] = segs;
    const label = url.searchParams.has('label') ? url.searchParams.get('label') || null : null;
    if (root === 'kv' && rest.length === 0 && method === 'GET') {
      const keyFilter = url.searchParams.get('key');
      const labelFilter = url.searchParams.get('label');
      const tagFilters = url.searchParams.getAll('tags').map((t) => {
        const i = t.indexOf('=');
        return [t.slice(0, i), t.slice(i + 1)] as const;
      });
      const all = [...store.values()]
        .filter(
          (kv) =>
            matchesKeyFilter(kv.key, keyFilter) &&
            matchesLabelFilter(kv.label, labelFilter) &&
            tagFilters.every(([k, v]) => kv.tags[k] === v),
        )
        .sort((a, b) => (id(a.key, a.label) < id(b.key, b.label) ? -1 : 1));
      const after = url.searchParams.get('after');
      const start = after ? Number(after) || 0 : 0;
      const items = all.slice(start, start + PAGE);
      const more = start + PAGE < all.length;
      const next = new URL(url.pathname + url.search, endpoint);
      next.searchParams.set('after', String(start + PAGE));
      const nextLink = `${next.pathname}${next.search}`;
      return {
        status: 200,
        json: { items: items.map(json), ...(more ? { '@nextLink': nextLink } : {}) },
        headers: more ? { link: `<${nextLink}>; rel="next"` } : {},
      };
    }
    if ((root === 'kv' || root === 'locks') && rest.length > 0) {
      const key = decodeURIComponent(rest.join('/'));
      if (key === '.' || key === '..' || key.includes('%')) {
        throw new HttpError(400, 'https://azconfig.io/errors/invalid-argument', 'Invalid key');
      }
      const cur = store.get(id(key, label));
      conditions(req, cur);
      if (root === 'locks') {
        if (!cur) throw new HttpError(404, '', '');
        if (method === 'PUT') cur.locked = true;
        else if (method === 'DELETE') cur.locked = false;
        else throw new HttpError(405, '', 'Method not allowed');
        cur.etag = newEtag();
        return { status: 200, json: json(cur) };
      }
      if (method === 'GET') {
        if (!cur) throw new HttpError(404, '', '');
        return { status: 200, json: json(cur), headers: { etag: `"${cur.etag}"` } };
      }
      if (method === 'PUT') {
        if (cur?.locked) {
          throw new HttpError(409, 'https://azconfig.io/errors/key-locked', 'The key-value is read-only');
        }
        let parsed: { value?: unknown; content_type?: unknown; tags?: unknown };
        try {
          parsed = body.length ? (JSON.parse(body.toString('utf8')) as typeof parsed) : {};
        } catch {
          throw new HttpError(400, 'https://azconfig.io/errors/invalid-argument', 'Invalid JSON');
        }
        const tags: Record<string, string> = {};
        if (parsed.tags && typeof parsed.tags === 'object') {
          for (const [k, v] of Object.entries(parsed.tags as Record<string, unknown>)) {
            if (typeof v === 'string') tags[k] = v;
          }
        }
        const next: KeyValue = {
          key,
          label,
          value: typeof parsed.value === 'string' ? parsed.value : null,
          ...(typeof parsed.content_type === 'string' ? { contentType: parsed.content_type } : {}),
          tags,
          locked: false,
          etag: newEtag(),
          lastModified: new Date().toISOString(),
        };
        if (kvSize(next) > MAX_KV_BYTES) {
          throw new HttpError(413, 'https://azconfig.io/errors/too-large', 'The key-value is too large');
        }
        store.set(id(key, label), next);
        return { status: 200, json: json(next), headers: { etag: `"${next.etag}"` } };
      }
      if (method === 'DELETE') {
        if (!cur) return { status: 204 };
        if (cur.locked) {
          throw new HttpError(409, 'https://azconfig.io/errors/key-locked', 'The key-value is read-only');
        }
        store.delete(id(key, label));
        return { status: 200, json: json(cur) };
      }
    }
    throw new HttpError(404, '', 'Not found');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const pathAndQuery = req.url ?? '/';
    const url = new URL(pathAndQuery, endpoint);
    const method = req.method ?? 'GET';
    const bearer = /^Bearer \S+/.test(req.headers.authorization ?? '');
    const authorized = bearer || verifyHmac(req, pathAndQuery, body);
    const log: FakeAppConfigRequest = {
      method,
      path: url.pathname,
      status: 0,
      authorized,
      userAgent: req.headers['user-agent'] ?? '',
    };
    requests.push(log);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      const text = payload === undefined ? '' : JSON.stringify(payload);
      res.writeHead(status, {
        ...(text
          ? {
              'content-type':
                status >= 400
                  ? 'application/problem+json; charset=utf-8'
                  : 'application/vnd.microsoft.appconfig.kv+json; charset=utf-8',
            }
          : {}),
        ...headers,
      });
      res.end(text);
    };
    const sendError = (e: HttpError, headers: Record<string, string> = {}) =>
      send(
        e.status,
        e.type || e.message ? { type: e.type, title: e.message, status: e.status } : undefined,
        headers,
      );
    try {
      if (!authorized) {
        sendError(new HttpError(401, '', ''), {
          'www-authenticate':
            'HMAC-SHA256, Bearer error="invalid_token", error_description="Invalid signature"',
        });
        return;
      }
      if (url.searchParams.get('api-version') === null) {
        sendError(
          new HttpError(400, 'https://azconfig.io/errors/invalid-argument', 'api-version is required'),
        );
        return;
      }
      const fault = faults.find(
        (f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(url.pathname)),
      );
      if (fault) {
        fault.left--;
        fault.before?.();
      }
      const faultHeaders: Record<string, string> = fault?.retryAfter
        ? { 'retry-after': fault.retryAfter }
        : {};
      if (fault && !fault.afterServing) {
        sendError(new HttpError(fault.status, '', 'Fault injected'), faultHeaders);
        return;
      }
      const out = route(req, url, body);
      if (fault) {
        sendError(new HttpError(fault.status, '', 'Fault injected'), faultHeaders);
        return;
      }
      send(out.status, out.json, out.headers);
    } catch (e) {
      if (e instanceof HttpError) sendError(e);
      else sendError(new HttpError(500, '', 'fake: unexpected failure'));
    }
  }

  const server = createServer({ key: tlsKey, cert }, (req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    caPem: cert,
    connectionString: `Endpoint=${endpoint};Id=${credentialId};Secret=${secret}`,
    badConnectionString: `Endpoint=${endpoint};Id=${credentialId};Secret=${randomBytes(32).toString('base64')}`,
    requests,
    fault(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    get(key, label = null) {
      return store.get(id(key, label));
    },
    poke(key, label, change) {
      const kv = store.get(id(key, label));
      if (!kv) throw new Error(`fake: no key-value ${key}`);
      if (change.value !== undefined) kv.value = change.value;
      if (change.tags !== undefined) kv.tags = { ...change.tags };
      kv.etag = newEtag();
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
