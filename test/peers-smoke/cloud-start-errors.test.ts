/**
 * A cloud peer that cannot start fails fast with an error naming the peer and its log, and leaves
 * no process behind: a port already taken, a bad flag, and a peer that never becomes ready.
 */
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ensurePeer,
  freePort,
  PeerStartError,
  startGcpSecretManager,
  startMoto,
  startPeerProcess,
} from '../peers/cloud/index.js';

/** Holds a loopback port with a listener that accepts connections and never answers. */
async function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => sockets.add(s));
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

const keptLogs: string[] = [];

async function expectStartError(p: Promise<unknown>, peer: string, reason: RegExp): Promise<PeerStartError> {
  const err = await p.then(
    () => expect.unreachable(`${peer} started although it should not have`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PeerStartError);
  const e = err as PeerStartError;
  expect(e.peer).toBe(peer);
  expect(e.message).toContain(peer);
  expect(e.message).toMatch(reason);
  expect(e.message).toContain(e.logPath);
  keptLogs.push(e.logPath);
  return e;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('cloud peers fail fast with a clear error', () => {
  let taken: Awaited<ReturnType<typeof occupyPort>>;
  beforeAll(async () => {
    await Promise.all([ensurePeer('gcp-sm-emulator'), ensurePeer('moto')]);
    taken = await occupyPort();
  });
  afterAll(async () => {
    await taken?.close();
  });
  afterEach(() => {
    for (const log of keptLogs.splice(0)) rmSync(log, { force: true });
  });

  it('gcp-sm-emulator on a port already taken', async () => {
    const e = await expectStartError(
      startGcpSecretManager({ port: taken.port }),
      'gcp-sm-emulator',
      /exited before it was ready/,
    );
    expect(readFileSync(e.logPath, 'utf8')).toMatch(/Address already in use/);
    expect(processAlive(e.pid!)).toBe(false);
  });

  it('moto on a port already taken', async () => {
    const e = await expectStartError(startMoto({ port: taken.port }), 'moto', /exited before it was ready/);
    expect(readFileSync(e.logPath, 'utf8')).toMatch(/already in use/i);
  });

  it('moto with a bad flag', async () => {
    const e = await expectStartError(startMoto({ extraArgs: ['--no-such-flag'] }), 'moto', /exit code 2/);
    expect(readFileSync(e.logPath, 'utf8')).toMatch(/unrecognized arguments: --no-such-flag/);
  });

  it('a peer that never becomes ready is stopped at its deadline', async () => {
    const e = await expectStartError(
      startPeerProcess({
        peer: 'never-ready',
        command: '/bin/sh',
        args: ['-c', 'echo starting up; exec sleep 60'],
        readyTimeoutMs: 800,
        ready: async () => false,
      }),
      'never-ready',
      /not ready within 800 ms/,
    );
    expect(readFileSync(e.logPath, 'utf8')).toContain('starting up');
    expect(e.pid).toBeGreaterThan(0);
    expect(processAlive(e.pid!)).toBe(false);
  });
});
