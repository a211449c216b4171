import { afterEach, describe, expect, it } from 'vitest';
import { startStatusServer, type StatusServer } from '../../src/observability/status-server.js';
import { createControllerMetrics } from '../../src/observability/metrics.js';

const servers: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(opts: Parameters<typeof startStatusServer>[0]) {
  const s = await startStatusServer({ host: '127.0.0.1', port: 0, ...opts });
  servers.push(s);
  return s;
}

describe('controller HTTP server', () => {
  it('serves the registry at /metrics', async () => {
    const m = createControllerMetrics({ processMetrics: false });
    m.queueDepth.set(2);
    const s = await start({ registry: m.registry });
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('# TYPE secret_manager_queue_depth gauge');
    expect(body).toContain('secret_manager_queue_depth 2');
  });

  it('answers /healthz and follows isReady() on /readyz', async () => {
    let state: boolean | { ready: boolean; reason?: string } = { ready: false, reason: 'caches not synced' };
    const s = await start({ isReady: () => state });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    let res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('not ready: caches not synced\n');
    state = true;
    res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
    state = false;
    expect((await fetch(`${s.url}/readyz?verbose`)).status).toBe(503);
  });

  it('404s unknown paths and /metrics when metrics are disabled; 405s other methods', async () => {
    const s = await start({});
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
    const post = await fetch(`${s.url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${s.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('reports unhealthy via isHealthy() and a failing registry as 500', async () => {
    const m = createControllerMetrics({ processMetrics: false });
    m.registry.metrics = () => Promise.reject(new Error('collect failed'));
    const s = await start({ registry: m.registry, isHealthy: () => false });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(503);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(500);
  });

  it('serves /readyz only when given isReady (the reloader sidecar has none)', async () => {
    let running = true;
    const s = await start({ isHealthy: () => running });
    expect((await fetch(`${s.url}/readyz`)).status).toBe(404);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    running = false;
    expect((await fetch(`${s.url}/healthz`)).status).toBe(503);
  });

  it('binds the requested host and refuses a taken port', async () => {
    const s = await start({});
    expect(s.server.address()).toMatchObject({ address: '127.0.0.1' });
    await expect(startStatusServer({ host: '127.0.0.1', port: s.port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('closes with a keep-alive connection open, without waiting for it to go idle', async () => {
    const s = await startStatusServer({ host: '127.0.0.1', port: 0 });
    // Held open far longer than the wait below: closing must drop it, not outwait it.
    s.server.keepAliveTimeout = 600_000;
    await fetch(`${s.url}/healthz`, { keepalive: true });
    const outcome = await Promise.race([
      s.close().then(() => 'closed'),
      new Promise((r) => setTimeout(r, 60_000).unref()).then(() => 'still open after 60 s'),
    ]);
    expect(outcome).toBe('closed');
    expect(s.server.listening).toBe(false);
  });
});
