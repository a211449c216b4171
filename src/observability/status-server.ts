/**
 * The one HTTP status port of a process: `/metrics` (Prometheus text from its registry), `/healthz`
 * (the process is serving, as `isHealthy()` says) and `/readyz` (as `isReady()` says). The
 * controller serves it on `metrics_port` (docs/operations.md, default 5000; `/readyz`: caches
 * synced and leading or standing by), the reloader sidecar on `--metrics-port` (docs/hot-reload.md;
 * `/healthz` 503 while it stops). GET and HEAD only. Binds 0.0.0.0 by default so kubelet probes and
 * Prometheus reach it; tests and the sidecar's default pass `host: '127.0.0.1'`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessReport {
  ready: boolean;
  /** Short reason when not ready (e.g. `caches not synced`); no values. */
  reason?: string;
}

export interface StatusServerOptions {
  /** Default 5000; 0 picks a free port (tests). */
  port?: number;
  /** Default `0.0.0.0`. */
  host?: string;
  /**
   * Served at `/metrics`; when undefined (`metrics_enabled: false`) `/metrics` answers 404. A
   * function is asked on each request (hot reload can toggle `metrics_enabled`).
   */
  registry?: Registry | (() => Registry | undefined);
  /** Readiness for `/readyz`; without it `/readyz` is not served (404: the reloader sidecar). */
  isReady?: () => boolean | ReadinessReport;
  /** Liveness for `/healthz`; default: always healthy while the server answers. */
  isHealthy?: () => boolean;
}

export interface StatusServer {
  /** The bound port (the real one when `port: 0`). */
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Start listening; resolves once bound (rejects when the port is taken). */
export async function startStatusServer(options: StatusServerOptions = {}): Promise<StatusServer> {
  const host = options.host ?? '0.0.0.0';
  const server = createServer((req, res) => {
    handle(options, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Scrapes and probes are short; keep-alive sockets must not hold shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 5000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `http://${urlHost}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(
  options: StatusServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  switch (path) {
    case '/metrics': {
      const registry = typeof options.registry === 'function' ? options.registry() : options.registry;
      if (!registry) return send(res, 404, 'metrics disabled\n');
      const body = await registry.metrics();
      return send(res, 200, body, registry.contentType);
    }
    case '/healthz': {
      const healthy = options.isHealthy?.() ?? true;
      return send(res, healthy ? 200 : 503, healthy ? 'ok\n' : 'unhealthy\n');
    }
    case '/readyz': {
      if (!options.isReady) return send(res, 404, 'not found\n');
      const r = options.isReady();
      const report: ReadinessReport = typeof r === 'boolean' ? { ready: r } : r;
      return report.ready
        ? send(res, 200, 'ok\n')
        : send(res, 503, `not ready${report.reason ? `: ${report.reason}` : ''}\n`);
    }
    default:
      return send(res, 404, 'not found\n');
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
