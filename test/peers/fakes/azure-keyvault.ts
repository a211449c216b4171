/**
 * FAKE — not Microsoft's service. A small in-memory stand-in for the Azure Key Vault *secrets* data
 * plane, because no Key Vault emulator can be installed here (see docs/testing.md). Written from the
 * Key Vault REST reference (api-version 2026-04-01, the one `@azure/keyvault-secrets` 4.12 sends) and
 * the service's documented and observed answers, over HTTPS on 127.0.0.1 with a certificate made per
 * start (clients trust it per client: `tlsOptions: { ca }` or `SMC_AZURE_KEYVAULT_CA_FILE`).
 *
 * Reproduced:
 * - Auth: a request without `Authorization: Bearer …` gets `401` with
 *   `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
 *   resource="https://vault.azure.net"` (the challenge the SDK answers); any bearer token is accepted.
 * - `PUT /secrets/{name}` (SetSecret: a new version; `attributes.enabled`, `tags`, `contentType`),
 *   `GET /secrets/{name}[/{version}]`, `PATCH /secrets/{name}/{version}` (UpdateSecret; an empty
 *   version is the latest, as the Python SDK sends it), `GET /secrets` and
 *   `GET /secrets/{name}/versions` with `maxresults` (≤ 25) and `nextLink`,
 *   `DELETE /secrets/{name}` (soft delete → `/deletedsecrets/{name}`), `GET /deletedsecrets[/{name}]`,
 *   `POST /deletedsecrets/{name}/recover`, `DELETE /deletedsecrets/{name}` (purge, 204).
 * - Names `[0-9A-Za-z-]{1,127}`, case-insensitive (the case of creation is kept); tags and attributes
 *   belong to a version, and list items show the latest version's; values up to 25 KiB.
 * - Errors as the service sends them: `{"error":{"code","message","innererror":{"code"}}}` — a
 *   disabled version's GET is `403 Forbidden` / `SecretDisabled` ("Operation get is not allowed on a
 *   disabled secret."); SetSecret on a soft-deleted name is `409 Conflict` /
 *   `ObjectIsDeletedButRecoverable`; unknown names `404 SecretNotFound`.
 * Not reproduced: access policies / RBAC (see `denyAll`), purge protection, recovery delays (delete
 * and recover take effect at once), expiry (`nbf`/`exp` stored, not enforced), certificates-backed
 * secrets, backup/restore, CAE challenges.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from './self-signed.js';

export const FAKE_KEYVAULT_API_VERSION = '2026-04-01';
const TENANT = '00000000-0000-0000-0000-000000000000';
const MAX_VALUE_BYTES = 25 * 1024;
const PAGE_MAX = 25;
const NAME = /^[0-9A-Za-z-]{1,127}$/;

interface Version {
  id: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  tags?: Record<string, string>;
  created: number;
  updated: number;
}
interface Secret {
  name: string;
  /** Oldest first; the last one is the latest. */
  versions: Version[];
}
interface Deleted {
  secret: Secret;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface FakeKeyVaultRequest {
  method: string;
  /** Path without the query, e.g. `/secrets/db-url`. */
  path: string;
  status: number;
  authorized: boolean;
  userAgent: string;
}

export interface KeyVaultFault {
  method?: string;
  path?: RegExp;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Serve the request first, then answer with the error (a lost response). */
  afterServing?: boolean;
  /** `Retry-After` header, in seconds. */
  retryAfter?: string;
}

export interface FakeKeyVault {
  /** `https://127.0.0.1:<port>/` */
  vaultUrl: string;
  /** PEM of the self-signed serving certificate (trust it per client). */
  caPem: string;
  /** The same PEM in a file, for `SMC_AZURE_KEYVAULT_CA_FILE`. */
  caFile: string;
  /** Every request, in order (no bodies). */
  requests: FakeKeyVaultRequest[];
  /** Fail matching requests with an error status (throttling, 5xx, lost responses). */
  fault(f: KeyVaultFault): void;
  /** Answer every authorized request with 403 (an identity without access), or stop doing so. */
  denyAll: boolean;
  /** Direct view of the state, for assertions: version count of a live secret (undefined if none). */
  versionCount(name: string): number | undefined;
  isSoftDeleted(name: string): boolean;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

const now = () => Math.floor(Date.now() / 1000);
const newVersionId = () => randomBytes(16).toString('hex');

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BadParameter', 'The request body is not valid JSON.');
  }
}

export async function startFakeKeyVault(): Promise<FakeKeyVault> {
  const dir = await mkdtemp(join(tmpdir(), 'smc-fake-keyvault-'));
  const { key, cert, certFile } = await selfSignedCertificate(dir, 'fake-keyvault');
  const live = new Map<string, Secret>();
  const deleted = new Map<string, Deleted>();
  const faults: (KeyVaultFault & { left: number })[] = [];
  const requests: FakeKeyVaultRequest[] = [];
  let base = '';

  const secretUrl = (s: Secret, v?: Version) => `${base}secrets/${s.name}${v ? `/${v.id}` : ''}`;
  const attributes = (v: Version) => ({
    enabled: v.enabled,
    ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
    ...(v.exp !== undefined ? { exp: v.exp } : {}),
    created: v.created,
    updated: v.updated,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });
  const latest = (s: Secret) => s.versions[s.versions.length - 1]!;
  const bundle = (s: Secret, v: Version, withValue: boolean) => ({
    ...(withValue ? { value: v.value } : {}),
    id: secretUrl(s, v),
    attributes: attributes(v),
    ...(v.tags ? { tags: v.tags } : {}),
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
  });
  const item = (s: Secret, v: Version, withVersion: boolean) => ({
    id: secretUrl(s, withVersion ? v : undefined),
    attributes: attributes(v),
    ...(v.tags ? { tags: v.tags } : {}),
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
  });
  const deletedBundle = (d: Deleted) => ({
    ...bundle(d.secret, latest(d.secret), false),
    recoveryId: `${base}deletedsecrets/${d.secret.name}`,
    deletedDate: d.deletedDate,
    scheduledPurgeDate: d.scheduledPurgeDate,
  });
  const deletedItem = (d: Deleted) => ({
    ...item(d.secret, latest(d.secret), false),
    recoveryId: `${base}deletedsecrets/${d.secret.name}`,
    deletedDate: d.deletedDate,
    scheduledPurgeDate: d.scheduledPurgeDate,
  });

  const notFound = (name: string) =>
    new HttpError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`);
  const checkName = (name: string) => {
    if (!NAME.test(name)) {
      throw new HttpError(
        400,
        'BadParameter',
        "The request URI contains an invalid name: the name must be 1-127 characters of '0-9', 'a-z', 'A-Z' and '-'.",
      );
    }
  };
  const liveSecret = (name: string) => {
    const s = live.get(name.toLowerCase());
    if (!s) throw notFound(name);
    return s;
  };
  const versionOf = (s: Secret, version: string) => {
    if (version === '') return latest(s);
    const v = s.versions.find((x) => x.id === version);
    if (!v) throw notFound(`${s.name}/${version}`);
    return v;
  };

  function page<T>(all: T[], url: URL, path: string): { value: T[]; nextLink: string | null } {
    const max = Math.min(PAGE_MAX, Math.max(1, Number(url.searchParams.get('maxresults') ?? PAGE_MAX) || 1));
    const skip = Number(url.searchParams.get('$skiptoken') ?? '0') || 0;
    const value = all.slice(skip, skip + max);
    const more = skip + max < all.length;
    const next = `${base}${path.replace(/^\//, '')}?api-version=${url.searchParams.get('api-version')}&$skiptoken=${skip + max}&maxresults=${max}`;
    return { value, nextLink: more ? next : null };
  }

  function setSecret(name: string, body: unknown): unknown {
    checkName(name);
    const b = (body ?? {}) as {
      value?: unknown;
      tags?: Record<string, string>;
      contentType?: string;
      attributes?: { enabled?: boolean; nbf?: number; exp?: number };
    };
    if (typeof b.value !== 'string') throw new HttpError(400, 'BadParameter', 'Property value is required.');
    if (Buffer.byteLength(b.value, 'utf8') > MAX_VALUE_BYTES) {
      throw new HttpError(400, 'BadParameter', 'The secret value exceeds the maximum allowed size.');
    }
    if (deleted.has(name.toLowerCase())) {
      throw new HttpError(
        409,
        'Conflict',
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    let s = live.get(name.toLowerCase());
    if (!s) {
      s = { name, versions: [] };
      live.set(name.toLowerCase(), s);
    }
    const t = now();
    const v: Version = {
      id: newVersionId(),
      value: b.value,
      enabled: b.attributes?.enabled ?? true,
      created: t,
      updated: t,
      ...(b.contentType !== undefined ? { contentType: b.contentType } : {}),
      ...(b.tags ? { tags: { ...b.tags } } : {}),
      ...(b.attributes?.nbf !== undefined ? { nbf: b.attributes.nbf } : {}),
      ...(b.attributes?.exp !== undefined ? { exp: b.attributes.exp } : {}),
    };
    s.versions.push(v);
    return bundle(s, v, true);
  }

  function route(method: string, path: string, url: URL, body: unknown): { status: number; json?: unknown } {
    const parts = path.split('/').slice(1).map(decodeURIComponent); // '/secrets/a/b' → ['secrets','a','b']
    const [root, name, third, fourth] = parts;
    if (root === 'secrets') {
      if (name === undefined || name === '') {
        if (method !== 'GET') throw new HttpError(405, 'BadParameter', 'Method not allowed.');
        const all = [...live.values()].map((s) => item(s, latest(s), false));
        return { status: 200, json: page(all, url, '/secrets') };
      }
      if (third === 'versions' && fourth === undefined && method === 'GET') {
        const s = liveSecret(name);
        const all = s.versions.map((v) => item(s, v, true));
        return { status: 200, json: page(all, url, `/secrets/${s.name}/versions`) };
      }
      if (method === 'PUT' && third === undefined) return { status: 200, json: setSecret(name, body) };
      if (method === 'GET' && (third === undefined || fourth === undefined)) {
        const s = liveSecret(name);
        const v = versionOf(s, third ?? '');
        if (!v.enabled) {
          throw new HttpError(
            403,
            'Forbidden',
            'Operation get is not allowed on a disabled secret.',
            'SecretDisabled',
          );
        }
        return { status: 200, json: bundle(s, v, true) };
      }
      if (method === 'PATCH' && fourth === undefined) {
        const s = liveSecret(name);
        const v = versionOf(s, third ?? '');
        const b = (body ?? {}) as {
          tags?: Record<string, string>;
          contentType?: string;
          attributes?: { enabled?: boolean; nbf?: number; exp?: number };
        };
        if (b.attributes?.enabled !== undefined) v.enabled = b.attributes.enabled;
        if (b.attributes?.nbf !== undefined) v.nbf = b.attributes.nbf;
        if (b.attributes?.exp !== undefined) v.exp = b.attributes.exp;
        if (b.tags !== undefined) v.tags = { ...b.tags };
        if (b.contentType !== undefined) v.contentType = b.contentType;
        v.updated = now();
        return { status: 200, json: bundle(s, v, false) };
      }
      if (method === 'DELETE' && third === undefined) {
        const s = liveSecret(name);
        live.delete(name.toLowerCase());
        const t = now();
        const d: Deleted = { secret: s, deletedDate: t, scheduledPurgeDate: t + 90 * 86400 };
        deleted.set(name.toLowerCase(), d);
        return { status: 200, json: deletedBundle(d) };
      }
    }
    if (root === 'deletedsecrets') {
      if ((name === undefined || name === '') && method === 'GET') {
        return { status: 200, json: page([...deleted.values()].map(deletedItem), url, '/deletedsecrets') };
      }
      const d = name ? deleted.get(name.toLowerCase()) : undefined;
      const missing = () => new HttpError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
      if (method === 'GET' && third === undefined) {
        if (!d) throw missing();
        return { status: 200, json: deletedBundle(d) };
      }
      if (method === 'POST' && third === 'recover') {
        if (!d) throw missing();
        deleted.delete(name!.toLowerCase());
        live.set(name!.toLowerCase(), d.secret);
        return { status: 200, json: bundle(d.secret, latest(d.secret), false) };
      }
      if (method === 'DELETE' && third === undefined) {
        if (!d) throw missing();
        deleted.delete(name!.toLowerCase());
        return { status: 204 };
      }
    }
    throw new HttpError(404, 'NotFound', 'The requested resource was not found.');
  }

  const state = { denyAll: false };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const authorized = /^Bearer \S+/.test(req.headers.authorization ?? '');
    const log: FakeKeyVaultRequest = {
      method,
      path,
      status: 0,
      authorized,
      userAgent: req.headers['user-agent'] ?? '',
    };
    requests.push(log);
    const send = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      const payload = json === undefined ? '' : JSON.stringify(json);
      res.writeHead(status, {
        ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        'x-ms-keyvault-service-version': 'fake',
        ...headers,
      });
      res.end(payload);
    };
    const sendError = (e: HttpError, headers: Record<string, string> = {}) =>
      send(
        e.status,
        {
          error: { code: e.code, message: e.message, ...(e.inner ? { innererror: { code: e.inner } } : {}) },
        },
        headers,
      );
    try {
      const body = await readBody(req);
      if (!authorized) {
        sendError(new HttpError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`,
        });
        return;
      }
      if (!url.searchParams.get('api-version')) {
        sendError(new HttpError(400, 'BadParameter', 'The api-version query parameter is required.'));
        return;
      }
      if (state.denyAll) {
        sendError(
          new HttpError(
            403,
            'Forbidden',
            'The user, group or application does not have secrets permission on this key vault.',
            'ForbiddenByPolicy',
          ),
        );
        return;
      }
      const fault = faults.find(
        (f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(path)),
      );
      if (fault) fault.left--;
      if (fault && !fault.afterServing) {
        sendError(faultError(fault), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
        return;
      }
      const out = route(method, path, url, body);
      if (fault) {
        sendError(faultError(fault), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
        return;
      }
      send(out.status, out.json);
    } catch (e) {
      if (e instanceof HttpError) sendError(e);
      else sendError(new HttpError(500, 'InternalError', 'fake: unexpected failure'));
    }
  }

  const server = createServer({ key, cert }, (req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  base = `https://127.0.0.1:${port}/`;

  return {
    vaultUrl: base,
    caPem: cert,
    caFile: certFile,
    requests,
    fault(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    get denyAll() {
      return state.denyAll;
    },
    set denyAll(v: boolean) {
      state.denyAll = v;
    },
    versionCount(name) {
      return live.get(name.toLowerCase())?.versions.length;
    },
    isSoftDeleted(name) {
      return deleted.has(name.toLowerCase());
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function faultError(f: KeyVaultFault): HttpError {
  if (f.status === 429) {
    return new HttpError(
      429,
      'Throttled',
      'Request was not processed because too many requests were received.',
    );
  }
  if (f.status >= 500)
    return new HttpError(f.status, 'InternalError', 'The service is unavailable (fault injected).');
  return new HttpError(f.status, 'Fault', 'Fault injected.');
}
