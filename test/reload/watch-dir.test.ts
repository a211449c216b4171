/**
 * watchSecretDir and pollForChanges on a real file system: directories that do not exist yet, are
 * deleted and re-created or replaced, polling when fs.watch is off, the `local` store, nested keys,
 * filters, errors, close.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeError,
  pollForChanges,
  watchSecretDir,
  type SecretChange,
  type SecretWatcher,
  type WatchSecretDirOptions,
} from '../../src/reload/app/index.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import { entries, syncTo } from '../stores/local-helpers.js';
import { AtomicWriterSim, tempBase, waitFor } from './fs-writers.js';

let base: string;
let cleanup: () => Promise<void>;
let watchers: SecretWatcher[] = [];
beforeEach(async () => {
  ({ base, cleanup } = await tempBase());
  watchers = [];
});
afterEach(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  await cleanup();
});

/** Watch `dir`, collecting changes as plain text maps. Events only (no poll) unless overridden. */
async function watchCollect(dir: string, options: WatchSecretDirOptions = {}) {
  const changes: (SecretChange & { text: Record<string, string> })[] = [];
  const w = watchSecretDir(
    dir,
    (c) => {
      changes.push({ ...c, text: Object.fromEntries([...c.files].map(([k, v]) => [k, v.toString('utf8')])) });
    },
    { debounceMs: 20, pollIntervalMs: 0, ...options },
  );
  watchers.push(w);
  await w.ready;
  const waitCount = (n: number, what = `${n} change(s)`) => waitFor(() => changes.length >= n, 10_000, what);
  return { changes, watcher: w, waitCount };
}

/** Long enough for a debounce (20 ms), a confirming read and a slow machine. */
const settle = () => sleep(300);

describe('watchSecretDir: the directory itself', () => {
  it('waits for a directory that does not exist yet (nor its parent), then follows it', async () => {
    const vol = join(base, 'not', 'yet', 'secrets');
    const { changes, waitCount } = await watchCollect(vol);
    await settle();
    expect(changes).toHaveLength(0);

    const writer = new AtomicWriterSim(vol); // creates not/yet/secrets
    await writer.write({ DB_URL: 'a' });
    await waitCount(1);
    expect(changes[0]).toMatchObject({ added: ['DB_URL'], removed: [], layout: 'atomic', trigger: 'watch' });

    // Watched by fs.watch now (polling is off): a swap is seen.
    await writer.write({ DB_URL: 'b' });
    await waitCount(2);
    expect(changes[1]).toMatchObject({ changed: ['DB_URL'], modified: ['DB_URL'], text: { DB_URL: 'b' } });
  });

  it('reports a deleted directory as every key removed, and its re-creation as added', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ A: '1', B: '2' });
    const { changes, waitCount } = await watchCollect(vol);

    await rm(vol, { recursive: true });
    await waitCount(1);
    expect(changes[0]).toMatchObject({ removed: ['A', 'B'], layout: 'missing', text: {} });

    await writer.write({ A: '1', C: '3' });
    await waitCount(2);
    expect(changes[1]).toMatchObject({ added: ['A', 'C'], layout: 'atomic' });

    await writer.write({ A: '9', C: '3' }); // the new directory is watched
    await waitCount(3);
    expect(changes[2]).toMatchObject({ changed: ['A'] });
    await settle();
    expect(changes).toHaveLength(3);
  });

  it('says nothing when a directory is deleted and re-created at once with the same content', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ A: '1' });
    const { changes, waitCount } = await watchCollect(vol);
    await rm(vol, { recursive: true });
    await writer.write({ A: '1' });
    await settle();
    expect(changes).toHaveLength(0);
    await writer.write({ A: '2' }); // and still watching the new one
    await waitCount(1);
    expect(changes[0]).toMatchObject({ changed: ['A'] });
  });

  it('follows a directory replaced by a rename (the watch moves to the new inode)', async () => {
    const vol = join(base, 'secrets');
    await mkdir(vol);
    await writeFile(join(vol, 'A'), '1');
    const { changes, waitCount } = await watchCollect(vol);

    const next = join(base, 'secrets.new');
    await mkdir(next);
    await writeFile(join(next, 'A'), '2');
    await rm(vol, { recursive: true });
    await rename(next, vol);
    await waitCount(1);
    expect(changes.at(-1)).toMatchObject({ text: { A: '2' } });

    await writeFile(join(vol, 'A'), '3');
    await waitFor(() => changes.at(-1)?.text.A === '3', 10_000, 'the change in the new directory');
  });
});

describe('watchSecretDir: content', () => {
  it('reads nested kubelet keys (items with a path) and ignores editor droppings', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ 'conf/app.yaml': 'a: 1', TOKEN: 't' });
    const { changes, waitCount } = await watchCollect(vol, { emitInitial: true });
    await waitCount(1);
    expect(changes[0]).toMatchObject({ trigger: 'initial', added: ['TOKEN', 'conf/app.yaml'] });

    await writer.write({ 'conf/app.yaml': 'a: 2', TOKEN: 't' });
    await waitCount(2);
    expect(changes[1]).toMatchObject({ changed: ['conf/app.yaml'] });

    const plain = join(base, 'plain');
    await mkdir(plain);
    await writeFile(join(plain, 'KEY'), 'v');
    const p = await watchCollect(plain);
    for (const junk of ['.KEY.swp', 'KEY~', '4913', '.#KEY', '#KEY#'])
      await writeFile(join(plain, junk), 'x');
    await settle();
    expect(p.changes).toHaveLength(0);
    await writeFile(join(plain, '.dockerconfigjson'), '{}'); // a dot-file is a real key
    await p.waitCount(1);
    expect(p.changes[0]).toMatchObject({ added: ['.dockerconfigjson'] });
  });

  it('follows subdirectories of a plain directory', async () => {
    const plain = join(base, 'plain');
    await mkdir(join(plain, 'sub'), { recursive: true });
    await writeFile(join(plain, 'sub', 'K'), '1');
    const { changes, waitCount } = await watchCollect(plain);
    await writeFile(join(plain, 'sub', 'K'), '2');
    await waitCount(1);
    expect(changes[0]).toMatchObject({ changed: ['sub/K'] });
  });

  it('works on the local store: one callback per apply that changes something, bookkeeping never a key', async () => {
    const dir = join(base, 'store');
    const store = new LocalDirStore(dir);
    const owner = { namespace: 'team-a', name: 'app' };
    await syncTo(store, owner, entries({ DB_URL: 'postgres://a', API_KEY: 'k1' }));
    const { changes, waitCount } = await watchCollect(dir);

    await syncTo(store, owner, entries({ DB_URL: 'postgres://b', API_KEY: 'k1' }));
    await waitCount(1);
    expect(changes[0]).toMatchObject({ changed: ['DB_URL'], layout: 'atomic' });
    expect([...changes[0]!.files.keys()].sort()).toEqual(['API_KEY', 'DB_URL']);

    await syncTo(store, owner, entries({ DB_URL: 'postgres://b', API_KEY: 'k1' })); // no-op apply
    await syncTo(store, owner, entries({ DB_URL: 'postgres://b', API_KEY: 'k1' }, ['API_KEY'])); // disable
    await waitCount(2);
    expect(changes[1]).toMatchObject({ removed: ['API_KEY'], changed: ['API_KEY'] });
    await settle();
    expect(changes).toHaveLength(2);
  });
});

describe('watchSecretDir: missed events and polling', () => {
  it('falls back to polling when fs.watch is off (missed events)', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ A: '1' });
    const { changes, waitCount } = await watchCollect(vol, { fsWatch: false, pollIntervalMs: 50 });
    await writer.write({ A: '2' });
    await waitCount(1);
    expect(changes[0]).toMatchObject({ trigger: 'poll', changed: ['A'] });
    await writer.write({ A: '2' }); // identical
    await settle();
    expect(changes).toHaveLength(1);
  });

  it('check() looks on demand', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ A: '1' });
    const { changes, watcher } = await watchCollect(vol, { fsWatch: false, pollIntervalMs: 3_600_000 });
    await writer.write({ A: '2' });
    await watcher.check();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ trigger: 'check', changed: ['A'] });
  });

  it('pollForChanges compares file contents, not timestamps', async () => {
    const f1 = join(base, 'one');
    const f2 = join(base, 'two');
    await writeFile(f1, 'a');
    const changes: SecretChange[] = [];
    const poller = pollForChanges([f1, f2], (c) => void changes.push(c), { intervalMs: 30, debounceMs: 10 });
    watchers.push(poller);
    await poller.ready;
    await writeFile(f1, 'a'); // rewritten, same content
    await sleep(200);
    expect(changes).toHaveLength(0);
    await writeFile(f2, 'b');
    await waitFor(() => changes.length === 1, 10_000, 'the poll');
    expect(changes[0]).toMatchObject({ added: [f2], trigger: 'poll' });

    const dirChanges: SecretChange[] = [];
    const vol = join(base, 'vol');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ K: '1' });
    const dirPoller = pollForChanges(vol, (c) => void dirChanges.push(c), { intervalMs: 30 });
    watchers.push(dirPoller);
    await dirPoller.ready;
    await writer.write({ K: '2' });
    await waitFor(() => dirChanges.length === 1, 10_000, 'the directory poll');
    expect(dirChanges[0]).toMatchObject({ changed: ['K'] });
  });
});

describe('watchSecretDir: errors and lifecycle', () => {
  it('reports a failing listener without its message, and keeps watching', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ A: 'hunter2' });
    const errors: string[] = [];
    let calls = 0;
    const w = watchSecretDir(
      vol,
      (c) => {
        calls += 1;
        if (calls === 1) throw new Error(`bad value ${c.files.get('A')!.toString()}`);
      },
      { debounceMs: 20, pollIntervalMs: 0, onError: (e, ctx) => errors.push(`${ctx}: ${describeError(e)}`) },
    );
    watchers.push(w);
    await w.ready;
    await writer.write({ A: 'swordfish' });
    await waitFor(() => errors.length === 1, 10_000, 'the error report');
    expect(errors[0]).toContain('the change listener failed');
    expect(errors[0]).not.toContain('swordfish');
    await writer.write({ A: 'letmein' });
    await waitFor(() => calls === 2, 10_000, 'the next change');
  });

  it('never calls back after close(), and closes when its AbortSignal aborts', async () => {
    const vol = join(base, 'secrets');
    const writer = new AtomicWriterSim(vol);
    await writer.write({ A: '1' });
    const { changes, watcher } = await watchCollect(vol);
    await writer.write({ A: '2' });
    await watcher.close(); // inside the debounce window
    await settle();
    expect(changes).toHaveLength(0);

    const ac = new AbortController();
    const seen: SecretChange[] = [];
    const w = watchSecretDir(vol, (c) => void seen.push(c), { debounceMs: 20, signal: ac.signal });
    await w.ready;
    ac.abort();
    await writer.write({ A: '3' });
    await settle();
    expect(seen).toHaveLength(0);
  });

  it('refuses options that cannot work', () => {
    expect(() => watchSecretDir(base, () => undefined, { fsWatch: false, pollIntervalMs: 0 })).toThrow(
      /pollIntervalMs/,
    );
    expect(() => watchSecretDir(base, () => undefined, { debounceMs: -1 })).toThrow(/debounceMs/);
    expect(() => pollForChanges(base, () => undefined, { intervalMs: 0 })).toThrow(/intervalMs/);
  });

  it('describes errors without quoting content', () => {
    let parseError: unknown;
    try {
      JSON.parse('{"password": hunter2}');
    } catch (e) {
      parseError = e;
    }
    expect(describeError(parseError)).not.toContain('hunter2');
    expect(
      describeError(Object.assign(new Error('x'), { code: 'EACCES', syscall: 'open', path: '/etc/s/K' })),
    ).toBe('EACCES on open /etc/s/K');
  });
});
