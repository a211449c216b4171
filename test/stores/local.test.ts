import { spawn } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import type { Action } from '../../src/plan/actions.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { Owner } from '../../src/stores/store.js';
import { entries, fingerprint, payloadDirs, syncTo, tempDir } from './local-helpers.js';

const me: Owner = { namespace: 'team-a', name: 'app' };
const other: Owner = { namespace: 'team-b', name: 'other' };

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

async function manifest(d: string) {
  const target = await readlink(join(d, '..data'));
  return JSON.parse(await readFile(join(d, target, '.smc', 'manifest.json'), 'utf8')) as {
    format: number;
    entries: { name: string; key?: string; kind: string; enabled: boolean; owner: Owner; version: number }[];
  };
}

describe('LocalDirStore: layout', () => {
  it('writes the kubelet AtomicWriter layout', async () => {
    const store = new LocalDirStore(dir);
    expect(store.type).toBe('local');
    expect(store.target).toBe(dir);
    const { results } = await syncTo(store, me, entries({ DB_URL: 'postgres://x', 'api.key': 'k1' }));
    expect(results.map((r) => [r.action.type, r.ok, r.wrote, r.version])).toEqual([
      ['create', true, true, '1'],
      ['create', true, true, '1'],
    ]);

    const data = await readlink(join(dir, '..data'));
    expect(data).toMatch(/^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d{9}$/);
    expect(await readlink(join(dir, 'DB_URL'))).toBe('..data/DB_URL');
    expect(await readlink(join(dir, 'api.key'))).toBe('..data/api.key');
    expect(await readFile(join(dir, 'DB_URL'), 'utf8')).toBe('postgres://x');
    expect((await readdir(dir)).sort()).toEqual([data, '..data', 'DB_URL', 'api.key'].sort());

    expect((await stat(join(dir, data))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dir, data, 'DB_URL'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, data, '.smc'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, data, '.smc', 'manifest.json'))).mode & 0o777).toBe(0o600);

    const m = await manifest(dir);
    expect(m).toEqual({
      format: 1,
      entries: [
        { name: 'DB_URL', key: 'DB_URL', kind: 'secret', enabled: true, owner: me, version: 1 },
        { name: 'api.key', key: 'api.key', kind: 'secret', enabled: true, owner: me, version: 1 },
      ],
    });
    expect(JSON.stringify(m)).not.toContain('postgres');
  });

  it('honours fileMode', async () => {
    await syncTo(new LocalDirStore(dir, { fileMode: 0o644 }), me, entries({ A: '1' }));
    expect((await stat(join(dir, 'A'))).mode & 0o777).toBe(0o644);
  });

  it('reads an absent directory as empty and creates it on the first write', async () => {
    const store = new LocalDirStore(join(dir, 'deep', 'er'));
    expect(await store.read(me, ['A'])).toEqual([]);
    await syncTo(store, me, entries({ A: '1' }));
    expect(await readFile(join(dir, 'deep', 'er', 'A'), 'utf8')).toBe('1');
  });
});

describe('LocalDirStore: sync cycle', () => {
  it('reads back what it wrote; a second sync is all noops and touches nothing', async () => {
    const store = new LocalDirStore(dir);
    const source = entries({ A: '1', B: '2', C: '3' }, ['C']);
    await syncTo(store, me, source);
    expect(await store.read(me, [])).toEqual([
      { storeName: 'A', value: '1', enabled: true, owner: me, key: 'A', kind: 'secret', version: '1' },
      { storeName: 'B', value: '2', enabled: true, owner: me, key: 'B', kind: 'secret', version: '1' },
      { storeName: 'C', value: '3', enabled: false, owner: me, key: 'C', kind: 'secret', version: '1' },
    ]);

    const before = await fingerprint(dir);
    const { actions, results } = await syncTo(store, me, source);
    expect(actions.every((a) => a.type === 'noop')).toBe(true);
    expect(results.every((r) => r.ok && !r.wrote)).toBe(true);
    expect(await fingerprint(dir)).toEqual(before);
  });

  it('an update swaps in a new payload and removes the old one', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: '1', B: '2' }));
    const first = await readlink(join(dir, '..data'));
    const { results } = await syncTo(store, me, entries({ A: '1', B: '22' }));
    expect(results.map((r) => [r.action.storeName, r.action.type, r.wrote, r.version])).toEqual([
      ['A', 'noop', false, '1'],
      ['B', 'update', true, '2'],
    ]);
    const second = await readlink(join(dir, '..data'));
    expect(second).not.toBe(first);
    expect(await payloadDirs(dir)).toEqual([second]);
    expect(await readFile(join(dir, 'B'), 'utf8')).toBe('22');
  });

  it('disables without losing the value and re-enabling restores it', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: 'secret-a', B: 'b' }));
    const { results } = await syncTo(store, me, entries({ A: 'secret-a', B: 'b' }, ['A']));
    expect(results.find((r) => r.action.storeName === 'A')).toMatchObject({
      ok: true,
      wrote: true,
      action: { type: 'disable' },
    });

    await expect(lstat(join(dir, 'A'))).rejects.toMatchObject({ code: 'ENOENT' });
    const data = await readlink(join(dir, '..data'));
    await expect(lstat(join(dir, data, 'A'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(dir, data, '.smc', 'disabled', 'A'), 'utf8')).toBe('secret-a');
    expect((await store.read(me, [])).find((e) => e.storeName === 'A')).toMatchObject({
      enabled: false,
      value: 'secret-a',
      version: '1',
    });

    const back = await syncTo(store, me, entries({ A: 'secret-a', B: 'b' }));
    expect(back.actions.find((a) => a.storeName === 'A')?.type).toBe('enable');
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('secret-a');
    expect((await store.read(me, [])).find((e) => e.storeName === 'A')).toMatchObject({
      enabled: true,
      version: '1',
    });
  });

  it('enable with a changed value writes the value and bumps the version', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: 'v1' }, ['A']));
    const { results } = await syncTo(store, me, entries({ A: 'v2' }));
    expect(results[0]).toMatchObject({
      ok: true,
      wrote: true,
      version: '2',
      action: { type: 'enable', value: 'v2' },
    });
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('v2');
  });

  it('prunes per deletion policy', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: '1', B: '2', C: '3' }));

    const retain = await syncTo(store, me, entries({ A: '1' }), { deletionPolicy: 'Retain' });
    expect(retain.results.filter((r) => r.wrote)).toEqual([]);
    expect(await readFile(join(dir, 'B'), 'utf8')).toBe('2');

    const disable = await syncTo(store, me, entries({ A: '1', C: '3' }), { deletionPolicy: 'Disable' });
    expect(disable.results.find((r) => r.action.storeName === 'B')).toMatchObject({
      ok: true,
      wrote: true,
      action: { type: 'prune', deletion: 'Disable' },
    });
    await expect(lstat(join(dir, 'B'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await store.read(me, [])).find((e) => e.storeName === 'B')).toMatchObject({
      enabled: false,
      value: '2',
    });

    const del = await syncTo(store, me, entries({ A: '1' }), { deletionPolicy: 'Delete' });
    expect(del.results.filter((r) => r.wrote).map((r) => r.action.storeName)).toEqual(['B', 'C']);
    expect((await store.read(me, [])).map((e) => e.storeName)).toEqual(['A']);
    expect((await readdir(dir)).filter((n) => !n.startsWith('..'))).toEqual(['A']);
  });

  it('a create of a commented-out key stores it disabled and unexposed', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: '1' }, ['A']));
    await expect(lstat(join(dir, 'A'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.read(me, [])).toMatchObject([{ storeName: 'A', enabled: false, value: '1' }]);
  });
});

describe('LocalDirStore: ownership', () => {
  it('reports a file it did not create as unowned, so the plan is a conflict and the file stays', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'A'), 'hand-made');
    const store = new LocalDirStore(dir);
    expect(await store.read(me, ['A', 'B'])).toEqual([{ storeName: 'A', enabled: true, value: 'hand-made' }]);

    const { actions, results } = await syncTo(store, me, entries({ A: 'ours', B: 'b' }));
    expect(actions.map((a) => a.type)).toEqual(['conflict', 'create']);
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toMatch(/^conflict: unmanaged entry exists/);
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('hand-made');
    expect((await lstat(join(dir, 'A'))).isFile()).toBe(true);
  });

  it('adopts an unowned file when asked: the file becomes our link and our entry', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'A'), 'hand-made');
    const store = new LocalDirStore(dir, { allowNonEmptyDir: true });
    const { actions, results } = await syncTo(store, me, entries({ A: 'ours' }), { adopt: true });
    expect(actions[0]?.type).toBe('update');
    expect(results[0]).toMatchObject({ ok: true, wrote: true });
    expect(await readlink(join(dir, 'A'))).toBe('..data/A');
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('ours');
    expect(await store.read(me, [])).toMatchObject([{ storeName: 'A', owner: me, value: 'ours' }]);
    expect((await syncTo(store, me, entries({ A: 'ours' }))).actions[0]?.type).toBe('noop');
  });

  it('keeps entries of two owners apart in one directory', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, other, entries({ THEIRS: 't' }));
    await syncTo(store, me, entries({ MINE: 'm' }));
    expect((await store.read(me, [])).map((e) => e.storeName)).toEqual(['MINE']);
    expect(await store.read(me, ['THEIRS'])).toMatchObject([
      { storeName: 'MINE' },
      { storeName: 'THEIRS', owner: other },
    ]);

    const clash = await syncTo(store, me, entries({ MINE: 'm', THEIRS: 'mine now?' }));
    expect(clash.actions.find((a) => a.storeName === 'THEIRS')?.type).toBe('conflict');
    // Deleting all of ours leaves theirs.
    await syncTo(store, me, [], { deletionPolicy: 'Delete' });
    expect(await store.read(other, [])).toMatchObject([{ storeName: 'THEIRS', value: 't' }]);
    expect(await readFile(join(dir, 'THEIRS'), 'utf8')).toBe('t');
    await expect(lstat(join(dir, 'MINE'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("refuses disable/enable/prune of another owner's entry even if a plan asks", async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, other, entries({ T: 't' }));
    const results = await store.apply(me, [
      { type: 'disable', cause: 'disabled', storeName: 'T', kind: 'secret', reason: 'x' },
      { type: 'prune', cause: 'removed', deletion: 'Delete', storeName: 'T', kind: 'secret', reason: 'x' },
      { type: 'create', cause: 'missing', storeName: 'T', kind: 'secret', value: 'v', reason: 'x' },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect(results[0]?.message).toContain('owned by team-b/other');
    expect(await readFile(join(dir, 'T'), 'utf8')).toBe('t');
  });

  it('keeps a payload it did not write (kubelet-style, no manifest) when adding entries', async () => {
    const ts = '..2024_01_01_00_00_00.000000001';
    await mkdir(join(dir, ts), { recursive: true });
    await writeFile(join(dir, ts, 'foreign'), 'f');
    await symlink(ts, join(dir, '..data'));
    await symlink('..data/foreign', join(dir, 'foreign'));
    const store = new LocalDirStore(dir, { allowNonEmptyDir: true });
    expect(await store.read(me, ['foreign'])).toEqual([{ storeName: 'foreign', enabled: true, value: 'f' }]);
    const { actions } = await syncTo(store, me, entries({ A: 'a', foreign: 'x' }));
    expect(actions.map((a) => a.type)).toEqual(['create', 'conflict']);
    expect(await readFile(join(dir, 'foreign'), 'utf8')).toBe('f');
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('a');
    // Its files were carried into our payload; the payload directory itself is not ours to remove.
    expect((await payloadDirs(dir)).sort()).toEqual([ts, await readlink(join(dir, '..data'))].sort());
    expect(await readFile(join(dir, ts, 'foreign'), 'utf8')).toBe('f');
  });
});

describe('LocalDirStore: per-action failures', () => {
  it('fails a bad action alone and applies the rest', async () => {
    const store = new LocalDirStore(dir);
    const actions: Action[] = [
      { type: 'create', cause: 'missing', storeName: '../escape', kind: 'secret', value: 'v', reason: 'x' },
      { type: 'create', cause: 'missing', storeName: 'OK', kind: 'secret', value: 'ok', reason: 'x' },
      // @ts-expect-error an update without a value, as an untyped caller may send one
      { type: 'update', cause: 'changed', storeName: 'NOVALUE', kind: 'secret', reason: 'x' },
      { type: 'enable', cause: 'disabled', storeName: 'MISSING', kind: 'secret', reason: 'x' },
      {
        type: 'create',
        cause: 'missing',
        key: 'BIG',
        storeName: 'BIG',
        kind: 'secret',
        value: 'x'.repeat(store.limits.maxValueBytes + 1),
        reason: 'x',
      },
      { type: 'prune', cause: 'removed', storeName: 'GONE', kind: 'secret', deletion: 'Delete', reason: 'x' },
    ];
    const results = await store.apply(me, actions);
    expect(results.map((r) => [r.action.storeName, r.ok, r.wrote])).toEqual([
      ['../escape', false, false],
      ['OK', true, true],
      ['NOVALUE', false, false],
      ['MISSING', false, false],
      ['BIG', false, false],
      ['GONE', true, false],
    ]);
    expect(results[0]?.message).toMatch(/not a valid local file name/);
    expect(results[4]?.message).toMatch(/key "BIG" is over the local limit of 1048576 bytes/);
    expect(await readFile(join(dir, 'OK'), 'utf8')).toBe('ok');
    await expect(lstat(join(dir, '..', 'escape'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a directory in the way fails that entry', async () => {
    await mkdir(join(dir, 'A'), { recursive: true });
    const store = new LocalDirStore(dir);
    expect(await store.read(me, ['A'])).toEqual([{ storeName: 'A', enabled: true, value: undefined }]);
    const results = await store.apply(me, [
      { type: 'update', cause: 'changed', storeName: 'A', kind: 'secret', value: 'v', reason: 'x' },
    ]);
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toMatch(/directory or special file/);
  });

  it('an unreadable directory fails every action with a StoreError message', async () => {
    await mkdir(join(dir, '..'), { recursive: true });
    await writeFile(dir, 'not a directory');
    const store = new LocalDirStore(dir);
    await expect(store.read(me, [])).rejects.toSatisfy((e) => isSmcError(e, 'StoreError'));
    const results = await store.apply(me, [
      { type: 'create', cause: 'missing', storeName: 'A', kind: 'secret', value: 'v', reason: 'x' },
    ]);
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toMatch(/cannot read local store .*ENOTDIR/);
  });

  it('a damaged manifest is a StoreError that does not quote the file', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: '1' }));
    const data = await readlink(join(dir, '..data'));
    await writeFile(join(dir, data, '.smc', 'manifest.json'), '{"format":1,"entries":[SECRET-ISH');
    let err: unknown;
    try {
      await store.read(me, []);
    } catch (e) {
      err = e;
    }
    expect(isSmcError(err, 'StoreError')).toBe(true);
    expect((err as Error).message).toMatch(/manifest.json is not valid JSON$/);
    expect((err as Error).message).not.toContain('SECRET');
  });

  it('..data pointing at a missing payload is a clear StoreError', async () => {
    await mkdir(dir, { recursive: true });
    await symlink('..2024_01_01_00_00_00.000000001', join(dir, '..data'));
    await expect(new LocalDirStore(dir).read(me, [])).rejects.toThrow(
      /which is missing; remove \.\.data to start over/,
    );
  });

  it('..data that is not a symlink is refused', async () => {
    await mkdir(join(dir, '..data'), { recursive: true });
    await expect(new LocalDirStore(dir).read(me, [])).rejects.toThrow(/not a symlink/);
  });
});

describe('LocalDirStore: leftovers, locking, concurrency', () => {
  it('cleans leftovers of an interrupted apply, even on an otherwise no-op apply', async () => {
    const store = new LocalDirStore(dir);
    const source = entries({ A: '1', B: '2' });
    await syncTo(store, me, source);
    const stale = '..2020_01_01_00_00_00.123456789';
    await mkdir(join(dir, stale, '.smc'), { recursive: true });
    // Our writers mark a payload before anything else goes in (only marked payloads are removed).
    await writeFile(join(dir, stale, '.smc', 'payload'), 'written by secret-manager-controller\n');
    await writeFile(join(dir, stale, 'A'), 'half');
    await symlink(stale, join(dir, '..data_tmp'));
    await symlink('..data/GHOST', join(dir, 'GHOST')); // link for a name that never got swapped in
    await writeFile(join(dir, '..smc_lock'), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname() }));
    await writeFile(join(dir, `..smc_lock.${2 ** 22 + 1}.abcd`), '{}');

    const { actions, results } = await syncTo(store, me, source);
    expect(actions.every((a) => a.type === 'noop')).toBe(true);
    expect(results.every((r) => r.ok && !r.wrote)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(
      [await readlink(join(dir, '..data')), '..data', 'A', 'B'].sort(),
    );
  });

  it('restores a missing link on the next apply', async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: '1' }));
    const { unlink } = await import('node:fs/promises');
    await unlink(join(dir, 'A'));
    await syncTo(store, me, entries({ A: '1' }));
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('1');
  });

  it('serialises concurrent writers in one process', async () => {
    const a = new LocalDirStore(dir);
    const b = new LocalDirStore(dir);
    const writes = Array.from({ length: 8 }, (_, i) =>
      (i % 2 ? a : b).apply(me, [
        {
          type: 'create',
          cause: 'missing',
          key: `K${i}`,
          storeName: `K${i}`,
          kind: 'secret',
          value: `v${i}`,
          reason: 'x',
        },
      ]),
    );
    const results = (await Promise.all(writes)).flat();
    expect(results.every((r) => r.ok && r.wrote)).toBe(true);
    expect((await a.read(me, [])).map((e) => e.value)).toEqual(Array.from({ length: 8 }, (_, i) => `v${i}`));
    expect(await payloadDirs(dir)).toHaveLength(1);
  });

  it("waits for another live process's lock, then fails the writes as a Conflict", async () => {
    const store = new LocalDirStore(dir, { lockTimeoutMs: 300 });
    await syncTo(store, me, entries({ A: '1' }));
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, '..smc_lock'), JSON.stringify({ pid: sleeper.pid, host: hostname() }));
      const started = Date.now();
      const { results } = await syncTo(store, me, entries({ A: '2' }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(results[0]).toMatchObject({ ok: false, wrote: false });
      expect(results[0]?.message).toMatch(new RegExp(`locked by process ${sleeper.pid}`));
      expect(await readFile(join(dir, 'A'), 'utf8')).toBe('1');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});

describe('LocalDirStore: only its own files are removed (issue 10, item 6)', () => {
  const userPayload = '..2020_01_01_00_00_00.000000000';

  it("never removes a user's payload-named directory in a store of ours", async () => {
    const store = new LocalDirStore(dir);
    await syncTo(store, me, entries({ A: 'a' }));
    // The user keeps something of their own beside our payloads, under a name like ours.
    await mkdir(join(dir, userPayload));
    await writeFile(join(dir, userPayload, 'notes.txt'), 'mine');
    await syncTo(store, me, entries({ A: 'a2' }));
    await syncTo(store, me, entries({ A: 'a3' }), { deletionPolicy: 'Delete' });
    expect(await readFile(join(dir, userPayload, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('a3');
    // Our own old payloads are gone: only ours (marked) are removed.
    expect((await payloadDirs(dir)).filter((n) => n !== userPayload)).toHaveLength(1);
  });

  it('refuses a non-empty directory that is not a store of ours, naming it, and writes nothing', async () => {
    await mkdir(join(dir, userPayload), { recursive: true });
    await writeFile(join(dir, userPayload, 'notes.txt'), 'mine');
    await writeFile(join(dir, 'README'), 'hello');
    const before = await fingerprint(dir);
    const store = new LocalDirStore(dir);
    const { results } = await syncTo(store, me, entries({ A: 'a' }));
    expect(results.map((r) => [r.ok, r.wrote])).toEqual([[false, false]]);
    expect(results[0]?.message).toContain(dir);
    expect(results[0]?.message).toMatch(/not empty and not a local store written by this tool/);
    expect(results[0]?.message).toContain('--allow-non-empty-dir');
    expect(await fingerprint(dir)).toEqual(before);
    expect(await readFile(join(dir, userPayload, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('writes into a non-empty directory when told, keeping everything that was there', async () => {
    await mkdir(join(dir, userPayload), { recursive: true });
    await writeFile(join(dir, userPayload, 'notes.txt'), 'mine');
    await writeFile(join(dir, 'README'), 'hello');
    const store = new LocalDirStore(dir, { allowNonEmptyDir: true });
    const { results } = await syncTo(store, me, entries({ A: 'a' }));
    expect(results.map((r) => [r.ok, r.wrote])).toEqual([[true, true]]);
    await syncTo(store, me, entries({ A: 'b' }));
    expect(await readFile(join(dir, userPayload, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readFile(join(dir, 'README'), 'utf8')).toBe('hello');
    expect(await readFile(join(dir, 'A'), 'utf8')).toBe('b');
    // From then on it is a store of ours: no option needed.
    expect((await syncTo(new LocalDirStore(dir), me, entries({ A: 'c' }))).results[0]?.ok).toBe(true);
  });

  it('an empty or missing directory needs no option', async () => {
    await mkdir(dir, { recursive: true });
    expect((await syncTo(new LocalDirStore(dir), me, entries({ A: 'a' }))).results[0]?.ok).toBe(true);
  });
});
