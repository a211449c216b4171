/**
 * The local store's write lock across processes: a lock left by a writer killed with SIGKILL is
 * taken over by exactly one of the writers that find it, never by two at once (issue 10, item 5).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, readlink, stat, symlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirStore } from '../../src/stores/local/index.js';
import { withDirLock } from '../../src/stores/local/lock.js';
import { tempDir } from './local-helpers.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const childScript = join(import.meta.dirname, 'fixtures', 'local-lock-child.ts');
const TRIALS = 40;
const CONTENDERS = 3;

let dir: string;
let cleanup: () => Promise<void>;
const children: ChildProcess[] = [];
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('smc-lock-'));
  await mkdir(dir, { recursive: true });
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await cleanup();
});

interface Child {
  child: ChildProcess;
  lines: Interface;
  next: () => Promise<string>;
}

function startChild(role: 'hold' | 'contend' | 'sync', ...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, role, dir, ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else queue.push(line);
  });
  const exited = new Promise<never>((_, rej) =>
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') rej(new Error(`${role} child exited ${code}: ${stderr.slice(0, 2000)}`));
    }),
  );
  const next = () =>
    Promise.race([
      new Promise<string>((res) => {
        const line = queue.shift();
        if (line !== undefined) res(line);
        else waiters.push(res);
      }),
      exited,
    ]);
  return { child, lines, next };
}

/** Leave DIR's lock as a writer killed with SIGKILL leaves it: a real holder, killed while holding it. */
async function leaveStaleLock(): Promise<void> {
  const holder = startChild('hold');
  expect(await holder.next()).toBe('locked');
  const gone = new Promise((res) => holder.child.on('exit', res));
  holder.child.kill('SIGKILL');
  await gone;
  expect(await readdir(dir)).toContain('..smc_lock');
}

describe('local store lock: stale take-over', () => {
  it(`${CONTENDERS} processes racing for a SIGKILLed writer's lock never hold it together (${TRIALS} trials)`, async () => {
    const contenders = Array.from({ length: CONTENDERS }, () => startChild('contend'));
    for (const c of contenders) expect(await c.next()).toBe('ready');
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await leaveStaleLock();
      // All at once: each finds the stale lock and tries to take it over.
      for (const c of contenders) c.child.stdin!.write('go\n');
      outcomes.push(...(await Promise.all(contenders.map((c) => c.next()))));
    }
    expect(outcomes.filter((o) => o !== 'done')).toEqual([]);
    expect(outcomes).toHaveLength(TRIALS * CONTENDERS);
    // Nothing of the lock is left once every writer is done: no lock, no take-over guard, no temp file.
    expect((await readdir(dir)).filter((n) => n.startsWith('..smc_lock'))).toEqual([]);
  }, 600_000);

  it(`${CONTENDERS} concurrent syncs into a store with a SIGKILLed writer's lock all succeed and leave it whole (30 trials)`, async () => {
    const owner = { namespace: 'default', name: 'lock-test' };
    const writers = Array.from({ length: CONTENDERS }, (_, n) => startChild('sync', String(n)));
    for (const w of writers) expect(await w.next()).toBe('ready');
    const store = new LocalDirStore(dir);
    for (let round = 0; round < 30; round++) {
      await leaveStaleLock();
      for (const w of writers) w.child.stdin!.write(`go ${round}\n`);
      expect(await Promise.all(writers.map((w) => w.next()))).toEqual(writers.map(() => 'done'));
      // `..data` points at a complete payload: one writer's content, whole, readable through the links.
      const payload = await readlink(join(dir, '..data'));
      expect((await stat(join(dir, payload))).isDirectory()).toBe(true);
      const values = (await store.read(owner, [])).map((e) => e.value);
      const writer = /^A-\d+\.(\d)$/.exec(values[0] ?? '')?.[1];
      expect(values).toEqual(['A', 'B', 'C'].map((k) => `${k}-${round}.${writer}`));
      for (const k of ['A', 'B', 'C'])
        expect(await readFile(join(dir, k), 'utf8')).toBe(`${k}-${round}.${writer}`);
    }
  }, 600_000);

  it('a take-over guard left by a process killed mid-take-over does not block the lock, and is swept', async () => {
    await leaveStaleLock();
    // A guard named as the take-over of this very lock instance, held by a process that is gone.
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((res) => dead.on('exit', () => res(dead.pid!)));
    const { createHash } = await import('node:crypto');
    const lockBody = await readlink(join(dir, '..smc_lock'));
    const id = createHash('sha256').update(lockBody).digest('hex').slice(0, 32);
    await symlink(
      JSON.stringify({ pid: deadPid, host: hostname(), nonce: 'feedfacefeedfacefeedface' }),
      join(dir, `..smc_lock.takeover.${id}`),
    );
    let ran = false;
    await withDirLock(dir, 10_000, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect((await readdir(dir)).filter((n) => n.startsWith('..smc_lock'))).toEqual([]);
  });
});
