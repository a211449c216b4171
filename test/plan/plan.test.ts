import { describe, expect, it } from 'vitest';
import type { NamedEntry } from '../../src/entry.js';
import { isSmcError } from '../../src/errors.js';
import type { Action, DeletionPolicy } from '../../src/plan/actions.js';
import { planActions, type PlanInput } from '../../src/plan/plan.js';
import { isWrite, passiveResult } from '../../src/plan/results.js';
import type { Owner, StoredEntry } from '../../src/stores/store.js';

const me: Owner = { namespace: 'team-a', name: 'app-secrets' };
const other: Owner = { namespace: 'team-b', name: 'their-secrets' };

function want(name: string, value = 'v1', enabled = true): NamedEntry {
  return { key: `K_${name}`, value, kind: 'secret', enabled, origin: 'app/secrets.env', storeName: name };
}
/** `null` stands for "absent" (an explicit `undefined` would pick up the default). */
function have(
  name: string,
  value: string | null = 'v1',
  enabled = true,
  owner: Owner | null = me,
): StoredEntry {
  return {
    storeName: name,
    value: value ?? undefined,
    enabled,
    owner: owner ?? undefined,
    key: `K_${name}`,
    kind: 'secret',
  };
}
function plan(desired: NamedEntry[], actual: StoredEntry[], over: Partial<PlanInput> = {}): Action[] {
  return planActions({
    desired,
    actual,
    owner: me,
    deletionPolicy: 'Retain',
    triggerUpdate: true,
    adopt: false,
    ...over,
  });
}
function one(desired: NamedEntry[], actual: StoredEntry[], over: Partial<PlanInput> = {}): Action {
  const actions = plan(desired, actual, over);
  expect(actions).toHaveLength(1);
  return actions[0]!;
}

describe('planActions: entries in the source', () => {
  it('creates a missing entry, enabled', () => {
    expect(one([want('a', 'v1')], [])).toEqual({
      type: 'create',
      cause: 'missing',
      key: 'K_a',
      storeName: 'a',
      kind: 'secret',
      value: 'v1',
      enabled: true,
      reason: 'missing from store',
    });
  });

  it('creates a missing commented-out entry disabled', () => {
    expect(one([want('a', 'v1', false)], [])).toMatchObject({ type: 'create', enabled: false, value: 'v1' });
  });

  it('is a noop when value and state match', () => {
    expect(one([want('a')], [have('a')])).toMatchObject({ type: 'noop', reason: 'up to date (enabled)' });
    expect(one([want('a', 'v1', false)], [have('a', 'v1', false)])).toMatchObject({
      type: 'noop',
      reason: 'up to date (disabled)',
    });
  });

  it('updates a changed value', () => {
    const a = one([want('a', 'v2')], [have('a', 'v1')]);
    expect(a).toMatchObject({ type: 'update', value: 'v2', enabled: true, reason: 'value changed' });
  });

  it('updates when the store cannot tell the value', () => {
    expect(one([want('a')], [have('a', null)])).toMatchObject({
      type: 'update',
      reason: 'value unknown to store',
    });
  });

  it('leaves a disabled entry whose value the store cannot read alone, and enables it with the value', () => {
    expect(one([want('a', 'v1', false)], [have('a', null, false)])).toMatchObject({ type: 'noop' });
    expect(one([want('a', 'v1', true)], [have('a', null, false)])).toMatchObject({
      type: 'enable',
      value: 'v1',
      enabled: true,
    });
  });

  it('does not overwrite with triggerUpdate false, and says why', () => {
    const a = one([want('a', 'v2')], [have('a', 'v1')], { triggerUpdate: false });
    expect(a.type).toBe('noop');
    expect(a.reason).toMatch(/triggerUpdate is false/);
    expect(a.value).toBeUndefined();
  });

  it('still creates missing entries with triggerUpdate false', () => {
    expect(one([want('a')], [], { triggerUpdate: false }).type).toBe('create');
  });

  it('disables a commented-out key and enables an uncommented one (no value when unchanged)', () => {
    const d = one([want('a', 'v1', false)], [have('a', 'v1', true)]);
    expect(d).toMatchObject({ type: 'disable', enabled: false });
    expect(d.value).toBeUndefined();
    const e = one([want('a', 'v1', true)], [have('a', 'v1', false)]);
    expect(e).toMatchObject({ type: 'enable', enabled: true });
    expect(e.value).toBeUndefined();
  });

  it('enable carries the value when it changed too', () => {
    expect(one([want('a', 'v2', true)], [have('a', 'v1', false)])).toMatchObject({
      type: 'enable',
      value: 'v2',
      enabled: true,
    });
  });

  it('a changed value of a commented-out key is one update ending disabled', () => {
    expect(one([want('a', 'v2', false)], [have('a', 'v1', true)])).toMatchObject({
      type: 'update',
      value: 'v2',
      enabled: false,
    });
    expect(one([want('a', 'v2', false)], [have('a', 'v1', false)])).toMatchObject({
      type: 'update',
      value: 'v2',
      enabled: false,
    });
  });

  it('with triggerUpdate false, state still follows the source but the value does not', () => {
    const a = one([want('a', 'v2', true)], [have('a', 'v1', false)], { triggerUpdate: false });
    expect(a).toMatchObject({ type: 'enable', enabled: true });
    expect(a.value).toBeUndefined();
    expect(a.reason).toMatch(/triggerUpdate is false/);
  });
});

describe('planActions: ownership', () => {
  it('an unmanaged entry is a conflict, left untouched', () => {
    const a = one([want('a', 'v2')], [have('a', 'v1', true, null)]);
    expect(a.type).toBe('conflict');
    expect(a.value).toBeUndefined();
    expect(a.reason).toMatch(/unmanaged entry exists/);
    expect(a.reason).toMatch(/adopt/);
  });

  it("another SMC's entry is a conflict naming that owner", () => {
    const a = one([want('a')], [have('a', 'v1', true, other)]);
    expect(a.type).toBe('conflict');
    expect(a.reason).toContain('owned by team-b/their-secrets');
  });

  it('adopt takes over an unmanaged entry with a write, even for an equal value', () => {
    expect(one([want('a', 'v1')], [have('a', 'v1', true, null)], { adopt: true })).toMatchObject({
      type: 'update',
      value: 'v1',
      enabled: true,
    });
    const changed = one([want('a', 'v2', false)], [have('a', 'v1', true, null)], { adopt: true });
    expect(changed).toMatchObject({ type: 'update', value: 'v2', enabled: false });
    expect(changed.reason).toMatch(/adopting: unmanaged entry exists \(no ownership marker\), value changed/);
  });

  it('adopt never takes an entry owned by another SMC', () => {
    const a = one([want('a', 'v2')], [have('a', 'v1', true, other)], { adopt: true });
    expect(a).toMatchObject({ type: 'conflict', storeName: 'a' });
    expect(a.reason).toContain('owned by team-b/their-secrets');
    expect(a.value).toBeUndefined();
  });

  it('adopt with triggerUpdate false does not overwrite a different value', () => {
    const a = one([want('a', 'v2')], [have('a', 'v1', true, null)], { adopt: true, triggerUpdate: false });
    expect(a.type).toBe('noop');
    expect(a.reason).toMatch(/not adopted/);
    expect(
      one([want('a', 'v1')], [have('a', 'v1', true, null)], { adopt: true, triggerUpdate: false }).type,
    ).toBe('update');
  });
});

describe('planActions: keys removed from the source', () => {
  const gone = [have('old', 'v1', true)];
  it('Retain keeps the entry', () => {
    expect(one([], gone, { deletionPolicy: 'Retain' })).toMatchObject({
      type: 'noop',
      reason: 'retained: key removed from source',
      storeName: 'old',
      key: 'K_old',
    });
  });
  it('Disable disables it (noop when already disabled)', () => {
    expect(one([], gone, { deletionPolicy: 'Disable' })).toMatchObject({
      type: 'prune',
      deletion: 'Disable',
    });
    expect(one([], [have('old', 'v1', false)], { deletionPolicy: 'Disable' })).toMatchObject({
      type: 'noop',
    });
  });
  it('Delete deletes it, enabled or not', () => {
    expect(one([], gone, { deletionPolicy: 'Delete' })).toMatchObject({ type: 'prune', deletion: 'Delete' });
    expect(one([], [have('old', 'v1', false)], { deletionPolicy: 'Delete' })).toMatchObject({
      type: 'prune',
      deletion: 'Delete',
    });
  });
  it('never prunes what we do not own', () => {
    expect(
      plan([], [have('x', 'v', true, null), have('y', 'v', true, other)], { deletionPolicy: 'Delete' }),
    ).toEqual([]);
  });
  it('an actual entry without a kind is pruned as a secret', () => {
    const { kind: _kind, ...noKind } = have('old');
    expect(one([], [noKind], { deletionPolicy: 'Delete' }).kind).toBe('secret');
  });
  it('SMC deletion (finalizer) is a plan with nothing desired', () => {
    const actions = plan([], [have('a'), have('b', 'v', false), have('c', 'v', true, null)], {
      deletionPolicy: 'Delete',
    });
    expect(actions.map((a) => [a.type, a.storeName])).toEqual([
      ['prune', 'a'],
      ['prune', 'b'],
    ]);
  });
});

describe('planActions: held, order, input checks', () => {
  it('a held name is neither written nor pruned', () => {
    expect(plan([want('a', 'v2')], [have('a', 'v1')], { held: ['a'] })).toEqual([]);
    expect(plan([], [have('a')], { held: ['a'], deletionPolicy: 'Delete' })).toEqual([]);
  });

  it('is sorted by store name regardless of input order', () => {
    const desired = ['m', 'b', 'z', 'B', 'a'].map((n) => want(n));
    const actual = [have('y'), have('c')];
    const one = plan(desired, actual, { deletionPolicy: 'Delete' });
    const two = plan([...desired].reverse(), [...actual].reverse(), { deletionPolicy: 'Delete' });
    expect(one.map((a) => a.storeName)).toEqual(['B', 'a', 'b', 'c', 'm', 'y', 'z']);
    expect(two).toEqual(one);
  });

  it('refuses two desired entries with one store name', () => {
    let err: unknown;
    try {
      plan([want('a'), want('a')], []);
    } catch (e) {
      err = e;
    }
    expect(isSmcError(err, 'NameCollision')).toBe(true);
  });
});

describe('passiveResult / isWrite', () => {
  it('noop succeeds, conflict fails with the reason', () => {
    const noop: Action = { type: 'noop', storeName: 'a', kind: 'secret', reason: 'up to date' };
    const conflict: Action = {
      type: 'conflict',
      storeName: 'a',
      kind: 'secret',
      reason: 'unmanaged entry exists',
    };
    expect(passiveResult(noop, '3')).toEqual({ action: noop, ok: true, wrote: false, version: '3' });
    expect(passiveResult(conflict)).toEqual({
      action: conflict,
      ok: false,
      wrote: false,
      message: 'conflict: unmanaged entry exists',
    });
    expect(isWrite(noop) || isWrite(conflict)).toBe(false);
    expect(isWrite({ ...noop, type: 'prune', cause: 'removed', deletion: 'Delete' })).toBe(true);
  });
});

/** A faithful in-memory store: applies actions the way a store must. */
function applyToMemory(actual: StoredEntry[], actions: Action[], owner: Owner): StoredEntry[] {
  const m = new Map(actual.map((a) => [a.storeName, { ...a }]));
  for (const a of actions) {
    const cur = m.get(a.storeName);
    switch (a.type) {
      case 'create':
      case 'update':
        m.set(a.storeName, {
          storeName: a.storeName,
          value: a.value,
          enabled: a.enabled ?? true,
          owner,
          key: a.key,
          kind: a.kind,
        });
        break;
      case 'enable':
        m.set(a.storeName, { ...cur!, enabled: true, value: a.value ?? cur!.value });
        break;
      case 'disable':
        m.set(a.storeName, { ...cur!, enabled: false });
        break;
      case 'prune':
        if (a.deletion === 'Delete') m.delete(a.storeName);
        else m.set(a.storeName, { ...cur!, enabled: false });
        break;
      default:
        break;
    }
  }
  return [...m.values()];
}

/** Deterministic PRNG so a failure is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('planActions: convergence', () => {
  it('a second plan after applying the first is only noops (and the same conflicts)', () => {
    const rand = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const owners: (Owner | null)[] = [me, me, me, null, other];
    for (let round = 0; round < 500; round++) {
      const desired: NamedEntry[] = [];
      const actual: StoredEntry[] = [];
      for (let i = 0; i < 8; i++) {
        const name = `n${i}`;
        if (rand() < 0.7) desired.push(want(name, pick(['v1', 'v2']), rand() < 0.7));
        if (rand() < 0.7) actual.push(have(name, pick(['v1', 'v2', null]), rand() < 0.7, pick(owners)));
      }
      const opts: Partial<PlanInput> = {
        deletionPolicy: pick<DeletionPolicy>(['Retain', 'Disable', 'Delete']),
        triggerUpdate: rand() < 0.7,
        adopt: rand() < 0.3,
      };
      const first = plan(desired, actual, opts);
      const after = applyToMemory(actual, first, me);
      const second = plan(desired, after, opts);
      const context = JSON.stringify({ desired, actual, opts, first, second });
      for (const a of second) expect(['noop', 'conflict'], context).toContain(a.type);
      expect(
        second.filter((a) => a.type === 'conflict').map((a) => a.storeName),
        context,
      ).toEqual(first.filter((a) => a.type === 'conflict').map((a) => a.storeName));
      // Entries in the source that we own (or just adopted) end up with the source's value and state;
      // except that a disabled value the store cannot read stays unread until the key is re-enabled.
      if (opts.triggerUpdate) {
        for (const d of desired) {
          const s = after.find((x) => x.storeName === d.storeName)!;
          if (s.owner !== me) continue;
          const unreadableWhileDisabled = s.value === undefined && !s.enabled && !d.enabled;
          expect({ value: unreadableWhileDisabled ? d.value : s.value, enabled: s.enabled }, context).toEqual(
            { value: d.value, enabled: d.enabled },
          );
        }
      }
    }
  });
});
