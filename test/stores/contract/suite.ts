/**
 * The store contract: one suite every SecretStore passes, driven the way `src/sync.ts` drives a store
 * (nameEntries → checkLimits → read → planActions → apply). A target (one file per store, e.g.
 * `aws-secrets-manager.test.ts`) starts its peer, hands out a fresh store per test and gives
 * out-of-band SDK access to set up conflicts and drift and to inspect what the store really holds.
 *
 * Every test uses its own owner and name prefix, so tests sharing one peer never see each other.
 * Every value carries a canary; no observer call, result, reason or error may carry any piece of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry, NamedEntry } from '../../../src/entry.js';
import { isSmcError } from '../../../src/errors.js';
import { checkLimits, rejectionResult } from '../../../src/naming/limits.js';
import { nameEntries, nameProblem } from '../../../src/naming/name.js';
import type { Action, ActionResult, DeletionPolicy } from '../../../src/plan/actions.js';
import { planActions } from '../../../src/plan/plan.js';
import type { Owner, ProviderCall, StoredEntry } from '../../../src/stores/store.js';
import { CALL_BUDGET, measureCalls } from './call-budget.js';
import type { StoreTarget, StoreUnderTest } from './target.js';

export type { OutOfBand, StoreTarget, StoreUnderTest } from './target.js';

/** A distinctive value fragment; every value the suite writes contains it. */
const CANARY = `cnry${randomBytes(9).toString('hex')}q`;

/** A secret value carrying the canary (`tag` keeps values of one test distinct). */
export function canaryValue(tag: string): string {
  return `${tag}:${CANARY}:${tag}`;
}

function fingerprints(v: string): string[] {
  const hashes = ['sha256', 'sha1', 'md5'].flatMap((alg) => {
    const d = createHash(alg).update(v).digest();
    return [d.toString('hex'), d.toString('base64'), d.toString('base64url')];
  });
  const pieces = Array.from({ length: Math.max(0, v.length - 9) }, (_, i) => v.slice(i, i + 10));
  return [...pieces, Buffer.from(v).toString('base64').slice(0, 16), ...hashes];
}
const FORBIDDEN = fingerprints(CANARY);

/** Everything user-visible in a value: actions lose their (legitimate) `value` field first. */
function visible(x: unknown): string {
  return JSON.stringify(x, (k, v: unknown) =>
    k === 'value' ? undefined : v instanceof Error ? `${v.name}: ${v.message} ${String(v.cause ?? '')}` : v,
  );
}

/** Fails when `x` (results, calls, errors) carries any piece or hash of the canary. */
export function expectNoCanary(label: string, x: unknown): void {
  const text = visible(x);
  for (const f of FORBIDDEN) {
    if (text.includes(f)) expect.fail(`${label} leaks a fragment of a secret value: ${text.slice(0, 300)}`);
  }
}

function rand(): string {
  return randomBytes(4).toString('hex');
}

interface SyncOptions {
  deletionPolicy?: DeletionPolicy;
  triggerUpdate?: boolean;
  adopt?: boolean;
  owner?: Owner;
}

interface SyncOutcome {
  actions: Action[];
  results: ActionResult[];
  /** Refused by checkLimits before any call (as `rejectionResult`). */
  rejected: ActionResult[];
  named: NamedEntry[];
}

/** One test's world: its store, owner, name prefix, and the observer calls seen so far. */
interface World {
  sut: StoreUnderTest;
  owner: Owner;
  prefix: string;
  seen: ProviderCall[];
  entries(values: Record<string, string>, disabled?: readonly string[]): Entry[];
  name(key: string): string;
  sync(source: Entry[], opts?: SyncOptions): Promise<SyncOutcome>;
}

export function runStoreContract(target: StoreTarget): void {
  const label = `store contract: ${target.name}${target.fake ? ' (against a fake written from the API reference)' : ''}`;

  describe(label, () => {
    let started: Awaited<ReturnType<StoreTarget['start']>> | undefined;
    const allSeen: unknown[] = [];

    beforeAll(async () => {
      started = await target.start();
    });
    afterAll(async () => {
      await started?.stop();
    });

    /** `observerThrows`: the store's observer records each call, then throws (a broken metrics hook). */
    async function world(opts: { observerThrows?: boolean } = {}): Promise<World> {
      if (!started) throw new Error(`${target.name}: target did not start`);
      const seen: ProviderCall[] = [];
      const broken = () => {
        if (opts.observerThrows) throw new Error('observer failed');
      };
      const sut = await started.newStore({
        observer: {
          onCall: (call) => {
            seen.push(call);
            allSeen.push(call);
            broken();
          },
          onThrottled: broken,
        },
      });
      const owner: Owner = { namespace: `ns-${rand()}`, name: `smc-${rand()}` };
      const prefix = `c${rand()}`;
      const entries = (values: Record<string, string>, disabled: readonly string[] = []): Entry[] =>
        Object.entries(values).map(([key, value]) => ({
          key,
          value,
          kind: 'secret',
          enabled: !disabled.includes(key),
          origin: 'svc/application.secrets.env',
        }));
      const name = (key: string): string => {
        const [named] = nameEntries(entries({ [key]: 'x' }), { rule: sut.store.naming, prefix });
        if (!named) throw new Error('nameEntries returned nothing');
        return named.storeName;
      };
      const sync = async (source: Entry[], opts: SyncOptions = {}): Promise<SyncOutcome> => {
        const who = opts.owner ?? owner;
        const named = nameEntries(source, { rule: sut.store.naming, prefix });
        const { accepted, rejected } = checkLimits(named, sut.store.limits, { store: sut.store.type });
        const actual = await sut.store.read(
          who,
          named.map((e) => e.storeName),
        );
        checkStoredEntries(actual);
        const actions = planActions({
          desired: accepted,
          actual,
          owner: who,
          deletionPolicy: opts.deletionPolicy ?? 'Delete',
          triggerUpdate: opts.triggerUpdate ?? true,
          adopt: opts.adopt ?? false,
          held: rejected.map((r) => r.entry.storeName),
        });
        const results = await sut.store.apply(who, actions);
        const out = { actions, results, rejected: rejected.map(rejectionResult), named };
        expectNoCanary('apply results', out.results);
        expectNoCanary('rejections', out.rejected);
        expectNoCanary('planned actions', out.actions);
        expectNoCanary('observer calls', seen);
        expectNoCanary('read entries (owner, key, version)', actual);
        expect(results.map((r) => r.action)).toEqual(actions);
        return out;
      };
      return { sut, owner, prefix, seen, entries, name, sync };
    }

    /** A read never reports a value-free entry of ours as something else; shapes are sane. */
    function checkStoredEntries(actual: readonly StoredEntry[]): void {
      for (const a of actual) {
        expect(typeof a.storeName).toBe('string');
        expect(typeof a.enabled).toBe('boolean');
      }
    }

    function okResults(results: readonly ActionResult[]): void {
      const failed = results.filter((r) => !r.ok);
      expect(
        failed.map((r) => `${r.action.type} ${r.action.storeName}: ${r.message}`),
        'failed results',
      ).toEqual([]);
    }

    function types(actions: readonly Action[]): Record<string, string> {
      return Object.fromEntries(actions.map((a) => [a.storeName, a.type]));
    }

    it('create: new entries are written, enabled, owned by us, and read back', async () => {
      const w = await world();
      const a = canaryValue('create-a');
      const b = canaryValue('create-b');
      const { actions, results } = await w.sync(w.entries({ DB_PASSWORD: a, API_TOKEN: b }));
      expect(Object.values(types(actions))).toEqual(['create', 'create']);
      okResults(results);
      expect(results.every((r) => r.wrote)).toBe(true);
      expect(w.sut.calls.writes()).toBeGreaterThan(0);

      for (const [key, value] of [
        ['DB_PASSWORD', a],
        ['API_TOKEN', b],
      ] as const) {
        const n = w.name(key);
        expect(await w.sut.outOfBand.exists(n)).toBe(true);
        expect(await w.sut.outOfBand.readValue(n)).toBe(value);
        expect(await w.sut.outOfBand.isEnabled(n)).toBe(true);
      }
      const read = await w.sut.store.read(w.owner, [w.name('DB_PASSWORD')]);
      const mine = read.find((e) => e.storeName === w.name('DB_PASSWORD'));
      expect(mine).toMatchObject({ enabled: true, owner: w.owner });
      // The value, or (a store that remembers what its versions hold) whether it is `a`.
      expect(mine?.value === a || (mine?.value === undefined && mine?.holds?.(a) === true)).toBe(true);
      expect(mine?.holds?.(b) ?? false).toBe(false);
      expectNoCanary('read entries', { ...mine, value: undefined });
    });

    it('no-op on an equal value: a second sync of the same content makes zero writes', async () => {
      const w = await world();
      const source = w.entries({ ONE: canaryValue('noop-1'), TWO: canaryValue('noop-2') }, ['TWO']);
      okResults((await w.sync(source)).results);
      const before = await w.sut.outOfBand.versionCount(w.name('ONE'));

      w.sut.calls.reset();
      const again = await w.sync(source);
      expect(Object.values(types(again.actions))).toEqual(['noop', 'noop']);
      okResults(again.results);
      expect(again.results.some((r) => r.wrote)).toBe(false);
      expect(w.sut.calls.writes()).toBe(0);
      expect(w.sut.calls.reads()).toBeGreaterThan(0);
      expect(await w.sut.outOfBand.versionCount(w.name('ONE'))).toBe(before);
    });

    it('update: a changed value makes exactly one new version, and the new value is current', async () => {
      const w = await world();
      const n = w.name('ROTATED');
      okResults((await w.sync(w.entries({ ROTATED: canaryValue('v1'), STILL: canaryValue('s') }))).results);
      const before = await w.sut.outOfBand.versionCount(n);

      w.sut.calls.reset();
      const { actions, results } = await w.sync(
        w.entries({ ROTATED: canaryValue('v2'), STILL: canaryValue('s') }),
      );
      expect(types(actions)).toEqual({ [n]: 'update', [w.name('STILL')]: 'noop' });
      okResults(results);
      expect(results.find((r) => r.action.storeName === n)?.wrote).toBe(true);
      expect(w.sut.calls.writes()).toBeGreaterThan(0);
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('v2'));
      if (before !== undefined) expect(await w.sut.outOfBand.versionCount(n)).toBe(before + 1);

      // And nothing more on the next round.
      w.sut.calls.reset();
      await w.sync(w.entries({ ROTATED: canaryValue('v2'), STILL: canaryValue('s') }));
      expect(w.sut.calls.writes()).toBe(0);
    });

    it('drift: a value changed outside Git is planned as an update and restored', async () => {
      const w = await world();
      const n = w.name('DRIFTY');
      const source = w.entries({ DRIFTY: canaryValue('git') });
      okResults((await w.sync(source)).results);
      await w.sut.outOfBand.setValue(n, canaryValue('changed-by-hand'));
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('changed-by-hand'));

      const { actions, results } = await w.sync(source);
      expect(types(actions)).toEqual({ [n]: 'update' });
      okResults(results);
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('git'));
    });

    it('disable/enable: a commented-out key disables the entry, keeping its value; uncommenting restores it', async () => {
      const w = await world();
      const n = w.name('TOGGLE');
      const value = canaryValue('toggle');
      okResults((await w.sync(w.entries({ TOGGLE: value }))).results);
      const versions = await w.sut.outOfBand.versionCount(n);

      const off = await w.sync(w.entries({ TOGGLE: value }, ['TOGGLE']));
      expect(types(off.actions)).toEqual({ [n]: 'disable' });
      okResults(off.results);
      expect(await w.sut.outOfBand.exists(n)).toBe(true);
      expect(await w.sut.outOfBand.isEnabled(n)).toBe(false);
      const read = await w.sut.store.read(w.owner, []);
      expect(read.find((e) => e.storeName === n)).toMatchObject({ enabled: false, owner: w.owner });

      // Disabled and unchanged: nothing to do.
      w.sut.calls.reset();
      const still = await w.sync(w.entries({ TOGGLE: value }, ['TOGGLE']));
      expect(types(still.actions)).toEqual({ [n]: 'noop' });
      expect(w.sut.calls.writes()).toBe(0);

      const on = await w.sync(w.entries({ TOGGLE: value }));
      expect(types(on.actions)).toEqual({ [n]: 'enable' });
      okResults(on.results);
      expect(await w.sut.outOfBand.isEnabled(n)).toBe(true);
      expect(await w.sut.outOfBand.readValue(n)).toBe(value);
      // Re-enabling an unchanged value makes no new version.
      expect(await w.sut.outOfBand.versionCount(n)).toBe(versions);
    });

    it('disable/enable with a value change: update stays disabled; enable carries the new value', async () => {
      const w = await world();
      const n = w.name('TOGGLE2');
      okResults((await w.sync(w.entries({ TOGGLE2: canaryValue('t1') }))).results);

      const off = await w.sync(w.entries({ TOGGLE2: canaryValue('t2') }, ['TOGGLE2']));
      expect(off.actions[0]).toMatchObject({ type: 'update', enabled: false });
      okResults(off.results);
      expect(await w.sut.outOfBand.isEnabled(n)).toBe(false);
      w.sut.calls.reset();
      const settled = await w.sync(w.entries({ TOGGLE2: canaryValue('t2') }, ['TOGGLE2']));
      expect(types(settled.actions)).toEqual({ [n]: 'noop' });
      expect(w.sut.calls.writes()).toBe(0);

      const on = await w.sync(w.entries({ TOGGLE2: canaryValue('t3') }));
      expect(on.actions[0]).toMatchObject({ type: 'enable', enabled: true });
      okResults(on.results);
      expect(await w.sut.outOfBand.isEnabled(n)).toBe(true);
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('t3'));
      w.sut.calls.reset();
      const after = await w.sync(w.entries({ TOGGLE2: canaryValue('t3') }));
      expect(types(after.actions)).toEqual({ [n]: 'noop' });
      expect(w.sut.calls.writes()).toBe(0);
    });

    it('a disabled key that never existed is created disabled', async () => {
      const w = await world();
      const n = w.name('BORN_OFF');
      const { actions, results } = await w.sync(w.entries({ BORN_OFF: canaryValue('off') }, ['BORN_OFF']));
      expect(actions[0]).toMatchObject({ type: 'create', enabled: false });
      okResults(results);
      expect(await w.sut.outOfBand.exists(n)).toBe(true);
      expect(await w.sut.outOfBand.isEnabled(n)).toBe(false);
      w.sut.calls.reset();
      await w.sync(w.entries({ BORN_OFF: canaryValue('off') }, ['BORN_OFF']));
      expect(w.sut.calls.writes()).toBe(0);
    });

    describe('prune per deletionPolicy (key removed from Git)', () => {
      async function removed(policy: DeletionPolicy) {
        const w = await world();
        const keep = canaryValue('keep');
        const gone = canaryValue('gone');
        okResults((await w.sync(w.entries({ KEEP: keep, GONE: gone }), { deletionPolicy: policy })).results);
        const second = await w.sync(w.entries({ KEEP: keep }), { deletionPolicy: policy });
        okResults(second.results);
        return { w, second, n: w.name('GONE'), gone, keep };
      }

      it('Retain: the entry stays as it is', async () => {
        const { w, second, n, gone } = await removed('Retain');
        expect(types(second.actions)[n]).toBe('noop');
        expect(await w.sut.outOfBand.exists(n)).toBe(true);
        expect(await w.sut.outOfBand.isEnabled(n)).toBe(true);
        expect(await w.sut.outOfBand.readValue(n)).toBe(gone);
      });

      it('Disable: the entry is disabled, its value kept; the next round does nothing', async () => {
        const { w, second, n, keep } = await removed('Disable');
        expect(types(second.actions)[n]).toBe('prune');
        expect(await w.sut.outOfBand.exists(n)).toBe(true);
        expect(await w.sut.outOfBand.isEnabled(n)).toBe(false);
        w.sut.calls.reset();
        const third = await w.sync(w.entries({ KEEP: keep }), { deletionPolicy: 'Disable' });
        expect(types(third.actions)[n]).toBe('noop');
        expect(w.sut.calls.writes()).toBe(0);
      });

      it('Delete: the entry is gone, no longer listed, and comes back when the key returns', async () => {
        const { w, second, n, gone, keep } = await removed('Delete');
        expect(types(second.actions)[n]).toBe('prune');
        expect(await w.sut.outOfBand.exists(n)).toBe(false);
        const listed = (await w.sut.store.read(w.owner, [])).map((e) => e.storeName);
        expect(listed).toEqual([w.name('KEEP')]);

        // Re-adding the key re-creates the entry (a soft-deleted entry is restored, not refused).
        const back = await w.sync(w.entries({ KEEP: keep, GONE: gone }));
        okResults(back.results);
        expect(await w.sut.outOfBand.exists(n)).toBe(true);
        expect(await w.sut.outOfBand.isEnabled(n)).toBe(true);
        expect(await w.sut.outOfBand.readValue(n)).toBe(gone);
        w.sut.calls.reset();
        await w.sync(w.entries({ KEEP: keep, GONE: gone }));
        expect(w.sut.calls.writes()).toBe(0);
      });
    });

    it('conflict: an existing entry without our ownership marker is left untouched', async () => {
      const w = await world();
      const n = w.name('THEIRS');
      const theirs = canaryValue('theirs');
      await w.sut.outOfBand.createUnmanaged(n, theirs);

      w.sut.calls.reset();
      const { actions, results } = await w.sync(w.entries({ THEIRS: canaryValue('ours') }));
      expect(types(actions)).toEqual({ [n]: 'conflict' });
      expect(results[0]).toMatchObject({ ok: false, wrote: false });
      expect(results[0]?.message).toMatch(/conflict/i);
      expect(w.sut.calls.writes()).toBe(0);
      expect(await w.sut.outOfBand.readValue(n)).toBe(theirs);
      expect(await w.sut.outOfBand.isEnabled(n)).toBe(true);
      // Not ours, so not listed as ours, and never pruned.
      expect((await w.sut.store.read(w.owner, [])).map((e) => e.storeName)).not.toContain(n);
      const pruneRound = await w.sync(w.entries({}), { deletionPolicy: 'Delete' });
      expect(pruneRound.actions).toEqual([]);
      expect(await w.sut.outOfBand.readValue(n)).toBe(theirs);
    });

    it('adoption: an unowned entry is taken over with adopt; then it is ours and in sync', async () => {
      const w = await world();
      const n = w.name('ADOPTED');
      await w.sut.outOfBand.createUnmanaged(n, canaryValue('before'));

      const { actions, results } = await w.sync(w.entries({ ADOPTED: canaryValue('after') }), {
        adopt: true,
      });
      expect(types(actions)).toEqual({ [n]: 'update' });
      okResults(results);
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('after'));
      const read = await w.sut.store.read(w.owner, []);
      expect(read.find((e) => e.storeName === n)).toMatchObject({ owner: w.owner, enabled: true });

      w.sut.calls.reset();
      const again = await w.sync(w.entries({ ADOPTED: canaryValue('after') }));
      expect(types(again.actions)).toEqual({ [n]: 'noop' });
      expect(w.sut.calls.writes()).toBe(0);
    });

    it('adoption of an equal value records ownership without a new value', async () => {
      const w = await world();
      const n = w.name('SAME');
      const value = canaryValue('same');
      await w.sut.outOfBand.createUnmanaged(n, value);
      const before = await w.sut.outOfBand.versionCount(n);
      const { results } = await w.sync(w.entries({ SAME: value }), { adopt: true });
      okResults(results);
      expect(await w.sut.outOfBand.readValue(n)).toBe(value);
      if (before !== undefined) {
        const after = await w.sut.outOfBand.versionCount(n);
        expect(after === before || after === before + 1).toBe(true);
      }
      expect((await w.sut.store.read(w.owner, [])).map((e) => e.storeName)).toEqual([n]);
    });

    it('adoption never takes an entry owned by another SecretManagerConfig', async () => {
      const w = await world();
      const n = w.name('SHARED');
      const other: Owner = { namespace: `ns-${rand()}`, name: 'other-smc' };
      okResults((await w.sync(w.entries({ SHARED: canaryValue('first') }), { owner: other })).results);

      w.sut.calls.reset();
      const { actions, results } = await w.sync(w.entries({ SHARED: canaryValue('second') }), {
        adopt: true,
      });
      expect(types(actions)).toEqual({ [n]: 'conflict' });
      expect(results[0]).toMatchObject({ ok: false, wrote: false });
      expect(w.sut.calls.writes()).toBe(0);
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('first'));
      const theirs = await w.sut.store.read(other, []);
      expect(theirs.map((e) => e.storeName)).toEqual([n]);
    });

    it('oversize: refused by checkLimits before any call; the other entries still go ahead', async () => {
      const w = await world();
      const max = w.sut.store.limits.maxValueBytes;
      const big = canaryValue('big').padEnd(max + 1, 'x');
      const fits = canaryValue('fits').padEnd(max, 'y');
      const named = nameEntries(w.entries({ BIG: big, FITS: fits }), {
        rule: w.sut.store.naming,
        prefix: w.prefix,
      });

      w.sut.calls.reset();
      const { rejected, accepted } = checkLimits(named, w.sut.store.limits, { store: w.sut.store.type });
      expect(rejected.map((r) => r.entry.key)).toEqual(['BIG']);
      expect(accepted.map((r) => r.key)).toEqual(['FITS']);
      expect(w.sut.calls.writes() + w.sut.calls.reads()).toBe(0);
      expect(rejected[0]?.message).toContain(String(max));
      expectNoCanary('limit rejection', rejected.map(rejectionResult));

      const out = await w.sync(w.entries({ BIG: big, FITS: fits }));
      expect(out.rejected.map((r) => r.action.key)).toEqual(['BIG']);
      okResults(out.results);
      expect(await w.sut.outOfBand.exists(w.name('BIG'))).toBe(false);
      expect(await w.sut.outOfBand.readValue(w.name('FITS'))).toBe(fits);

      // An entry that exists and then grows over the limit is held: neither written nor pruned.
      const again = await w.sync(w.entries({ FITS: big }));
      expect(again.rejected.map((r) => r.action.key)).toEqual(['FITS']);
      expect(again.actions).toEqual([]);
      expect(await w.sut.outOfBand.readValue(w.name('FITS'))).toBe(fits);
    });

    it("name sanitising: keys outside the store's alphabet get valid names that round-trip", async () => {
      const w = await world();
      const key = 'db.pass word/x@y';
      const n = w.name(key);
      expect(nameProblem(w.sut.store.naming, n)).toBeUndefined();
      const { results } = await w.sync(w.entries({ [key]: canaryValue('san') }));
      okResults(results);
      expect(await w.sut.outOfBand.readValue(n)).toBe(canaryValue('san'));
      w.sut.calls.reset();
      const again = await w.sync(w.entries({ [key]: canaryValue('san') }));
      expect(types(again.actions)).toEqual({ [n]: 'noop' });
      expect(w.sut.calls.writes()).toBe(0);
    });

    it('name collision: two keys mapping to one name stop the run before any call', async () => {
      const w = await world();
      const rule = w.sut.store.naming;
      // A key the store's alphabet must rewrite (App Configuration allows spaces but not `%`).
      const k1 = ['coll key', 'coll%key'].find((k) => rule.sanitize(k) !== k) ?? '';
      expect(k1, `no candidate key is rewritten by the ${rule.store} naming rule`).not.toBe('');
      const k2 = rule.sanitize(k1);
      const source = w.entries({ [k1]: canaryValue('c1'), [k2]: canaryValue('c2') });
      w.sut.calls.reset();
      let error: unknown;
      try {
        await w.sync(source);
      } catch (e) {
        error = e;
      }
      expect(isSmcError(error, 'NameCollision'), String(error)).toBe(true);
      expect(String((error as Error).message)).toContain(`"${k1}"`);
      expect(String((error as Error).message)).toContain(`"${k2}"`);
      expectNoCanary('collision error', error);
      expect(w.sut.calls.writes() + w.sut.calls.reads()).toBe(0);
      expect(await w.sut.outOfBand.exists(w.name(k2))).toBe(false);
    });

    it("listing what we own: read(owner, []) returns exactly our entries, not other owners' or unmanaged ones", async () => {
      const w = await world();
      const other: Owner = { namespace: `ns-${rand()}`, name: 'neighbour' };
      okResults(
        (await w.sync(w.entries({ MINE_A: canaryValue('a'), MINE_B: canaryValue('b') }, ['MINE_B']))).results,
      );
      okResults((await w.sync(w.entries({ THEIRS_C: canaryValue('c') }), { owner: other })).results);
      const unmanaged = w.name('LOOSE_D');
      await w.sut.outOfBand.createUnmanaged(unmanaged, canaryValue('d'));

      const mine = await w.sut.store.read(w.owner, []);
      expect(mine.map((e) => e.storeName).sort()).toEqual([w.name('MINE_A'), w.name('MINE_B')].sort());
      for (const e of mine) expect(e.owner).toEqual(w.owner);
      expect(mine.find((e) => e.storeName === w.name('MINE_B'))?.enabled).toBe(false);
      // Values of names not asked for are optional (a store need not fetch what no plan compares).
      const a = mine.find((e) => e.storeName === w.name('MINE_A'));
      expect(a?.enabled).toBe(true);
      expect(a?.value === undefined || a.value === canaryValue('a')).toBe(true);

      // Names asked for are reported whoever holds them, with their owner (or none).
      const asked = await w.sut.store.read(w.owner, [unmanaged, w.name('THEIRS_C'), w.name('NOPE')]);
      const byName = new Map(asked.map((e) => [e.storeName, e]));
      expect(byName.get(unmanaged)?.owner).toBeUndefined();
      expect(byName.get(w.name('THEIRS_C'))?.owner).toEqual(other);
      expect(byName.has(w.name('NOPE'))).toBe(false);
      expect(byName.has(w.name('MINE_A'))).toBe(true);

      // Our prune (Delete) leaves the neighbour's and the unmanaged entries alone.
      const pruned = await w.sync(w.entries({}), { deletionPolicy: 'Delete' });
      okResults(pruned.results);
      expect(await w.sut.outOfBand.exists(w.name('MINE_A'))).toBe(false);
      expect(await w.sut.outOfBand.exists(w.name('THEIRS_C'))).toBe(true);
      expect(await w.sut.outOfBand.exists(unmanaged)).toBe(true);
      expect(await w.sut.store.read(w.owner, [])).toEqual([]);
    });

    it('call budget: ≤ 3 calls per created or changed value, ≤ 1 per re-verified unchanged entry', async () => {
      const w = await world();
      const figures = await measureCalls({
        store: w.sut.store,
        owner: w.owner,
        prefix: w.prefix,
        seen: w.seen,
        agree: () => void w.sut.calls.reads(),
        value: canaryValue,
      });
      const shown = JSON.stringify(figures);
      expect(figures.unchangedWrites, shown).toBe(0);
      expect(figures.verify, shown).toBeLessThanOrEqual(CALL_BUDGET.perVerifiedEntry);
      expect(figures.change, shown).toBeLessThanOrEqual(CALL_BUDGET.perChangedValue);
      expect(figures.create, shown).toBeLessThanOrEqual(CALL_BUDGET.perCreatedValue);
      // A pass's fixed cost (listing what the owner holds; SSM: two queries and a batch read) stays
      // a few calls, whatever the size.
      expect(figures.unchangedSmall - 3 * figures.verify, shown).toBeLessThanOrEqual(3);
    });

    it('an observer that throws never fails a store call: every write lands and reports ok', async () => {
      const w = await world({ observerThrows: true });
      const [a, b, a2] = [canaryValue('shield-a'), canaryValue('shield-b'), canaryValue('shield-a2')];
      const created = await w.sync(w.entries({ SHIELD_A: a, SHIELD_B: b }));
      okResults(created.results);
      expect(types(created.actions)).toEqual({
        [w.name('SHIELD_A')]: 'create',
        [w.name('SHIELD_B')]: 'create',
      });
      const changed = await w.sync(w.entries({ SHIELD_A: a2, SHIELD_B: b }));
      okResults(changed.results);
      expect(types(changed.actions)).toEqual({
        [w.name('SHIELD_A')]: 'update',
        [w.name('SHIELD_B')]: 'noop',
      });
      expect(await w.sut.outOfBand.readValue(w.name('SHIELD_A'))).toBe(a2);
      expect(await w.sut.outOfBand.readValue(w.name('SHIELD_B'))).toBe(b);
      // Each request was still reported (and the report threw), and once: the observer's count of
      // writes agrees with the peer's (checked by `calls`), so no write was retried for its sake.
      // At least one write per pass (the Kubernetes Secret store writes its one Secret once a pass).
      expect(w.seen.filter((c) => c.write && c.result === 'ok').length).toBeGreaterThanOrEqual(2);
      expect(w.seen.filter((c) => c.write && c.result === 'error')).toEqual([]);
      expect(w.sut.calls.writes()).toBe(w.seen.filter((c) => c.write).length);
    });

    it('never leaks: no observer call across the suite carries any piece of a value', () => {
      expectNoCanary('observer calls (whole suite)', allSeen);
    });
  });
}
