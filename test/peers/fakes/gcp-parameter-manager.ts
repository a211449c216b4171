/**
 * FAKE — not Google's service. A small in-memory stand-in for the GCP Parameter Manager v1 REST API,
 * written from the official reference (`google/cloud/parametermanager/v1/service.proto` as shipped
 * in `@google-cloud/parametermanager`, and the REST reference pages for `projects.locations.
 * parameters` and `.versions`), because no Parameter Manager emulator exists. It serves exactly the
 * HTTP bindings of the proto, with the official JSON field names, on 127.0.0.1 over plain HTTP, so
 * the official Node client reaches it through google-gax's REST transport.
 *
 * Documented behaviour it reproduces: resource names `projects/P/locations/L/parameters/ID/versions/VID`;
 * `parameterId` / `parameterVersionId` / `requestId` / `updateMask` as query parameters; `format`
 * UNFORMATTED by default and immutable; a disabled version never returns its payload (even with view
 * FULL) and cannot be rendered; a parameter with versions cannot be deleted; `requestId` replays.
 * Assumptions (not stated by the reference): ids match `[A-Za-z0-9_-]{1,63}`; payloads up to 1 MiB;
 * lists in creation order; render of a disabled version is FAILED_PRECONDITION; filters support only
 * `labels.KEY="VALUE"` terms joined by AND (anything else is INVALID_ARGUMENT, so a store using
 * another filter notices). No IAM, KMS, regions' endpoints or secret references in `render`.
 */
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ParameterManagerClient } from '@google-cloud/parametermanager';

type ClientOptions = NonNullable<ConstructorParameters<typeof ParameterManagerClient>[0]>;

interface Version {
  name: string;
  createTime: string;
  updateTime: string;
  disabled: boolean;
  data: Buffer;
}
interface Parameter {
  name: string;
  createTime: string;
  updateTime: string;
  labels: Record<string, string>;
  format: string;
  versions: Map<string, Version>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

export interface Fault {
  /** HTTP method and a path regexp the fault applies to (default: any). */
  method?: string;
  path?: RegExp;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Serve the request first, then answer with the error (a lost response). */
  afterServing?: boolean;
  /** `google.rpc.RetryInfo.retryDelay`, e.g. "0.05s". */
  retryDelay?: string;
}

export interface FakeParameterManager {
  /** `http://127.0.0.1:PORT`: the value for SMC_GCP_PARAMETER_MANAGER_ENDPOINT. */
  endpoint: string;
  /** Options for `new ParameterManagerClient(...)`: REST over http, no credentials. */
  clientOptions: ClientOptions;
  client(): ParameterManagerClient;
  /** Every request served, in order (no bodies). */
  requests: FakeRequest[];
  inject(fault: Fault): void;
  reset(): void;
  stop(): Promise<void>;
}

const ID = /^[A-Za-z0-9_-]{1,63}$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const MAX_PAYLOAD = 1024 * 1024;
const FORMATS = ['PARAMETER_FORMAT_UNSPECIFIED', 'UNFORMATTED', 'YAML', 'JSON'];
const HTTP_BY_STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
};
/** For injected faults: the usual status for each HTTP code (400 is INVALID_ARGUMENT, the first listed). */
const STATUS_BY_HTTP: Record<number, string> = Object.fromEntries(
  Object.entries(HTTP_BY_STATUS)
    .reverse()
    .map(([s, h]) => [h, s]),
);

class ApiError extends Error {
  constructor(
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeParameterManager(): Promise<FakeParameterManager> {
  let params = new Map<string, Parameter>(); // by full parameter name
  let replays = new Map<string, unknown>();
  const faults: Fault[] = [];
  const requests: FakeRequest[] = [];
  let clock = 0;
  const now = () => {
    // Strictly increasing timestamps with nanosecond digits, as the real API reports them.
    const ms = Date.now();
    clock = Math.max(clock + 1, ms * 1000);
    const iso = new Date(Math.floor(clock / 1000)).toISOString().slice(0, 19);
    return `${iso}.${String(clock % 1_000_000).padStart(6, '0')}000Z`;
  };

  const paramJson = (p: Parameter) => ({
    name: p.name,
    createTime: p.createTime,
    updateTime: p.updateTime,
    labels: p.labels,
    format: p.format,
    policyMember: {},
  });
  const versionJson = (v: Version, full: boolean) => ({
    name: v.name,
    createTime: v.createTime,
    updateTime: v.updateTime,
    disabled: v.disabled,
    ...(full && !v.disabled ? { payload: { data: v.data.toString('base64') } } : {}),
  });
  const getParam = (name: string) => {
    const p = params.get(name);
    if (!p) throw new ApiError('NOT_FOUND', `Parameter [${name}] not found.`);
    return p;
  };
  const getVersion = (name: string) => {
    const at = name.lastIndexOf('/versions/');
    const v = getParam(name.slice(0, at)).versions.get(name.slice(at + 10));
    if (!v) throw new ApiError('NOT_FOUND', `ParameterVersion [${name}] not found.`);
    return v;
  };
  const checkLabels = (labels: unknown): Record<string, string> => {
    const l = (labels ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(l)) {
      if (!LABEL_KEY.test(k) || typeof v !== 'string' || !LABEL_VALUE.test(v)) {
        throw new ApiError('INVALID_ARGUMENT', `invalid label ${k}`);
      }
    }
    return { ...l };
  };
  const page = <T>(items: T[], q: Record<string, string>, key: string) => {
    const start = Number(q.pageToken || 0);
    const size = Math.min(Number(q.pageSize || 100) || 100, 1000);
    const next = start + size < items.length ? String(start + size) : undefined;
    return { [key]: items.slice(start, start + size), ...(next ? { nextPageToken: next } : {}) };
  };
  const matches = (labels: Record<string, string>, filter: string | undefined) => {
    if (!filter) return true;
    return filter.split(/\s+AND\s+/).every((term) => {
      const m = /^labels\.([a-z][a-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([a-z0-9_-]*))$/.exec(term.trim());
      if (!m) throw new ApiError('INVALID_ARGUMENT', 'fake: unsupported filter');
      return labels[m[1] as string] === (m[2] ?? m[3]);
    });
  };
  const replay = (q: Record<string, string>, make: () => unknown) => {
    const key = q.requestId;
    if (key && replays.has(key)) return replays.get(key);
    const out = make();
    if (key) replays.set(key, out);
    return out;
  };

  type Handler = (m: string[], q: Record<string, string>, body: Record<string, unknown>) => unknown;
  const P = '/v1/(projects/[^/]+/locations/[^/]+)';
  const routes: [string, RegExp, Handler][] = [
    [
      'GET',
      new RegExp(`^${P}/parameters$`),
      ([loc], q) => {
        const all = [...params.values()].filter((p) => p.name.startsWith(`${loc}/parameters/`));
        return page(all.filter((p) => matches(p.labels, q.filter)).map(paramJson), q, 'parameters');
      },
    ],
    [
      'POST',
      new RegExp(`^${P}/parameters$`),
      ([loc], q, body) =>
        replay(q, () => {
          const id = q.parameterId ?? '';
          if (!ID.test(id)) throw new ApiError('INVALID_ARGUMENT', 'invalid parameter id');
          const name = `${loc}/parameters/${id}`;
          if (params.has(name)) throw new ApiError('ALREADY_EXISTS', `Parameter [${name}] already exists.`);
          const f = body.format ?? 'UNFORMATTED';
          const format = typeof f === 'number' ? FORMATS[f] : String(f);
          if (!format || !FORMATS.includes(format)) throw new ApiError('INVALID_ARGUMENT', 'invalid format');
          const t = now();
          const p: Parameter = {
            name,
            createTime: t,
            updateTime: t,
            labels: checkLabels(body.labels),
            format: format === 'PARAMETER_FORMAT_UNSPECIFIED' ? 'UNFORMATTED' : format,
            versions: new Map(),
          };
          params.set(name, p);
          return paramJson(p);
        }),
    ],
    [
      'GET',
      new RegExp(`^${P}/parameters/([^/:]+)$`),
      ([loc, id]) => paramJson(getParam(`${loc}/parameters/${id}`)),
    ],
    [
      'PATCH',
      new RegExp(`^${P}/parameters/([^/:]+)$`),
      ([loc, id], q, body) => {
        const p = getParam(`${loc}/parameters/${id}`);
        const mask = (q.updateMask ?? '').split(',').filter(Boolean);
        for (const field of mask.length ? mask : Object.keys(body).filter((k) => k !== 'name')) {
          if (field === 'labels') p.labels = checkLabels(body.labels);
          else if (field === 'format') throw new ApiError('INVALID_ARGUMENT', 'format is immutable');
          else throw new ApiError('INVALID_ARGUMENT', `field ${field} cannot be updated`);
        }
        p.updateTime = now();
        return paramJson(p);
      },
    ],
    [
      'DELETE',
      new RegExp(`^${P}/parameters/([^/:]+)$`),
      ([loc, id]) => {
        const p = getParam(`${loc}/parameters/${id}`);
        if (p.versions.size > 0) throw new ApiError('FAILED_PRECONDITION', 'Parameter has versions.');
        params.delete(p.name);
        return {};
      },
    ],
    [
      'GET',
      new RegExp(`^${P}/parameters/([^/:]+)/versions$`),
      ([loc, id], q) =>
        page(
          [...getParam(`${loc}/parameters/${id}`).versions.values()].map((v) => versionJson(v, false)),
          q,
          'parameterVersions',
        ),
    ],
    [
      'POST',
      new RegExp(`^${P}/parameters/([^/:]+)/versions$`),
      ([loc, id], q, body) =>
        replay(q, () => {
          const p = getParam(`${loc}/parameters/${id}`);
          const vid = q.parameterVersionId ?? '';
          if (!ID.test(vid)) throw new ApiError('INVALID_ARGUMENT', 'invalid parameter version id');
          if (p.versions.has(vid))
            throw new ApiError(
              'ALREADY_EXISTS',
              `ParameterVersion [${p.name}/versions/${vid}] already exists.`,
            );
          const payload = body.payload as { data?: string } | undefined;
          if (typeof payload?.data !== 'string')
            throw new ApiError('INVALID_ARGUMENT', 'payload is required');
          const data = Buffer.from(payload.data, 'base64');
          if (data.length > MAX_PAYLOAD)
            throw new ApiError('INVALID_ARGUMENT', 'payload is larger than 1 MiB');
          const t = now();
          const v: Version = {
            name: `${p.name}/versions/${vid}`,
            createTime: t,
            updateTime: t,
            disabled: body.disabled === true,
            data,
          };
          p.versions.set(vid, v);
          return versionJson(v, true);
        }),
    ],
    [
      'GET',
      new RegExp(`^${P}/parameters/([^/:]+)/versions/([^/:]+)$`),
      ([loc, id, vid], q) =>
        versionJson(
          getVersion(`${loc}/parameters/${id}/versions/${vid}`),
          q.view !== '1' && q.view !== 'BASIC',
        ),
    ],
    [
      'GET',
      new RegExp(`^${P}/parameters/([^/:]+)/versions/([^/:]+):render$`),
      ([loc, id, vid]) => {
        const v = getVersion(`${loc}/parameters/${id}/versions/${vid}`);
        if (v.disabled) throw new ApiError('FAILED_PRECONDITION', 'ParameterVersion is disabled.');
        const data = v.data.toString('base64');
        return { parameterVersion: v.name, payload: { data }, renderedPayload: data };
      },
    ],
    [
      'PATCH',
      new RegExp(`^${P}/parameters/([^/:]+)/versions/([^/:]+)$`),
      ([loc, id, vid], q, body) => {
        const v = getVersion(`${loc}/parameters/${id}/versions/${vid}`);
        const mask = (q.updateMask ?? '').split(',').filter(Boolean);
        for (const field of mask.length ? mask : Object.keys(body).filter((k) => k !== 'name')) {
          if (field === 'disabled') v.disabled = body.disabled === true;
          else throw new ApiError('INVALID_ARGUMENT', `field ${field} cannot be updated`);
        }
        v.updateTime = now();
        return versionJson(v, false);
      },
    ],
    [
      'DELETE',
      new RegExp(`^${P}/parameters/([^/:]+)/versions/([^/:]+)$`),
      ([loc, id, vid]) => {
        const v = getVersion(`${loc}/parameters/${id}/versions/${vid}`);
        getParam(`${loc}/parameters/${id}`).versions.delete(v.name.slice(v.name.lastIndexOf('/') + 1));
        return {};
      },
    ],
  ];

  const send = (res: ServerResponse, code: number, json: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(json));
  };
  const sendError = (res: ServerResponse, status: string, message: string, extra: object[] = []) =>
    send(res, HTTP_BY_STATUS[status] ?? 500, {
      error: { code: HTTP_BY_STATUS[status] ?? 500, message, status, details: extra },
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests.push({ method, path, query });
    const fault = faults.find((f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)));
    if (fault && (fault.times = (fault.times ?? 1) - 1) <= 0) faults.splice(faults.indexOf(fault), 1);
    const fail = () => {
      const status = STATUS_BY_HTTP[fault!.status] ?? 'UNAVAILABLE';
      const details = fault!.retryDelay
        ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: fault!.retryDelay }]
        : [];
      sendError(res, status, `fake: injected ${fault!.status}`, details);
    };
    if (fault && !fault.afterServing) return fail();
    const route = routes.find(([m, re]) => m === method && re.test(path));
    try {
      if (!route) throw new ApiError('NOT_FOUND', `fake: no route for ${method} ${path}`);
      const body = chunks.length
        ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
        : {};
      const out = route[2]((route[1].exec(path) ?? []).slice(1), query, body);
      if (fault) return fail();
      send(res, 200, out);
    } catch (e) {
      if (e instanceof ApiError) sendError(res, e.status, e.message);
      else sendError(res, 'INTERNAL', 'fake: internal error');
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const requireFromPm = createRequire(import.meta.resolve('@google-cloud/parametermanager'));
  const { PassThroughClient } = requireFromPm('google-auth-library') as {
    PassThroughClient: new () => NonNullable<ClientOptions['authClient']>;
  };
  const clientOptions: ClientOptions = {
    apiEndpoint: '127.0.0.1',
    port,
    protocol: 'http',
    fallback: true,
    authClient: new PassThroughClient(),
    universeDomain: 'googleapis.com',
  };
  const clients: ParameterManagerClient[] = [];
  return {
    endpoint: `http://127.0.0.1:${port}`,
    clientOptions,
    client() {
      const c = new ParameterManagerClient(clientOptions);
      clients.push(c);
      return c;
    },
    requests,
    inject: (fault) => void faults.push({ ...fault }),
    reset() {
      params = new Map();
      replays = new Map();
      faults.length = 0;
      requests.length = 0;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
