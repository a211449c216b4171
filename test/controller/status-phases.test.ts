/**
 * Phases `Pending` and `Syncing` (docs/crd-reference.md), without a cluster: the in-progress status
 * (`progressStatus`), when the reconciler announces it (`world.progress`, never on the "nothing
 * changed" path nor for a retry of what just failed), `Pending` for an SMC waiting for its first
 * source, and `lastTransitionTime` moving only with a condition's status; with a progress delay
 * (the controller's), in-progress statuses only for a pass still running after it. The world is the one the
 * reconciler tests use: the example GitOps tree, a real SOPS keyring, a local directory store.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Condition, SecretManagerConfigStatus } from '../../src/api/index.js';
import { mergeConditions } from '../../src/controller/runtime/conditions.js';
import { type ReconcileWorld, type SmcObject, reconcile, syncCause } from '../../src/controller/reconcile.js';
import { computeStatus, progressStatus } from '../../src/controller/status.js';
import { createKeyring } from '../../src/sops/index.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { SecretStore } from '../../src/stores/store.js';
import { repoRoot } from '../peers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:05:00Z');
const T2 = new Date('2026-01-01T00:05:07Z');
const VALUE = 'sk_test_demo_51Hx'; // a value of the example tree: never in any status

const cond = (s: SecretManagerConfigStatus | undefined, type: string): Condition | undefined =>
  s?.conditions?.find((c) => c.type === type);

/** A status as a fully successful sync at T0 leaves it. */
function syncedAtT0(): SecretManagerConfigStatus {
  return computeStatus({
    previous: undefined,
    generation: 1,
    verdict: {
      kind: 'synced',
      revision: 'main@sha1:1',
      outcomes: [
        { key: 'A', storeName: 'svc-A', kind: 'secret', store: 'gcp', action: 'create', result: 'ok' },
      ],
    },
    now: T0,
    nextReconcileAt: T1,
    handledReconcileAt: 'r1',
  });
}

describe('progressStatus', () => {
  it('Pending for a new SMC: Reconciling=True and Ready=Unknown (Progressing), nothing else claimed', () => {
    const s = progressStatus({ previous: undefined, generation: 1, progress: { kind: 'pending' }, now: T1 });
    expect(s.phase).toBe('Pending');
    expect(s.description).toBe('reconcile started; not synced yet');
    expect(s.lastAttemptTime).toBe('2026-01-01T00:05:00Z');
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime])).toEqual([
      ['Ready', 'Unknown', 'Progressing', '2026-01-01T00:05:00Z'],
      ['Reconciling', 'True', 'Progressing', '2026-01-01T00:05:00Z'],
      ['Stalled', 'False', 'Progressing', '2026-01-01T00:05:00Z'],
    ]);
    // The last finished reconcile's fields stay unset: nothing was observed or synced yet.
    expect(s.observedGeneration).toBeUndefined();
    expect(s.lastSyncTime).toBeUndefined();
    expect(s.lastSyncedRevision).toBeUndefined();
  });

  it('Syncing a ready SMC: Ready=True kept as it was, Reconciling=True naming revision and cause', () => {
    const before = syncedAtT0();
    const s = progressStatus({
      previous: before,
      generation: 1,
      progress: { kind: 'syncing', revision: 'main@sha1:2', cause: 'revision' },
      now: T1,
    });
    expect(s.phase).toBe('Syncing');
    expect(s.description).toBe('syncing revision main@sha1:2 (new source revision)');
    expect(cond(s, 'Ready')).toEqual(cond(before, 'Ready')); // untouched, transition time included
    expect(cond(s, 'Reconciling')).toEqual({
      type: 'Reconciling',
      status: 'True',
      reason: 'Progressing',
      message: 'syncing revision main@sha1:2 (new source revision)',
      observedGeneration: 1,
      lastTransitionTime: '2026-01-01T00:05:00Z',
    });
    expect(cond(s, 'Stalled')).toEqual(cond(before, 'Stalled')); // already False: untouched
    // Condition order and the last finished reconcile's fields are kept, so a reader waiting for
    // a result (lastHandledReconcileAt, lastSyncedRevision, observedGeneration) is not misled.
    expect(s.conditions?.map((c) => c.type)).toEqual(before.conditions?.map((c) => c.type));
    for (const k of [
      'observedGeneration',
      'lastSyncTime',
      'lastSyncedRevision',
      'lastHandledReconcileAt',
      'nextReconcileTime',
      'entries',
      'secretsCount',
    ] as const) {
      expect(s[k], k).toEqual(before[k]);
    }
  });

  it('Syncing after a failure: Ready=False becomes Unknown, Stalled=True becomes False', () => {
    const failed = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: {
        kind: 'failed',
        reason: 'SopsMacMismatch',
        message: 'svc/application.secrets.env: MAC mismatch',
        stalled: true,
        sourceProblem: false,
        revision: 'main@sha1:1',
      },
      now: T0,
      nextReconcileAt: T1,
    });
    const s = progressStatus({
      previous: failed,
      generation: 2,
      progress: { kind: 'syncing', revision: 'main@sha1:1', cause: 'generation' },
      now: T1,
    });
    const message = 'syncing revision main@sha1:1 (spec changed (generation 2))';
    expect(cond(s, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Progressing', message });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'False', reason: 'Progressing' });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Progressing' });
    expect(cond(s, 'SourceReady')).toEqual(cond(failed, 'SourceReady'));
    expect(s.observedGeneration).toBe(1);
  });

  it('the final status after Syncing: transition times move only where a status changed', () => {
    const before = syncedAtT0();
    const syncing = progressStatus({
      previous: before,
      generation: 1,
      progress: { kind: 'syncing', revision: 'main@sha1:2', cause: 'revision' },
      now: T1,
    });
    const after = computeStatus({
      previous: syncing,
      generation: 1,
      verdict: { kind: 'synced', revision: 'main@sha1:2', outcomes: [] },
      now: T2,
      nextReconcileAt: T2,
    });
    expect(after.phase).toBe('Synced');
    expect(cond(after, 'Ready')).toMatchObject({
      status: 'True',
      lastTransitionTime: cond(before, 'Ready')?.lastTransitionTime,
    });
    // Reconciling went True at T1 and back to False at T2.
    expect(cond(after, 'Reconciling')).toMatchObject({
      status: 'False',
      reason: 'Succeeded',
      lastTransitionTime: '2026-01-01T00:05:07Z',
    });
    expect(cond(after, 'Stalled')?.lastTransitionTime).toBe(cond(before, 'Stalled')?.lastTransitionTime);
    expect(after.conditions?.map((c) => c.type)).toEqual(before.conditions?.map((c) => c.type));
  });
});

describe('mergeConditions', () => {
  it('keeps the order, replaces in place, appends new types, keeps untouched ones as they were', () => {
    const prev: Condition[] = [
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'm', lastTransitionTime: 'T0' },
      { type: 'Drifted', status: 'False', reason: 'NoDrift', message: 'm', lastTransitionTime: 'T0' },
    ];
    const out = mergeConditions(
      prev,
      [
        { type: 'Reconciling', status: 'True', reason: 'Progressing', message: 'x' },
        { type: 'Drifted', status: 'False', reason: 'NoDrift', message: 'y' },
      ],
      'T1',
      4,
    );
    expect(out.map((c) => c.type)).toEqual(['Ready', 'Drifted', 'Reconciling']);
    expect(out[0]).toBe(prev[0]);
    expect(out[1]).toMatchObject({ message: 'y', lastTransitionTime: 'T0', observedGeneration: 4 });
    expect(out[2]).toMatchObject({ status: 'True', lastTransitionTime: 'T1' });
  });
});

describe('Pending while the first source is awaited', () => {
  const notReady = {
    kind: 'failed' as const,
    reason: 'SourceNotReady',
    message: 'GitRepository ns/config: no artifact yet',
    stalled: false,
    sourceProblem: true,
  };

  it('never synced: Pending (Ready=False with the source reason, retrying); once synced: Error', () => {
    const first = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: notReady,
      now: T0,
      nextReconcileAt: T1,
    });
    expect(first.phase).toBe('Pending');
    expect(cond(first, 'Ready')).toMatchObject({ status: 'False', reason: 'SourceNotReady' });
    expect(cond(first, 'Reconciling')).toMatchObject({ status: 'True', reason: 'SourceNotReady' });
    const missing = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: { ...notReady, reason: 'SourceNotFound', message: 'GitRepository ns/config: not found' },
      now: T0,
      nextReconcileAt: T1,
    });
    expect(missing.phase).toBe('Pending');
    const later = computeStatus({
      previous: syncedAtT0(),
      generation: 1,
      verdict: notReady,
      now: T1,
      nextReconcileAt: T2,
    });
    expect(later.phase).toBe('Error');
    // Other failures of a never-synced SMC are errors.
    const bad = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: { ...notReady, reason: 'UnsafeArchive', stalled: true },
      now: T0,
      nextReconcileAt: T1,
    });
    expect(bad.phase).toBe('Error');
  });
});

describe('syncCause', () => {
  const synced = syncedAtT0();
  const base = {
    previous: synced,
    generation: 1,
    revision: 'main@sha1:1',
    requested: false,
    forced: false,
    lastAttemptedRevision: undefined,
  };
  const error: SecretManagerConfigStatus = { ...synced, phase: 'Error' };

  it.each([
    ['never reconciled', { previous: undefined }, 'first'],
    ['new generation', { generation: 2 }, 'generation'],
    ['new revision', { revision: 'main@sha1:2' }, 'revision'],
    ['reconcile annotation', { requested: true }, 'requested'],
    ['a referenced Secret changed', { forced: true }, 'forced'],
    ['verification due', {}, 'verification'],
    [
      'retry of the revision that failed',
      { previous: error, revision: 'main@sha1:2', lastAttemptedRevision: 'main@sha1:2' },
      'retry',
    ],
    [
      'a new revision after a failure',
      { previous: error, revision: 'main@sha1:3', lastAttemptedRevision: 'main@sha1:2' },
      'revision',
    ],
    [
      'after a failure, last attempt unknown (restart): vs last synced',
      { previous: error, revision: 'main@sha1:2' },
      'revision',
    ],
    [
      'a requested pass after a failure',
      { previous: error, requested: true, lastAttemptedRevision: 'main@sha1:1' },
      'requested',
    ],
    ['the source is ready at last', { previous: { phase: 'Pending', observedGeneration: 1 } }, 'first'],
    ['a pass that did not finish', { previous: { ...synced, phase: 'Syncing' } }, 'interrupted'],
  ] as const)('%s → %s', (_what, over, cause) => {
    expect(syncCause({ ...base, ...over } as Parameters<typeof syncCause>[0])).toBe(cause);
  });
});

describe('reconcile with a progress hook', () => {
  const artifact = { url: 'http://x/a.tar.gz', digest: `sha256:${'0'.repeat(64)}`, revision: 'main@sha1:1' };
  const ready = (revision: string) => ({
    status: { artifact: { ...artifact, revision }, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const spec = {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: 'my-project-1' } },
    secrets: { environment: 'dev' },
  };
  const obj = (
    status?: SecretManagerConfigStatus,
    extra: Partial<SmcObject['metadata']> = {},
  ): SmcObject => ({
    metadata: { name: 'payments', namespace: 'team-a', generation: 1, uid: 'u1', ...extra },
    spec,
    status,
  });

  async function world(over: Partial<ReconcileWorld> = {}) {
    const dir = await mkdtemp(path.join(tmpdir(), 'smc-phases-'));
    const keyText = await readFile(path.join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
    const written: SecretManagerConfigStatus[] = [];
    const calls = { stores: 0 };
    const w: ReconcileWorld = {
      now: () => T1,
      source: ready('main@sha1:1'),
      fetchArtifact: async () => ({ root: path.join(repoRoot, 'examples/gitops'), description: 'example' }),
      sopsKeyring: () => createKeyring({ age: [keyText] }),
      openStores: () => {
        calls.stores++;
        // The store sees the in-progress status before its first call.
        expect(written.at(-1)?.phase).toBe('Syncing');
        return { secretStore: new LocalDirStore(dir) as SecretStore };
      },
      driftCheckIntervalMs: 600_000,
      minReconcileIntervalMs: 30_000,
      progress: async (s) => {
        written.push(s);
      },
      ...over,
    };
    return { w, written, calls };
  }

  it('a new SMC: Pending, then Syncing before any store call, then Synced; no value anywhere', async () => {
    const { w, written } = await world();
    const r = await reconcile(obj(), w);
    expect(written.map((s) => s.phase)).toEqual(['Pending', 'Syncing']);
    expect(written[1]?.description).toBe('syncing revision main@sha1:1 (first sync)');
    expect(r.status.phase).toBe('Synced');
    // Computed on top of the Syncing write: Reconciling True → False moves its transition time
    // (same second here), Ready Unknown → True.
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(cond(r.status, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Succeeded' });
    expect(JSON.stringify([...written, r.status])).not.toContain(VALUE);
  });

  it('the same revision twice gives the same counts; entries created disabled are Disabled at once', async () => {
    const { w } = await world();
    const first = await reconcile(obj(), w);
    // A forced second pass over the same revision (a reconcile request): every action is a noop.
    const again = await reconcile(
      obj(first.status, { annotations: { 'secret-management.octopilot.io/reconcile': 'again' } }),
      w,
    );
    const states = (s: SecretManagerConfigStatus) =>
      Object.fromEntries((s.entries ?? []).map((e) => [e.storeName, e.state]));
    expect(states(first.status)).toEqual(states(again.status));
    expect(first.status.secretsCount).toBe(again.status.secretsCount);
    // examples/gitops comments out catalog's cache-warmup-token and payments' LEGACY_API_TOKEN.
    for (const name of ['catalog-cache-warmup-token', 'payments-LEGACY_API_TOKEN'])
      expect(states(first.status)[name], name).toBe('Disabled');
    expect(first.status.secretsCount).toBe((first.status.entries ?? []).length - 2);
    expect(first.status.description).toBe(again.status.description);
  });

  it('nothing changed: no progress write and no store call', async () => {
    const { w, written, calls } = await world();
    const first = await reconcile(obj(), w);
    written.length = 0;
    calls.stores = 0;
    const again = await reconcile(obj(first.status), w);
    expect(again.result).toBe('skipped');
    expect(written).toEqual([]);
    expect(calls.stores).toBe(0);
  });

  it('a new revision, a new generation, a reconcile request: one Syncing write each, Ready=True kept', async () => {
    const { w, written } = await world();
    const first = await reconcile(obj(), w);
    written.length = 0;
    const rev2 = await reconcile(obj(first.status), { ...w, source: ready('main@sha1:2') });
    expect(written.map((s) => [s.phase, s.description])).toEqual([
      ['Syncing', 'syncing revision main@sha1:2 (new source revision)'],
    ]);
    expect(cond(written[0], 'Ready')).toEqual(cond(first.status, 'Ready'));
    expect(rev2.status.phase).toBe('Synced');
    const gen = await reconcile(obj(rev2.status, { generation: 2 }), { ...w, source: ready('main@sha1:2') });
    expect(written[1]?.description).toBe('syncing revision main@sha1:2 (spec changed (generation 2))');
    const asked = await reconcile(
      obj(gen.status, { generation: 2, annotations: { 'secret-management.octopilot.io/reconcile': 'x' } }),
      { ...w, source: ready('main@sha1:2') },
    );
    expect(written[2]?.description).toBe('syncing revision main@sha1:2 (reconcile requested)');
    // The request is recorded by the final status only (msmctl reconcile --wait reads it).
    expect(written[2]?.lastHandledReconcileAt).toBeUndefined();
    expect(asked.status.lastHandledReconcileAt).toBe('x');
    expect(written).toHaveLength(3);
  });

  it('a retry of the revision that failed is not announced again; a new revision is', async () => {
    const { w, written } = await world({
      openStores: () => {
        throw new Error('boom');
      },
    });
    const failed = await reconcile(obj(), w);
    expect(failed.status.phase).toBe('Error');
    expect(failed.retry).toBe(true);
    written.length = 0;
    const retry = await reconcile(obj(failed.status), { ...w, lastAttemptedRevision: failed.revision });
    expect(retry.status.phase).toBe('Error');
    expect(written).toEqual([]);
    await reconcile(obj(failed.status), {
      ...w,
      lastAttemptedRevision: failed.revision,
      source: ready('main@sha1:2'),
    });
    expect(written.map((s) => [s.phase, cond(s, 'Ready')?.status])).toEqual([['Syncing', 'Unknown']]);
  });

  it('the source has no artifact yet: Pending, then the final status stays Pending', async () => {
    const { w, written, calls } = await world({
      source: { status: { conditions: [{ type: 'Ready', status: 'False', message: 'cloning' }] } },
    });
    const r = await reconcile(obj(), w);
    expect(written.map((s) => s.phase)).toEqual(['Pending']);
    expect(r.status.phase).toBe('Pending');
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'SourceNotReady' });
    expect(calls.stores).toBe(0);
    // Retried while waiting: no second Pending write.
    written.length = 0;
    await reconcile(obj(r.status), w);
    expect(written).toEqual([]);
  });

  describe('with a progress delay (the controller runs with one)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('a pass that ends within the delay writes no in-progress status; the final one builds on the server status', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'smc-phases-'));
      const { w, written } = await world({
        progressDelayMs: 3_600_000,
        openStores: () => ({ secretStore: new LocalDirStore(dir) as SecretStore }),
      });
      const first = await reconcile(obj(), w);
      expect(written).toEqual([]);
      expect(first.status.phase).toBe('Synced');
      // Computed from no status at all, not from an unwritten Syncing: each condition set once.
      expect(cond(first.status, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
      const rev2 = await reconcile(obj(first.status), { ...w, source: ready('main@sha1:2') });
      expect(written).toEqual([]);
      expect(rev2.status.lastSyncedRevision).toBe('main@sha1:2');
      // Reconciling stayed False on the server: its transition time does not move.
      expect(cond(rev2.status, 'Reconciling')?.lastTransitionTime).toBe(
        cond(first.status, 'Reconciling')?.lastTransitionTime,
      );
    });

    it('a pass still running after the delay writes its latest in-progress status once: Syncing, not Pending', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const dir = await mkdtemp(path.join(tmpdir(), 'smc-phases-'));
      let atStore!: () => void;
      const reached = new Promise<void>((r) => (atStore = r));
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const { w, written } = await world({
        progressDelayMs: 1_000,
        openStores: async () => {
          atStore();
          await released;
          return { secretStore: new LocalDirStore(dir) as SecretStore };
        },
      });
      const run = reconcile(obj(), w);
      await reached;
      expect(written).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(written.map((s) => [s.phase, s.description])).toEqual([
        ['Syncing', 'syncing revision main@sha1:1 (first sync)'],
      ]);
      release();
      const r = await run;
      expect(r.status.phase).toBe('Synced');
      expect(written).toHaveLength(1);
      // Built on the Syncing write: Ready Unknown → True.
      expect(cond(written[0], 'Ready')?.status).toBe('Unknown');
      expect(cond(r.status, 'Ready')?.status).toBe('True');
    });
  });

  it('a pass that throws leaves no in-progress write behind (the delayed Pending is dropped)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { w, written } = await world({
        progressDelayMs: 1_000,
        suspendFluxSource: () => Promise.reject(new Error('boom')),
      });
      await expect(reconcile(obj(), w)).rejects.toThrow('boom');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(written).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failing progress write does not fail the reconcile', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'smc-phases-'));
    const { w } = await world({
      progress: () => Promise.reject(new Error('HTTP 403')),
      openStores: () => ({ secretStore: new LocalDirStore(dir) as SecretStore }),
    });
    const r = await reconcile(obj(), w);
    expect(r.result).toBe('success');
    expect(r.status.phase).toBe('Synced');
  });
});
