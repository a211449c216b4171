/**
 * The prune-all guard (src/plan/prune-guard.ts) as a pure function, and through the pipeline
 * (src/sync.ts) into a real local store: a pass that would prune every entry its owner has is
 * refused with nothing changed, and only that pass.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NamedEntry } from '../../src/entry.js';
import { isSmcError } from '../../src/errors.js';
import type { DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import { pruneCensus, prunesAll, refusePruneAll } from '../../src/plan/prune-guard.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { Owner, StoredEntry } from '../../src/stores/store.js';
import { type SyncRequest, pruneOwned, sync } from '../../src/sync.js';
import { makeTree, removeTree } from '../render/helpers.js';

const me: Owner = { namespace: 'team-a', name: 'app' };
const other: Owner = { namespace: 'team-b', name: 'theirs' };

const want = (name: string, enabled = true): NamedEntry => ({
  key: name,
  value: 'v',
  kind: 'secret',
  enabled,
  origin: 'a.env',
  storeName: name,
});
/** `null`: an entry with no ownership marker. */
const have = (name: string, owner: Owner | null = me, enabled = true): StoredEntry => ({
  storeName: name,
  value: 'v',
  enabled,
  owner: owner ?? undefined,
  key: name,
  kind: 'secret',
});

function census(
  desired: NamedEntry[],
  actual: StoredEntry[],
  deletionPolicy: DeletionPolicy = 'Delete',
  held: string[] = [],
) {
  const input = { desired, actual, owner: me, deletionPolicy, triggerUpdate: true, adopt: false, held };
  return pruneCensus(input, planActions(input));
}

describe('pruneCensus / prunesAll', () => {
  it('an empty source pruning every owned entry is a prune-all; with Retain nothing is pruned', () => {
    expect(prunesAll([census([], [have('A'), have('B')])])).toBe(true);
    expect(prunesAll([census([], [have('A'), have('B')], 'Disable')])).toBe(true);
    expect(prunesAll([census([], [have('A'), have('B')], 'Retain')])).toBe(false);
  });

  it('renaming every owned entry (a prefix typo) prunes all of them too', () => {
    expect(prunesAll([census([want('x-A'), want('x-B')], [have('A'), have('B')])])).toBe(true);
  });

  it('is not a prune-all when the owner has nothing yet, or only entries of others', () => {
    expect(prunesAll([census([], [])])).toBe(false);
    expect(prunesAll([census([want('A')], [])])).toBe(false);
    expect(prunesAll([census([], [have('A', other), have('B', null)])])).toBe(false);
  });

  it('keeps count of entries still rendered, commented out (disabled) or held', () => {
    expect(census([want('A')], [have('A'), have('B')])).toEqual({ owned: 2, kept: 1, pruned: ['B'] });
    // Every key commented out: disabled, not pruned, and still the source's.
    const commented = census([want('A', false), want('B', false)], [have('A'), have('B')]);
    expect(commented).toEqual({ owned: 2, kept: 2, pruned: [] });
    expect(prunesAll([commented])).toBe(false);
    // An entry held back (e.g. over the size limit) is still in Git.
    expect(prunesAll([census([], [have('A'), have('B')], 'Delete', ['A'])])).toBe(false);
  });

  it('with deletionPolicy Disable, entries already disabled are not pruned again, but count as gone', () => {
    const c = census([], [have('A', me, false), have('B')], 'Disable');
    expect(c).toEqual({ owned: 2, kept: 0, pruned: ['B'] });
    expect(prunesAll([c])).toBe(true);
    // Nothing left to disable: nothing changes, nothing to refuse.
    expect(prunesAll([census([], [have('A', me, false)], 'Disable')])).toBe(false);
  });

  it('counts the whole pass: a store emptied while another keeps entries is not a prune-all', () => {
    const secrets = census([want('A')], [have('A')]);
    const configs = census([], [have('C1'), have('C2')]);
    expect(prunesAll([secrets, configs])).toBe(false);
    expect(prunesAll([census([], [have('A')]), configs])).toBe(true);
  });

  it('refuses with a value-free message naming the owner, the entries and the switch', () => {
    let err: unknown;
    try {
      refusePruneAll([census([], [have('A'), have('B'), have('C'), have('D')])], {
        owner: me,
        deletionPolicy: 'Delete',
        rendered: 0,
        allowSwitch: '--allow-prune-all',
      });
    } catch (e) {
      err = e;
    }
    expect(isSmcError(err, 'PruneAllRefused')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain('refusing to delete every entry team-a/app owns (4: A, B, C, …)');
    expect(message).toContain('the source renders no entry');
    expect(message).toContain('--allow-prune-all');
  });
});

describe('sync() with the guard, into a local store', () => {
  const roots: string[] = [];
  afterEach(() => {
    while (roots.length) removeTree(roots.pop()!);
  });
  const ENV = 'svc/deployment-configuration/profiles/dev/application.secrets.env';

  function setUp(files: Record<string, string>) {
    const root = makeTree(files);
    roots.push(root);
    const out = path.join(root, '..', `${path.basename(root)}-out`);
    roots.push(out);
    const run = (over: Partial<SyncRequest> = {}) =>
      sync({
        source: { root, description: 'test tree' },
        owner: me,
        environment: 'dev',
        render: { mode: 'raw' },
        sops: { enabled: false },
        secretStore: new LocalDirStore(out),
        deletionPolicy: 'Delete',
        triggerUpdate: true,
        adopt: false,
        allow: { plaintext: true },
        ...over,
      });
    const names = () =>
      readdirSync(out)
        .filter((n) => !n.startsWith('.'))
        .sort();
    return { root, out, run, names };
  }

  it('refuses to empty the store and changes nothing; allowed, it prunes', async () => {
    const t = setUp({ [ENV]: 'A=1\nB=2\n' });
    await t.run();
    expect(t.names()).toEqual(['svc-A', 'svc-B']);
    writeFileSync(path.join(t.root, ENV), '# nothing left\n');

    for (const over of [{}, { dryRun: true }, { deletionPolicy: 'Disable' as const }]) {
      const err = await t.run(over).catch((e: unknown) => e);
      expect(isSmcError(err, 'PruneAllRefused'), String(err)).toBe(true);
      expect((err as Error).message).toContain('allowPruneAll');
      expect(t.names()).toEqual(['svc-A', 'svc-B']);
    }
    const msg = await t
      .run({ allowSwitches: { pruneAll: 'spec.allowPruneAll: true' } })
      .catch((e: Error) => e.message);
    expect(msg).toContain('allow it with spec.allowPruneAll: true');

    const allowed = await t.run({ allow: { plaintext: true, pruneAll: true } });
    expect(allowed.outcomes.map((o) => [o.storeName, o.action, o.result])).toEqual([
      ['svc-A', 'prune', 'ok'],
      ['svc-B', 'prune', 'ok'],
    ]);
    expect(t.names()).toEqual([]);
  });

  it('commenting out every key disables the entries: not refused', async () => {
    const t = setUp({ [ENV]: 'A=1\nB=2\n' });
    await t.run();
    writeFileSync(path.join(t.root, ENV), '#A=1\n#B=2\n');
    const r = await t.run();
    expect(r.outcomes.map((o) => [o.storeName, o.action])).toEqual([
      ['svc-A', 'disable'],
      ['svc-B', 'disable'],
    ]);
    // …and removing them afterwards prunes every entry: refused again.
    writeFileSync(path.join(t.root, ENV), '\n');
    expect(isSmcError(await t.run().catch((e: unknown) => e), 'PruneAllRefused')).toBe(true);
  });

  it('a source that removes one service of two prunes it; the other keeps its entries', async () => {
    const t = setUp({
      [ENV]: 'A=1\n',
      'web/deployment-configuration/profiles/dev/application.secrets.env': 'W=1\n',
    });
    await t.run();
    rmSync(path.join(t.root, 'web'), { recursive: true });
    const r = await t.run();
    expect(r.outcomes.filter((o) => o.action === 'prune').map((o) => o.storeName)).toEqual(['web-W']);
    expect(t.names()).toEqual(['svc-A']);
  });

  it('an environment that does not exist is an error before any store is read', async () => {
    const t = setUp({ [ENV]: 'A=1\n' });
    await t.run();
    const err = await t.run({ environment: 'dve' }).catch((e: unknown) => e);
    expect(isSmcError(err, 'EnvironmentNotFound'), String(err)).toBe(true);
    expect(t.names()).toEqual(['svc-A']);
  });

  it('an SMC deleted with deletionPolicy Delete still deletes every entry it owns (the finalizer)', async () => {
    const t = setUp({ [ENV]: 'A=1\nB=2\n' });
    await t.run();
    mkdirSync(t.out, { recursive: true });
    const { results } = await pruneOwned(new LocalDirStore(t.out), me, 'Delete');
    expect(results.map((r) => [r.action.storeName, r.action.type, r.ok])).toEqual([
      ['svc-A', 'prune', true],
      ['svc-B', 'prune', true],
    ]);
    expect(t.names()).toEqual([]);
  });
});
