import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirStore } from '../../src/stores/local/index.js';
import { crashContent, crashOwner, type ContentSet } from './fixtures/local-crash-content.js';
import { payloadDirs, syncTo, tempDir } from './local-helpers.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const childScript = join(import.meta.dirname, 'fixtures', 'local-crash-child.ts');
const KILLS = 30;

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('smc-crash-'));
});
afterEach(async () => {
  await cleanup();
});

/** Start the flipping child; resolves once it has loaded, with a way to kill it and wait for its exit. */
async function startChild(
  target: string,
  onApplied: (ms: number) => void,
): Promise<{ child: ChildProcess; applied: () => number; killed: Promise<void> }> {
  // Node 24 runs TypeScript itself, but our sources import `./x.js` for `./x.ts`, which tsx's loader maps.
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, target], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let applies = 0;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((res, rej) =>
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? res() : rej(new Error(`child exited ${code}: ${stderr.slice(0, 2000)}`)),
    ),
  );
  await new Promise<void>((res, rej) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') res();
      else if (line.startsWith('applied')) {
        applies++;
        onApplied(Number(line.split(' ')[2]));
      }
    });
    exited.catch(rej);
  });
  return { child, applied: () => applies, killed: exited };
}

/** The directory must hold exactly one complete content, A or B, readable through the store and the links. */
async function assertComplete(store: LocalDirStore): Promise<ContentSet> {
  const data = await readlink(join(dir, '..data'));
  expect((await stat(join(dir, data))).isDirectory()).toBe(true);
  const stored = await store.read(crashOwner, []);
  const set = stored.find((e) => e.storeName === 'SET')?.value as ContentSet;
  expect(['A', 'B']).toContain(set);
  const expected = crashContent(set);
  expect(stored.map((e) => [e.storeName, e.value, e.enabled, e.kind])).toEqual(
    expected
      .map((e) => [e.key, e.value, e.enabled, e.kind])
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
  );
  // Every enabled entry is reachable through its top-level link (links are made before the swap).
  for (const e of expected) {
    if (e.enabled) expect(await readFile(join(dir, e.key), 'utf8')).toBe(e.value);
  }
  return set;
}

/** Nothing but the live payload, `..data` and one link per enabled entry. */
async function assertClean(set: ContentSet): Promise<void> {
  const names = await readdir(dir);
  const data = await readlink(join(dir, '..data'));
  expect(names.filter((n) => n.startsWith('..')).sort()).toEqual(['..data', data].sort());
  const enabled = crashContent(set)
    .filter((e) => e.enabled)
    .map((e) => e.key);
  expect(names.filter((n) => !n.startsWith('..')).sort()).toEqual(enabled.sort());
}

describe('LocalDirStore: crash safety', () => {
  it(`leaves a complete old or new payload when SIGKILLed mid-apply (${KILLS} kills)`, async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, crashOwner, crashContent('A'));
    const started = Date.now();
    await syncTo(store, crashOwner, crashContent('B'));
    let applyMs = Math.max(20, Date.now() - started);
    await syncTo(store, crashOwner, crashContent('A'));

    const seen = new Set<ContentSet>();
    let leftoverRuns = 0;
    let totalApplies = 0;
    for (let i = 0; i < KILLS; i++) {
      // The window follows the child's own apply time, so a slow (loaded) machine still gets mid-write kills.
      const { child, applied, killed } = await startChild(dir, (ms) => (applyMs = Math.max(applyMs, ms)));
      // Anywhere from before the first apply starts to well into the second one.
      await new Promise((r) => setTimeout(r, Math.random() * applyMs * 2.5));
      child.kill('SIGKILL');
      await killed;
      totalApplies += applied();

      const set = await assertComplete(store);
      seen.add(set);
      if ((await payloadDirs(dir)).length > 1 || (await readdir(dir)).includes('..data_tmp')) leftoverRuns++;
      if (i % 2 === 0) {
        // The next apply (here one with nothing to change) removes what the killed run left behind;
        // on odd rounds the leftovers stay for the next child to clean up.
        const { results } = await syncTo(store, crashOwner, crashContent(set));
        expect(results.every((r) => r.ok && !r.wrote)).toBe(true);
        await assertClean(set);
      }
    }
    // The last kill may have left debris: a real change must clean it too.
    const last = await assertComplete(store);
    const flipped: ContentSet = last === 'A' ? 'B' : 'A';
    const { results } = await syncTo(store, crashOwner, crashContent(flipped));
    expect(results.every((r) => r.ok)).toBe(true);
    await assertComplete(store);
    await assertClean(flipped);
    console.info(
      `crash test: apply ≈${applyMs} ms, ${totalApplies} completed applies, ${leftoverRuns}/${KILLS} kills left debris, contents seen: ${[...seen].join(',')}`,
    );
    // Sanity: some kills really landed mid-write.
    expect(leftoverRuns).toBeGreaterThan(0);
  }, 300_000);
});
