/**
 * `msmctl reloader` as a real child process, against a real application process (SIGHUP via
 * --pid-file and via --process) and a real HTTP server (POST with a bearer token, retried while the
 * server is down).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reloadHandler } from '../../src/reload/app/index.js';
import { AtomicWriterSim, tempBase } from './fs-writers.js';
import { startReloaderProcess, startTestApp, type Child } from './processes.js';
import { freePort } from '../peers/free-port.js';

let base: string;
let cleanup: () => Promise<void>;
let children: Child[] = [];
let servers: Server[] = [];

beforeEach(async () => {
  ({ base, cleanup } = await tempBase('smc-sidecar-'));
  children = [];
  servers = [];
});
afterEach(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await cleanup();
});

function track(c: Child): Child {
  children.push(c);
  return c;
}

const started = (l: Record<string, unknown>) => l.msg === 'reloader started';
const delivered = (l: Record<string, unknown>) => l.msg === 'reload delivered';

async function fetchText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

function metricValue(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('msmctl reloader: SIGHUP to a real process', () => {
  for (const how of ['pid-file', 'process'] as const) {
    it(`signals the application via --${how}, once per real change`, async () => {
      const vol = join(base, 'secrets');
      const writer = new AtomicWriterSim(vol);
      await writer.write({ VERSION: 'v1', DB_URL: 'postgres://one' });
      const pidFile = join(base, 'app.pid');
      const title = `smc-app-${randomBytes(4).toString('hex')}`; // unique: no other process can match
      const app = track(startTestApp(['--dir', vol, '--pid-file', pidFile, '--title', title]));
      await app.waitForLine((l) => l.event === 'ready', 30_000, 'the app to start');

      const target = how === 'pid-file' ? ['--pid-file', pidFile] : ['--process', title];
      const sidecar = track(
        startReloaderProcess([
          '--watch',
          vol,
          '--signal',
          'HUP',
          ...target,
          '--debounce',
          '20ms',
          '--metrics-port',
          '0',
        ]),
      );
      const startLine = await sidecar.waitForLine(started, 30_000, 'the reloader to start');
      const status = String(startLine.status);
      expect(status).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      await writer.write({ VERSION: 'v2', DB_URL: 'postgres://one' });
      const outcome = await app.waitForLine((l) => l.event === 'outcome', 20_000, 'the app to reload');
      expect(outcome).toMatchObject({ ok: true, generation: 2, version: 'v2' });
      const log = await sidecar.waitForLine(delivered);
      expect(log.result).toMatch(/^SIGHUP sent to pid \d+$/);

      // An identical swap: nothing to deliver.
      await writer.write({ VERSION: 'v2', DB_URL: 'postgres://one' });
      await sleep(400);
      expect(app.lines.filter((l) => l.event === 'outcome')).toHaveLength(1);
      expect(sidecar.lines.filter(delivered)).toHaveLength(1);

      // A value that the app's validation refuses: delivered, refused, old values kept.
      await writer.write({ VERSION: 'invalid', DB_URL: 'postgres://one' });
      await app.waitForLine((l) => l.event === 'outcome' && l.ok === false, 20_000, 'the refusal');
      expect(app.lines.filter((l) => l.event === 'outcome').at(-1)).toMatchObject({
        generation: 2,
        version: 'v2',
      });

      const health = await fetchText(`${status}/healthz`);
      expect(health).toEqual({ status: 200, text: 'ok\n' });
      const metrics = (await fetchText(`${status}/metrics`)).text;
      expect(metricValue(metrics, 'secret_manager_reloader_reloads_total{result="success"}')).toBe(2);
      expect(metricValue(metrics, 'secret_manager_reloader_reloads_total{result="failure"}')).toBe(0);
      expect(metricValue(metrics, 'secret_manager_reloader_changes_detected_total')).toBe(2);
      expect(metricValue(metrics, 'secret_manager_reloader_watch_errors_total')).toBe(0);
      expect(metricValue(metrics, 'secret_manager_reloader_last_reload_timestamp_seconds')).toBeGreaterThan(
        Date.now() / 1000 - 120,
      );

      expect(await sidecar.stop('SIGTERM')).toBe(0);
      expect(sidecar.lines.at(-1)).toMatchObject({ msg: 'stopped' });
      // The sidecar logs key names, never values.
      expect(sidecar.stdout()).not.toMatch(/postgres:|"v2"|invalid/);
      expect(sidecar.stdout()).toContain('VERSION');
    });
  }

  it('retries while the pid file is missing, then delivers', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ VERSION: 'v1' });
    const pidFile = join(base, 'late.pid');
    const sidecar = track(
      startReloaderProcess([
        '--watch',
        vol,
        '--pid-file',
        pidFile,
        '--debounce',
        '20ms',
        '--backoff',
        '200ms',
        '--retries',
        '50',
      ]),
    );
    await sidecar.waitForLine(started, 30_000);
    await writer.write({ VERSION: 'v2' });
    await sidecar.waitForLine((l) => l.msg === 'reload delivery failed; retrying', 20_000, 'a retry');
    const app = track(startTestApp(['--dir', vol, '--pid-file', pidFile]));
    await app.waitForLine((l) => l.event === 'ready', 30_000);
    await app.waitForLine((l) => l.event === 'outcome', 20_000, 'the late reload');
    await sidecar.waitForLine(delivered);
    expect(await sidecar.stop()).toBe(0);
  });
});

interface Received {
  auth: string | undefined;
  body: string;
}

/** A real HTTP server using the library's reloadHandler, recording each POST. */
async function startReloadServer(port: number, token: string, received: Received[]): Promise<Server> {
  const handler = reloadHandler({ token, reload: () => undefined });
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, body });
    });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  servers.push(server);
  return server;
}

describe('msmctl reloader: POST to a real HTTP server', () => {
  it('POSTs with the bearer token, retrying while the server is down', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ API_KEY: 'k1', 'tls.crt': 'c1' });
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const tokenFile = join(base, 'token');
    await writeFile(tokenFile, `${token}\n`);
    const port = await freePort();

    const sidecar = track(
      startReloaderProcess([
        '--watch',
        vol,
        '--post',
        `http://127.0.0.1:${port}/reload`,
        '--token-file',
        tokenFile,
        '--debounce',
        '20ms',
        '--backoff',
        '100ms',
        '--max-backoff',
        '400ms',
        '--retries',
        '100',
        '--metrics-port',
        '0',
      ]),
    );
    const status = String((await sidecar.waitForLine(started, 30_000)).status);
    await writer.write({ API_KEY: 'k2', 'tls.crt': 'c1' });
    // Nothing listens yet: the delivery fails and is retried.
    await sidecar.waitForLine((l) => l.msg === 'reload delivery failed; retrying', 20_000, 'a retry');
    const received: Received[] = [];
    await startReloadServer(port, token, received);
    await sidecar.waitForLine(delivered, 20_000, 'the delivery once the server is up');

    expect(received).toHaveLength(1);
    expect(received[0]!.auth).toBe(`Bearer ${token}`);
    expect(JSON.parse(received[0]!.body)).toEqual({ changed: ['API_KEY'] });
    const metrics = (await fetchText(`${status}/metrics`)).text;
    expect(metricValue(metrics, 'secret_manager_reloader_reloads_total{result="success"}')).toBe(1);
    expect(
      metricValue(metrics, 'secret_manager_reloader_delivery_attempts_total{target="http",result="failure"}'),
    ).toBeGreaterThanOrEqual(1);

    // A wrong token is refused (401) and not retried: counted as a failed reload.
    await writeFile(tokenFile, 'not-the-token');
    await writer.write({ API_KEY: 'k3', 'tls.crt': 'c1' });
    const failed = await sidecar.waitForLine(
      (l) => String(l.msg).startsWith('reload not delivered'),
      20_000,
      'the refusal',
    );
    expect(String(failed.error)).toContain('HTTP 401');
    const after = (await fetchText(`${status}/metrics`)).text;
    expect(metricValue(after, 'secret_manager_reloader_reloads_total{result="failure"}')).toBe(1);
    expect(metricValue(after, 'secret_manager_reloader_last_reload_success')).toBe(0);

    expect(await sidecar.stop('SIGTERM')).toBe(0);
    const output = sidecar.stdout() + sidecar.stderr();
    expect(output).not.toContain(token);
    expect(output).not.toContain('not-the-token');
    expect(output).not.toMatch(/\bk[123]\b/);
  });
});

describe('msmctl reloader: arguments', () => {
  it('refuses a run without a target or with a bad signal (exit 2)', async () => {
    const noTarget = startReloaderProcess(['--watch', base]);
    expect(await noTarget.exited).toBe(2);
    expect(noTarget.stderr()).toContain('give a target');
    const badSignal = startReloaderProcess(['--watch', base, '--process', 'x', '--signal', 'KILL']);
    expect(await badSignal.exited).toBe(2);
    expect(badSignal.stderr()).toContain('--signal');
  });
});
