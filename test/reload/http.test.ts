/** POST /reload: a real Node http server, plus the fastify/express route adapter. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createReloadable,
  reloadHandler,
  reloadRoute,
  ReloadValidationError,
  type FrameworkReply,
  type ReloadEndpointOptions,
} from '../../src/reload/app/index.js';

let server: Server | undefined;
afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
});

async function serve(options: ReloadEndpointOptions): Promise<string> {
  server = createServer(reloadHandler(options));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function call(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('reloadHandler (node:http)', () => {
  it('POST /reload reloads; other methods 405; other paths 404', async () => {
    let reloads = 0;
    const url = await serve({ reload: () => void (reloads += 1) });
    expect(await call(`${url}/reload`, { method: 'POST', body: 'ignored' })).toMatchObject({
      status: 200,
      body: { status: 'reloaded' },
    });
    const get = await call(`${url}/reload`);
    expect(get).toMatchObject({ status: 405, body: { status: 'method not allowed' } });
    expect(get.headers.get('allow')).toBe('POST');
    expect(await call(`${url}/other`, { method: 'POST' })).toMatchObject({ status: 404 });
    expect(await call(`${url}/reload?x=1`, { method: 'POST' })).toMatchObject({ status: 200 });
    expect(reloads).toBe(2);
  });

  it('requires the bearer token when one is set (read per request)', async () => {
    let token = 's3cret-token';
    let reloads = 0;
    const url = await serve({ reload: () => void (reloads += 1), token: async () => `${token}\n` });
    const post = (auth?: string) =>
      call(`${url}/reload`, { method: 'POST', headers: auth ? { Authorization: auth } : {} });

    const missing = await post();
    expect(missing).toMatchObject({ status: 401, body: { status: 'unauthorized' } });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await post('Bearer wrong')).status).toBe(401);
    expect((await post('Bearer s3cret-token-and-more')).status).toBe(401);
    expect((await post('Basic s3cret-token')).status).toBe(401);
    expect((await post('Bearer s3cret-token')).status).toBe(200);
    expect((await post('bearer   s3cret-token')).status).toBe(200);
    token = 'rotated';
    expect((await post('Bearer s3cret-token')).status).toBe(401);
    expect((await post('Bearer rotated')).status).toBe(200);
    expect(reloads).toBe(3);
    // A wrong method is 405 before any token check; nothing reloads.
    expect((await call(`${url}/reload`, { method: 'PUT' })).status).toBe(405);
    expect(() => reloadHandler({ reload: () => undefined, token: '' })).toThrow(/token/);
  });

  it('answers 500 with a value-free message when the reload fails, and keeps the old values', async () => {
    let next = 'good';
    const config = await createReloadable(
      () => next,
      (v) => {
        if (v.startsWith('bad')) throw new ReloadValidationError('VALUE: refused');
      },
    );
    const url = await serve({ reload: () => config.reload() });
    next = 'bad-hunter2';
    const failed = await call(`${url}/reload`, { method: 'POST' });
    expect(failed).toMatchObject({
      status: 500,
      body: { status: 'failed', generation: 1, error: 'validate failed: VALUE: refused' },
    });
    expect(JSON.stringify(failed.body)).not.toContain('hunter2');
    expect(config.current()).toBe('good');
    next = 'better';
    expect(await call(`${url}/reload`, { method: 'POST' })).toMatchObject({
      status: 200,
      body: { status: 'reloaded', generation: 2 },
    });

    const url2 = await (async () => {
      await new Promise((r) => server!.close(r));
      return serve({
        reload: () => {
          throw new Error('password=hunter2 rejected');
        },
      });
    })();
    const thrown = await call(`${url2}/reload`, { method: 'POST' });
    expect(thrown.status).toBe(500);
    expect(JSON.stringify(thrown.body)).not.toContain('hunter2');
  });

  it('coalesces overlapping requests into one follow-up reload', async () => {
    let runs = 0;
    let running = 0;
    let maxRunning = 0;
    const url = await serve({
      reload: async () => {
        runs += 1;
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await sleep(50);
        running -= 1;
      },
    });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(`${url}/reload`, { method: 'POST' })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(maxRunning).toBe(1);
    expect(runs).toBeLessThanOrEqual(3);
  });

  it('as express/connect middleware, passes other paths to next()', async () => {
    const handler = reloadHandler({ reload: () => undefined });
    let nexted = 0;
    server = createServer((req, res) =>
      handler(req, res, () => {
        nexted += 1;
        res.writeHead(204).end();
      }),
    );
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${url}/app`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(`${url}/reload`, { method: 'POST' })).status).toBe(200);
    expect(nexted).toBe(1);
  });
});

/** A reply with the API fastify's `reply` and express's `res` share: status().header().send(). */
function fakeReply() {
  const r = { code: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const reply: FrameworkReply = {
    status(code) {
      r.code = code;
      return reply;
    },
    header(name, value) {
      r.headers[name.toLowerCase()] = value;
      return reply;
    },
    send(body) {
      r.body = body;
      return reply;
    },
  };
  return { reply, r };
}

describe('reloadRoute (fastify / express)', () => {
  it('answers through status/header/send', async () => {
    const route = reloadRoute({ reload: () => undefined, token: 't0ken' });
    const ok = fakeReply();
    await route({ method: 'POST', headers: { authorization: 'Bearer t0ken' } }, ok.reply);
    expect(ok.r).toMatchObject({ code: 200, body: { status: 'reloaded' } });
    expect(ok.r.headers['content-type']).toMatch(/json/);
    const denied = fakeReply();
    await route({ method: 'POST', headers: {} }, denied.reply);
    expect(denied.r).toMatchObject({ code: 401, body: { status: 'unauthorized' } });
    const wrong = fakeReply();
    await route({ method: 'GET', url: '/anything', headers: {} }, wrong.reply);
    expect(wrong.r.code).toBe(405);
  });
});
