/** The runnable examples in examples/hot-reload/ do what docs/hot-reload.md says they do. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../peers.js';
import { AtomicWriterSim, tempBase, waitFor } from './fs-writers.js';

let base: string;
let cleanup: () => Promise<void>;
const running: { kill: () => void }[] = [];
beforeEach(async () => {
  ({ base, cleanup } = await tempBase('smc-examples-'));
});
afterEach(async () => {
  for (const r of running.splice(0)) r.kill();
  await cleanup();
});

function runExample(name: string, env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples/hot-reload', name)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push({ kill: () => proc.kill('SIGKILL') });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitForMsg = async (msg: string, n = 1) => {
    await waitFor(
      () => lines().filter((l) => l.msg === msg).length >= n,
      30_000,
      `"${msg}" from ${name}`,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nstdout:\n${out}\nstderr:\n${err}`);
    });
    return lines().filter((l) => l.msg === msg)[n - 1]!;
  };
  return { proc, lines, waitForMsg, output: () => out + err };
}

describe('examples/hot-reload', () => {
  it('file-watcher.ts reloads on a swap and refuses a broken one', async () => {
    const dir = join(base, 'secrets');
    const writer = new AtomicWriterSim(dir);
    await writer.write({ DB_PASSWORD: 'pw-1', API_KEY: 'key-1' });
    const app = runExample('file-watcher.ts', { SECRETS_DIR: dir, REQUIRED_KEYS: 'DB_PASSWORD,API_KEY' });
    await app.waitForMsg('watching');
    await writer.write({ DB_PASSWORD: 'pw-2', API_KEY: 'key-1' });
    expect(await app.waitForMsg('secret files changed')).toMatchObject({ changed: ['DB_PASSWORD'] });
    expect(await app.waitForMsg('secrets reloaded')).toMatchObject({ generation: 2 });
    await writer.write({ DB_PASSWORD: 'pw-2', API_KEY: '' });
    expect(await app.waitForMsg('secrets reload refused; keeping the previous values')).toMatchObject({
      reason: 'validate failed: API_KEY: missing or empty',
      generation: 2,
    });
    expect(app.output()).not.toMatch(/pw-|key-1/);
  });

  it('sighup.ts reloads on SIGHUP', async () => {
    const dir = join(base, 'secrets');
    await new AtomicWriterSim(dir).write({ TOKEN: 't1' });
    const pidFile = join(base, 'app.pid');
    const app = runExample('sighup.ts', {
      SECRETS_DIR: dir,
      PID_FILE: pidFile,
      APP_NAME: `ex-${randomBytes(3).toString('hex')}`,
    });
    await app.waitForMsg('waiting for SIGHUP');
    process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGHUP');
    expect(await app.waitForMsg('secrets reloaded')).toMatchObject({ generation: 2 });
  });

  it('http-endpoint.ts answers POST /reload with the token only', async () => {
    const dir = join(base, 'secrets');
    await new AtomicWriterSim(dir).write({ TOKEN: 't1' });
    const tokenFile = join(base, 'token');
    await writeFile(tokenFile, 'example-token\n');
    const app = runExample('http-endpoint.ts', { SECRETS_DIR: dir, RELOAD_TOKEN_FILE: tokenFile, PORT: '0' });
    const { url } = (await app.waitForMsg('listening')) as { url: string };
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    const ok = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer example-token' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'reloaded', generation: 2 });
  });

  it('polling.ts reloads on a content change only', async () => {
    const dir = join(base, 'secrets');
    const writer = new AtomicWriterSim(dir);
    await writer.write({ TOKEN: 't1' });
    const app = runExample('polling.ts', { SECRETS_DIR: dir, POLL_INTERVAL_MS: '50' });
    await app.waitForMsg('polling');
    await writer.write({ TOKEN: 't2' });
    expect(await app.waitForMsg('secrets reloaded')).toMatchObject({ generation: 2 });
  });
});
