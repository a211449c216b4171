/**
 * Finalizer pruning (src/sync.ts `pruneOwned`, src/controller/finalizer.ts) and the drift guard (src/controller/drift.ts) on
 * an in-memory store, and the status they produce (src/controller/status.ts).
 */
import { describe, expect, it } from 'vitest';
import { DriftGuard, isDriftAction, verificationDueMs } from '../../src/controller/drift.js';
import {
  DeletionFailed,
  FINALIZER,
  type FinalizerWriter,
  type LifecycleContext,
  handleLifecycle,
  hasFinalizer,
  isDeleting,
  needsFinalizer,
} from '../../src/controller/finalizer.js';
import { SmcError } from '../../src/errors.js';
import { computeStatus } from '../../src/controller/status.js';
import type { Action, ActionResult } from '../../src/plan/actions.js';
import type { Owner, SecretStore, StoredEntry } from '../../src/stores/store.js';
import { applyPlan, pruneOwned } from '../../src/sync.js';

const OWNER: Owner = { namespace: 'ns', name: 'app' };

function memoryStore(entries: StoredEntry[]) {
  const applied: Action[][] = [];
  let reads = 0;
  const store: SecretStore = {
    type: 'mem',
    target: 'mem',
    naming: { name: 'mem' } as never,
    limits: { maxValueBytes: 1024 },
    async read() {
      reads++;
      return entries;
    },
    async apply(_owner, actions): Promise<ActionResult[]> {
      applied.push([...actions]);
      return actions.map((action) => ({ action, ok: true, wrote: true }));
    },
  };
  return { store, applied, reads: () => reads };
}

describe('finalizer: pruneOwned', () => {
  const entries: StoredEntry[] = [
    { storeName: 'a', enabled: true, owner: OWNER, kind: 'secret' },
    { storeName: 'b', enabled: false, owner: OWNER, kind: 'secret' },
    { storeName: 'theirs', enabled: true, owner: { namespace: 'ns', name: 'other' }, kind: 'secret' },
    { storeName: 'unmanaged', enabled: true, kind: 'secret' },
  ];

  it('Retain makes no call', async () => {
    const m = memoryStore(entries);
    expect(await pruneOwned(m.store, OWNER, 'Retain')).toEqual({ results: [], planned: [] });
    expect(m.reads()).toBe(0);
  });

  it('Delete prunes every owned entry and nothing else', async () => {
    const m = memoryStore(entries);
    const r = await pruneOwned(m.store, OWNER, 'Delete');
    expect(r.planned.map((a) => [a.storeName, a.type, a.deletion])).toEqual([
      ['a', 'prune', 'Delete'],
      ['b', 'prune', 'Delete'],
    ]);
    expect(m.applied).toHaveLength(1);
  });

  it('Disable skips entries already disabled', async () => {
    const m = memoryStore(entries);
    const r = await pruneOwned(m.store, OWNER, 'Disable');
    expect(r.planned.map((a) => a.storeName)).toEqual(['a']);
  });

  it('reads finalizers and deletion from metadata', () => {
    const smc = { metadata: { name: 'x', namespace: 'ns', finalizers: [FINALIZER] } };
    expect(hasFinalizer(smc)).toBe(true);
    expect(isDeleting(smc)).toBe(false);
    expect(isDeleting({ metadata: { ...smc.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } })).toBe(
      true,
    );
  });
});

describe('drift guard', () => {
  const actions: Action[] = [
    {
      type: 'update',
      cause: 'changed',
      storeName: 'changed',
      kind: 'secret',
      value: 'git',
      reason: 'value changed',
    },
    {
      type: 'create',
      cause: 'missing',
      storeName: 'missing',
      kind: 'secret',
      value: 'git',
      reason: 'missing from store',
    },
    { type: 'noop', storeName: 'same', kind: 'secret', reason: 'up to date (enabled)' },
    {
      type: 'update',
      cause: 'adopted',
      storeName: 'adopted',
      kind: 'secret',
      value: 'git',
      reason: 'adopting: unmanaged entry exists',
    },
  ];

  it('classifies drift actions', () => {
    expect(actions.map(isDriftAction)).toEqual([true, false, false, false]);
    expect(
      isDriftAction({
        type: 'disable',
        cause: 'disabled',
        storeName: 'x',
        kind: 'secret',
        reason: 'disabled in source',
      }),
    ).toBe(true);
  });

  it('Report: records the drift, holds its write, passes a re-create', async () => {
    const m = memoryStore([]);
    const guard = new DriftGuard('Report');
    const results = await applyPlan(m.store, OWNER, actions, guard.review);
    expect(results.map((r) => [r.action.storeName, r.action.type])).toEqual([
      ['changed', 'noop'],
      ['missing', 'create'],
      ['same', 'noop'],
      ['adopted', 'update'],
    ]);
    expect(results[0]!.wrote).toBe(false);
    expect(results[0]!.action.value).toBeUndefined();
    expect(m.applied[0]!.map((a) => a.storeName)).toEqual(['missing', 'same', 'adopted']);
    expect(guard.entries).toEqual([{ storeName: 'changed', kind: 'secret', store: 'mem', corrected: false }]);
  });

  it('Correct: records and applies', async () => {
    const m = memoryStore([]);
    const guard = new DriftGuard('Correct');
    const results = await applyPlan(m.store, OWNER, actions, guard.review);
    expect(results.map((r) => r.action.type)).toEqual(['update', 'create', 'noop', 'update']);
    expect(m.applied[0]).toHaveLength(4);
    expect(guard.entries[0]).toMatchObject({ storeName: 'changed', corrected: true });
  });

  it('status: Drifted=True naming the entry, entry state Drifted; Correct → False/DriftCorrected', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const outcomes = [
      {
        key: 'K',
        storeName: 'changed',
        kind: 'secret' as const,
        store: 'mem',
        action: 'noop' as const,
        result: 'ok' as const,
      },
    ];
    const drift = (corrected: boolean) => ({
      verified: true,
      report: true,
      policy: corrected ? ('Correct' as const) : ('Report' as const),
      entries: [{ storeName: 'changed', kind: 'secret' as const, store: 'mem', corrected }],
    });
    const report = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: { kind: 'synced', revision: 'r1', outcomes },
      now,
      nextReconcileAt: now,
      drift: drift(false),
    });
    const cond = report.conditions?.find((c) => c.type === 'Drifted');
    expect(cond).toMatchObject({ status: 'True', reason: 'DriftDetected' });
    expect(cond?.message).toContain('changed');
    expect(report.entries?.[0]?.state).toBe('Drifted');
    const corrected = computeStatus({
      previous: report,
      generation: 1,
      verdict: { kind: 'synced', revision: 'r1', outcomes },
      now,
      nextReconcileAt: now,
      drift: drift(true),
    });
    expect(corrected.conditions?.find((c) => c.type === 'Drifted')).toMatchObject({
      status: 'False',
      reason: 'DriftCorrected',
    });
    const off = computeStatus({
      previous: report,
      generation: 1,
      verdict: { kind: 'synced', revision: 'r1', outcomes },
      now,
      nextReconcileAt: now,
      drift: { ...drift(false), report: false },
    });
    expect(off.conditions?.find((c) => c.type === 'Drifted')).toBeUndefined();
  });
});

describe('verificationDueMs', () => {
  it('is the interval plus a stable per-SMC offset below 10 %', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `uid-${i}`);
    const due = ids.map((id) => verificationDueMs(600_000, id));
    expect(due.every((d) => d >= 600_000 && d < 660_000)).toBe(true);
    expect(new Set(due).size).toBeGreaterThan(40);
    expect(verificationDueMs(600_000, 'uid-1')).toBe(due[1]);
  });
});

describe('handleLifecycle', () => {
  const spec = {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: 'my-project-1' } },
    secrets: { environment: 'dev' },
    deletionPolicy: 'Delete',
  };
  function ctx(over: Partial<LifecycleContext> = {}) {
    const calls: string[] = [];
    const c: LifecycleContext = {
      writer: {
        align: async () => (calls.push('align'), true),
        remove: async () => (calls.push('remove'), true),
      } as unknown as FinalizerWriter,
      openStores: () => ({
        secretStore: memoryStore([{ storeName: 'a', enabled: true, owner: OWNER, kind: 'secret' }]).store,
      }),
      recordEvent: async (e) => void calls.push(`event:${e.reason}`),
      writeStatus: async (st) => void calls.push(`status:${st.conditions?.[0]?.reason}`),
      previousStatus: undefined,
      generation: 1,
      log: { warn: () => {}, info: () => {} } as never,
      ...over,
    };
    return { c, calls };
  }
  const live = { metadata: { name: 'app', namespace: 'ns' }, spec };
  const deleting = {
    metadata: {
      name: 'app',
      namespace: 'ns',
      finalizers: [FINALIZER],
      deletionTimestamp: '2026-01-01T00:00:00Z',
    },
    spec,
  };

  it('adds the finalizer to a live SMC and carries on', async () => {
    const { c, calls } = ctx();
    expect(await handleLifecycle(live, c)).toBe('continue');
    expect(calls).toEqual(['align']);
    // Already there: nothing written.
    expect(
      await handleLifecycle({ ...live, metadata: { ...live.metadata, finalizers: [FINALIZER] } }, c),
    ).toBe('continue');
    expect(calls).toEqual(['align']);
  });

  it('Retain (the default) needs no finalizer: none added, one carried is removed', async () => {
    const { c, calls } = ctx();
    const { deletionPolicy: _d, ...retain } = spec;
    expect(await handleLifecycle({ ...live, spec: retain }, c)).toBe('continue');
    expect(await handleLifecycle({ ...live, spec: { ...spec, deletionPolicy: 'Retain' } }, c)).toBe(
      'continue',
    );
    expect(calls).toEqual([]);
    const carrying = { metadata: { ...live.metadata, finalizers: [FINALIZER] }, spec: retain };
    expect(await handleLifecycle(carrying, c)).toBe('continue');
    expect(calls).toEqual(['align']);
  });

  it('needsFinalizer: Disable and Delete; not Retain or no policy; unknown for anything else', () => {
    expect(needsFinalizer({ deletionPolicy: 'Delete' })).toBe(true);
    expect(needsFinalizer({ deletionPolicy: 'Disable' })).toBe(true);
    expect(needsFinalizer({ deletionPolicy: 'Retain' })).toBe(false);
    expect(needsFinalizer({})).toBe(false);
    expect(needsFinalizer(undefined)).toBeUndefined();
    expect(needsFinalizer({ deletionPolicy: 'delete' })).toBeUndefined();
  });

  it('a failing add does not stop the reconcile', async () => {
    const { c } = ctx({
      writer: {
        align: async () => {
          throw new Error('forbidden');
        },
      } as unknown as FinalizerWriter,
    });
    expect(await handleLifecycle(live, c)).toBe('continue');
  });

  it('finalizes a deleted SMC: prunes, records, removes the finalizer', async () => {
    const { c, calls } = ctx();
    expect(await handleLifecycle(deleting, c)).toBe('done');
    expect(calls).toEqual(['event:Finalized', 'remove']);
  });

  it('a failure keeps the finalizer, reports and throws for a retry', async () => {
    const { c, calls } = ctx({
      openStores: () => {
        throw new SmcError('ProviderAuthFailed', 'Secret ns/creds not found');
      },
    });
    await expect(handleLifecycle(deleting, c)).rejects.toBeInstanceOf(DeletionFailed);
    expect(calls).toEqual(['event:DeletionFailed', 'status:DeletionFailed']);
  });

  it('an SMC deleted without our finalizer is left alone', async () => {
    const { c, calls } = ctx();
    const { finalizers: _f, ...meta } = deleting.metadata;
    expect(await handleLifecycle({ ...deleting, metadata: meta }, c)).toBe('done');
    expect(calls).toEqual([]);
  });
});
