/**
 * Contract targets for the GCP stores, plus the loopback proxy their tests put between the official
 * client and the peer.
 *
 * - Secret Manager runs against drongo (the real emulator process), reached through `GcpRestProxy`,
 *   which records every request (so calls are counted twice: by the store's observer and on the
 *   wire, and the two must agree) and injects Google-style faults. drongo has no regional secrets,
 *   so for the regional target the proxy also rewrites `projects/P/locations/L/secrets/...` to
 *   drongo's global paths and back: the store speaks the regional REST paths, drongo stores them.
 *   That rewrite is a small fake layer and is labelled as such.
 * - Parameter Manager runs against `test/peers/fakes/gcp-parameter-manager.ts` (a fake written from
 *   the API reference; no emulator exists).
 *
 * Both stores get their endpoint the way production does: from SMC_GCP_SECRET_MANAGER_ENDPOINT /
 * SMC_GCP_PARAMETER_MANAGER_ENDPOINT (an `http://` endpoint: REST fallback, no credentials).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParameterManagerClient } from '@google-cloud/parametermanager';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { ENDPOINT_ENV, type GcpService } from '../../../../src/stores/gcp/client-options.js';
import { GcpParameterManagerStore } from '../../../../src/stores/gcp/parameter-manager.js';
import { GcpSecretManagerStore } from '../../../../src/stores/gcp/secret-manager.js';
import type { RetryPolicy } from '../../../../src/stores/retry.js';
import type { ProviderCall, StoreObserver } from '../../../../src/stores/store.js';
import { ensurePeer, startGcpSecretManager, type GcpSecretManagerPeer } from '../../../peers/cloud/index.js';
import {
  startFakeParameterManager,
  type Fault,
  type FakeParameterManager,
} from '../../../peers/fakes/gcp-parameter-manager.js';
import type { OutOfBand, StoreTarget, StoreUnderTest } from '../target.js';

export type { Fault } from '../../../peers/fakes/gcp-parameter-manager.js';

/** Fast retries for tests (the policy's shape is what matters, not production's delays). */
export const FAST_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 50 };

export interface ProxiedRequest {
  method: string;
  /** Path as the client sent it (before any rewrite). */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body (test inspection only; may hold base64 payloads). */
  body?: Record<string, unknown>;
  outcome: 'forwarded' | 'fault' | 'fault-after-forward';
}

export interface GcpRestProxy {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  requests: ProxiedRequest[];
  inject(fault: Fault): void;
  /** Drop faults not used up yet. */
  clearFaults(): void;
  stop(): Promise<void>;
}

const STATUS_BY_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/**
 * A loopback proxy in front of a Google REST peer: records requests, injects faults answered in
 * Google's JSON error format (before forwarding, or after the peer did the work: a lost response),
 * and — with `regional` — is the FAKE regional layer described in the file header.
 */
export async function startGcpRestProxy(
  upstream: string,
  opts: { regional?: boolean } = {},
): Promise<GcpRestProxy> {
  const up = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const faults: Fault[] = [];
  const regionalPath = /^(\/v1\/projects\/[^/]+)\/locations\/([^/]+)(\/secrets.*)$/;

  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const method = req.method ?? 'GET';
      const path = decodeURIComponent(url.pathname);
      const record: ProxiedRequest = {
        method,
        path,
        query: Object.fromEntries(url.searchParams),
        outcome: 'forwarded',
      };
      if (body.length) record.body = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      requests.push(record);

      const fault = faults.find((f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)));
      if (fault && (fault.times = (fault.times ?? 1) - 1) <= 0) faults.splice(faults.indexOf(fault), 1);
      const fail = () => {
        const status = STATUS_BY_HTTP[fault!.status] ?? 'UNAVAILABLE';
        const details = fault!.retryDelay
          ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: fault!.retryDelay }]
          : [];
        const json = JSON.stringify({
          error: { code: fault!.status, message: 'injected by the test proxy', status, details },
        });
        res.writeHead(fault!.status, { 'content-type': 'application/json' }).end(json);
      };
      if (fault && !fault.afterServing) {
        record.outcome = 'fault';
        return fail();
      }

      let forwardPath = url.pathname + url.search;
      let location: string | undefined;
      const m = opts.regional ? regionalPath.exec(url.pathname) : null;
      if (m) {
        location = m[2];
        forwardPath = `${m[1]}${m[3]}${url.search}`;
      }
      const answer = await forward(up, req, forwardPath, body);
      if (fault) {
        record.outcome = 'fault-after-forward';
        return fail();
      }
      let text = answer.body.toString('utf8');
      if (location !== undefined) {
        text = text.replace(/"projects\/([^/"]+)\/secrets\//g, `"projects/$1/locations/${location}/secrets/`);
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    })().catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    inject: (fault) => void faults.push({ ...fault }),
    clearFaults: () => void faults.splice(0),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function forward(
  up: URL,
  req: http.IncomingMessage,
  path: string,
  body: Buffer,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: up.host, 'content-length': String(body.length) };
    delete headers.connection;
    const out = http.request(
      { host: up.hostname, port: up.port, method: req.method, path, headers, agent: false },
      (a) => {
        const parts: Buffer[] = [];
        a.on('data', (c: Buffer) => parts.push(c));
        a.on('end', () => resolve({ status: a.statusCode ?? 502, body: Buffer.concat(parts) }));
        a.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

/** Build a store with the endpoint taken from the documented environment variable, as production does. */
export function withEndpointEnv<T>(service: GcpService, endpoint: string, make: () => T): T {
  const key = ENDPOINT_ENV[service];
  const before = process.env[key];
  process.env[key] = endpoint;
  try {
    return make();
  } finally {
    if (before === undefined) delete process.env[key];
    else process.env[key] = before;
  }
}

/** Counts the observer's calls and checks them against the requests seen on the wire. */
function countedCalls(observer: StoreObserver | undefined, wire: () => { method: string }[]) {
  const seen: ProviderCall[] = [];
  let wireStart = 0;
  const agree = () => {
    const onWire = wire().slice(wireStart);
    const writes = onWire.filter((r) => r.method !== 'GET').length;
    const reads = onWire.length - writes;
    const w = seen.filter((c) => c.write).length;
    if (w !== writes || seen.length - w !== reads) {
      throw new Error(`observer saw ${w} writes / ${seen.length - w} reads, the wire ${writes} / ${reads}`);
    }
    return { writes: w, reads: seen.length - w };
  };
  const wrapped: StoreObserver = {
    onCall: (c) => {
      seen.push(c);
      observer?.onCall?.(c);
    },
    onThrottled: () => observer?.onThrottled?.(),
  };
  return {
    observer: wrapped,
    calls: {
      writes: () => agree().writes,
      reads: () => agree().reads,
      reset: () => {
        seen.length = 0;
        wireStart = wire().length;
      },
    },
  };
}

// ---- Secret Manager (drongo) ----

export interface GcpSecretManagerTargetOptions {
  /** Regional secrets in this location (through the proxy's regional rewrite). */
  location?: string;
}

export function gcpSecretManagerTarget(opts: GcpSecretManagerTargetOptions = {}): StoreTarget {
  return {
    name: opts.location ? `gcp-secret-manager (regional ${opts.location})` : 'gcp-secret-manager',
    async start() {
      process.env.METADATA_SERVER_DETECTION = 'none';
      await ensurePeer('gcp-sm-emulator');
      const peer = await startGcpSecretManager();
      const proxy = await startGcpRestProxy(`http://127.0.0.1:${peer.endpoint.port}`, {
        regional: opts.location !== undefined,
      });
      const sm = peer.client();
      const stores: GcpSecretManagerStore[] = [];
      return {
        async newStore({ observer }): Promise<StoreUnderTest> {
          const projectId = peer.newProject();
          const mine = () => proxy.requests.filter((r) => r.path.includes(`/projects/${projectId}/`));
          const counted = countedCalls(observer, mine);
          const store = withEndpointEnv(
            'secretmanager',
            proxy.endpoint,
            () =>
              new GcpSecretManagerStore({
                projectId,
                ...(opts.location ? { location: opts.location } : {}),
                environment: 'contract',
                observer: counted.observer,
                retryPolicy: FAST_RETRY,
              }),
          );
          stores.push(store);
          return { store, outOfBand: secretManagerOutOfBand(sm, projectId), calls: counted.calls };
        },
        async stop() {
          await Promise.allSettled(stores.map((s) => s.close()));
          await proxy.stop();
          await peer.stop();
        },
      };
    },
  };
}

/** Direct access to drongo (global paths: drongo has no regional ones; the proxy maps them). */
export function secretManagerOutOfBand(sm: SecretManagerServiceClient, projectId: string): OutOfBand {
  const name = (id: string) => `projects/${projectId}/secrets/${id}`;
  const exists = async (id: string) => {
    try {
      await sm.getSecret({ name: name(id) });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  };
  const versions = async (id: string) => (await sm.listSecretVersions({ parent: name(id) }))[0];
  return {
    async createUnmanaged(id, value) {
      await sm.createSecret({
        parent: `projects/${projectId}`,
        secretId: id,
        secret: { replication: { automatic: {} } },
      });
      await sm.addSecretVersion({ parent: name(id), payload: { data: Buffer.from(value) } });
    },
    async readValue(id) {
      try {
        const [res] = await sm.accessSecretVersion({ name: `${name(id)}/versions/latest` });
        return Buffer.from(res.payload?.data ?? '').toString('utf8');
      } catch (e) {
        if ([5, 9].includes((e as { code?: number }).code ?? -1)) return undefined;
        throw e;
      }
    },
    async isEnabled(id) {
      if (!(await exists(id))) return undefined;
      const live = (await versions(id)).filter((v) => v.state === 'ENABLED' || v.state === 'DISABLED');
      const newest = live.sort((a, b) => versionNumber(b.name) - versionNumber(a.name))[0];
      return newest?.state === 'ENABLED';
    },
    exists,
    async versionCount(id) {
      return (await versions(id)).length;
    },
    async setValue(id, value) {
      await sm.addSecretVersion({ parent: name(id), payload: { data: Buffer.from(value) } });
    },
  };
}

/** NOT_FOUND as google-gax 6 reports it (gRPC code 5) or as gax 5's REST transport does (HTTP 404). */
function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 5 || code === 404;
}

function versionNumber(name: string | null | undefined): number {
  return Number((name ?? '').split('/').pop());
}

// ---- Parameter Manager (fake) ----

export function gcpParameterManagerTarget(): StoreTarget {
  return {
    name: 'gcp-parameter-manager',
    fake: true,
    async start() {
      process.env.METADATA_SERVER_DETECTION = 'none';
      const fake = await startFakeParameterManager();
      // The store goes through the proxy (its requests are counted there); out-of-band calls do not.
      const proxy = await startGcpRestProxy(fake.endpoint);
      const pm = fake.client();
      const stores: GcpParameterManagerStore[] = [];
      return {
        async newStore({ observer }): Promise<StoreUnderTest> {
          const projectId = `smc-test-${randomBytes(5).toString('hex')}`;
          const mine = () => proxy.requests.filter((r) => r.path.includes(`/projects/${projectId}/`));
          const counted = countedCalls(observer, mine);
          const store = withEndpointEnv(
            'parametermanager',
            proxy.endpoint,
            () =>
              new GcpParameterManagerStore({
                projectId,
                environment: 'contract',
                observer: counted.observer,
                retryPolicy: FAST_RETRY,
              }),
          );
          stores.push(store);
          return { store, outOfBand: parameterManagerOutOfBand(pm, projectId), calls: counted.calls };
        },
        async stop() {
          await Promise.allSettled(stores.map((s) => s.close()));
          await proxy.stop();
          await fake.stop();
        },
      };
    },
  };
}

export function parameterManagerOutOfBand(
  pm: ParameterManagerClient,
  projectId: string,
  location = 'global',
): OutOfBand {
  const parent = `projects/${projectId}/locations/${location}`;
  const name = (id: string) => `${parent}/parameters/${id}`;
  const exists = async (id: string) => {
    try {
      await pm.getParameter({ name: name(id) });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  };
  /** Newest first, by createTime (the fake's clock is strictly increasing). */
  const versions = async (id: string) => {
    const [vs] = await pm.listParameterVersions({ parent: name(id) });
    const s = (v: (typeof vs)[number]) => Number(v.createTime?.seconds ?? 0);
    const n = (v: (typeof vs)[number]) => v.createTime?.nanos ?? 0;
    return vs.sort((a, b) => s(b) - s(a) || n(b) - n(a));
  };
  const addVersion = async (id: string, value: string) => {
    await pm.createParameterVersion({
      parent: name(id),
      parameterVersionId: `oob-${randomBytes(4).toString('hex')}`,
      parameterVersion: { payload: { data: Buffer.from(value) } },
    });
  };
  return {
    async createUnmanaged(id, value) {
      await pm.createParameter({ parent, parameterId: id, parameter: { format: 'UNFORMATTED' } });
      await addVersion(id, value);
    },
    async readValue(id) {
      if (!(await exists(id))) return undefined;
      const newest = (await versions(id)).find((v) => !v.disabled);
      if (!newest?.name) return undefined;
      const [r] = await pm.renderParameterVersion({ name: newest.name });
      return Buffer.from(r.payload?.data ?? '').toString('utf8');
    },
    async isEnabled(id) {
      if (!(await exists(id))) return undefined;
      const [newest] = await versions(id);
      return newest !== undefined && !newest.disabled;
    },
    exists,
    async versionCount(id) {
      return (await versions(id)).length;
    },
    setValue: addVersion,
  };
}

export type { GcpSecretManagerPeer, FakeParameterManager };
