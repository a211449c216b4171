import { isDeepStrictEqual } from 'node:util';
/**
 * The reconciler without a cluster: status computation (phase, kstatus conditions, transition
 * times, entries without values) and the "nothing changed, nothing called" rule, with a fake world.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SecretManagerConfigStatus } from '../../src/api/index.js';
import { setConditions } from '../../src/controller/runtime/conditions.js';
import { type ReconcileWorld, type SmcObject, reconcile } from '../../src/controller/reconcile.js';
import { computeStatus, entriesFromOutcomes, statusChanged } from '../../src/controller/status.js';
import { SmcError } from '../../src/errors.js';
import { ProviderError } from '../../src/stores/provider-error.js';
import { createKeyring } from '../../src/sops/index.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { SecretStore } from '../../src/stores/store.js';
import { repoRoot } from '../peers.js';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:05:00Z');

describe('setConditions', () => {
  it('keeps lastTransitionTime while status is unchanged, moves it when status changes', () => {
    const a = setConditions(
      undefined,
      [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' }],
      'T0',
      1,
    );
    const b = setConditions(
      a,
      [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'still' }],
      'T1',
      2,
    );
    expect(b[0]).toMatchObject({ lastTransitionTime: 'T0', message: 'still', observedGeneration: 2 });
    const c = setConditions(
      b,
      [{ type: 'Ready', status: 'False', reason: 'SopsMacMismatch', message: 'x' }],
      'T2',
      2,
    );
    expect(c[0]).toMatchObject({ status: 'False', lastTransitionTime: 'T2', reason: 'SopsMacMismatch' });
  });

  it('keeps other condition types and refuses a non-CamelCase reason', () => {
    const a = setConditions(
      [{ type: 'Drifted', status: 'True', reason: 'Drift', message: 'm', lastTransitionTime: 'T' }],
      [{ type: 'Ready', status: 'False', reason: 'not camel case!', message: 'm' }],
      'T0',
      1,
    );
    expect(a.map((c) => c.type)).toEqual(['Ready', 'Drifted']);
    expect(a[0]!.reason).toBe('Unknown');
  });
});

describe('computeStatus', () => {
  const outcomes = [
    {
      key: 'A',
      storeName: 'svc-A',
      kind: 'secret' as const,
      store: 'gcp',
      action: 'create' as const,
      result: 'ok' as const,
      version: '1',
    },
    {
      key: 'B',
      storeName: 'svc-B',
      kind: 'secret' as const,
      store: 'gcp',
      action: 'noop' as const,
      result: 'ok' as const,
    },
    {
      key: 'P',
      storeName: 'svc-properties',
      kind: 'config' as const,
      store: 'gcp',
      action: 'update' as const,
      result: 'ok' as const,
    },
  ];

  it('a full sync: Synced, Ready=True, lastSyncTime, counts, entries', () => {
    const s = computeStatus({
      previous: undefined,
      generation: 3,
      verdict: { kind: 'synced', revision: 'main@sha1:abc', outcomes },
      now: T0,
      nextReconcileAt: T1,
      handledReconcileAt: 'r1',
    });
    expect(s).toMatchObject({
      phase: 'Synced',
      observedGeneration: 3,
      lastSyncTime: '2026-01-01T00:00:00Z',
      lastAttemptTime: '2026-01-01T00:00:00Z',
      nextReconcileTime: '2026-01-01T00:05:00Z',
      lastSyncedRevision: 'main@sha1:abc',
      lastHandledReconcileAt: 'r1',
      secretsCount: 2,
      configsCount: 1,
    });
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Succeeded'],
      ['Reconciling', 'False', 'Succeeded'],
      ['Stalled', 'False', 'Succeeded'],
      ['SourceReady', 'True', 'Succeeded'],
    ]);
    expect(s.entries?.find((e) => e.key === 'A')).toEqual({
      key: 'A',
      storeName: 'svc-A',
      kind: 'secret',
      version: '1',
      state: 'Synced',
      lastUpdateTime: '2026-01-01T00:00:00Z',
    });
    // noop: never written, no lastUpdateTime invented.
    expect(s.entries?.find((e) => e.key === 'B')?.lastUpdateTime).toBeUndefined();
  });

  it('partial failure: Error, Ready=False PartialFailure, lastSyncTime kept, failed entry named', () => {
    const previous: SecretManagerConfigStatus = {
      lastSyncTime: '2025-12-31T00:00:00Z',
      lastSyncedRevision: 'old',
    };
    const s = computeStatus({
      previous,
      generation: 1,
      verdict: {
        kind: 'partial',
        revision: 'new',
        failed: 1,
        outcomes: [
          ...outcomes,
          {
            key: 'C',
            storeName: 'svc-C',
            kind: 'secret',
            store: 'gcp',
            action: 'create',
            result: 'failed',
            message: 'svc-C: too large (70000 bytes > 65536)',
          },
        ],
      },
      now: T0,
      nextReconcileAt: T1,
    });
    expect(s.phase).toBe('Error');
    expect(s.lastSyncTime).toBe('2025-12-31T00:00:00Z');
    expect(s.lastSyncedRevision).toBe('old');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PartialFailure',
    });
    expect(s.conditions?.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(s.entries?.find((e) => e.key === 'C')).toMatchObject({
      state: 'Failed',
      message: expect.stringContaining('too large'),
    });
    expect(s.description).toContain('svc-C');
  });

  it('a stalled error: the code is the reason, Stalled=True, SourceReady=False for source problems', () => {
    const s = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: {
        kind: 'failed',
        reason: 'UnsafeArchive',
        message: 'GitRepository ns/x: ../etc escapes',
        stalled: true,
        sourceProblem: true,
      },
      now: T0,
      nextReconcileAt: T1,
    });
    const byType = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    expect(byType.Ready).toMatchObject({ status: 'False', reason: 'UnsafeArchive' });
    expect(byType.Stalled).toMatchObject({ status: 'True', reason: 'UnsafeArchive' });
    expect(byType.Reconciling?.status).toBe('False');
    expect(byType.SourceReady).toMatchObject({ status: 'False', reason: 'UnsafeArchive' });
    expect(s.lastSyncTime).toBeUndefined();
  });

  it('unchanged: the status stays as it is (nothing to write); only a handled request moves it', () => {
    const previous: SecretManagerConfigStatus = {
      phase: 'Synced',
      lastAttemptTime: '2025-12-31T00:00:00Z',
      nextReconcileTime: '2025-12-31T00:01:00Z',
    };
    const s = computeStatus({
      previous,
      generation: 1,
      verdict: { kind: 'unchanged' },
      now: T0,
      nextReconcileAt: T1,
    });
    expect(s).toEqual(previous);
    expect(statusChanged(previous, s)).toBe(false);
    const requested = computeStatus({
      previous,
      generation: 1,
      verdict: { kind: 'unchanged' },
      now: T0,
      nextReconcileAt: T1,
      handledReconcileAt: 'req-1',
    });
    expect(requested).toEqual({ ...previous, lastHandledReconcileAt: 'req-1' });
    expect(statusChanged(previous, requested)).toBe(true);
  });

  it('statusChanged compares as JSON: keys holding undefined do not count, any value does', () => {
    const a: SecretManagerConfigStatus = { phase: 'Synced', secretsCount: 2, entries: [] };
    expect(statusChanged(a, { ...a, observedGeneration: undefined })).toBe(false);
    expect(statusChanged(undefined, {})).toBe(false);
    expect(statusChanged(a, { ...a, secretsCount: 3 })).toBe(true);
    expect(
      statusChanged(a, { ...a, entries: [{ key: 'k', storeName: 'k', kind: 'secret', state: 'Synced' }] }),
    ).toBe(true);
  });

  it('statusChanged agrees with comparing the two statuses serialised as JSON', () => {
    const cond = { type: 'Ready', status: 'True', reason: 'Synced', lastTransitionTime: 'T0' };
    const pairs: [unknown, unknown][] = [
      [{ conditions: [cond] }, { conditions: [{ ...cond }] }],
      [{ conditions: [cond] }, { conditions: [{ ...cond, message: undefined }] }],
      [{ conditions: [cond] }, { conditions: [{ ...cond, status: 'False' }] }],
      [{ conditions: [cond] }, { conditions: [cond, cond] }],
      [{ hotReload: { enabled: true } }, { hotReload: { enabled: true, restarted: undefined } }],
      [{ hotReload: { enabled: true } }, { hotReload: {} }],
      [{ entries: [] }, { entries: {} }],
      [{ secretsCount: 1 }, { secretsCount: '1' }],
      [{ description: null }, { description: undefined }],
      [{ entries: [undefined] }, { entries: [null] }],
      [
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ],
      [{ a: 1 }, { b: 1 }],
      [{ when: new Date(0) }, { when: new Date(0).toISOString() }],
    ];
    // The definition: two statuses differ when their JSON forms do (key order aside).
    const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    for (const [a, b] of pairs) {
      expect(
        statusChanged(a as SecretManagerConfigStatus, b as SecretManagerConfigStatus),
        `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
      ).toBe(!isDeepStrictEqual(asJson(a), asJson(b)));
    }
  });

  it('entries keep their lastUpdateTime until written again', () => {
    const prev = entriesFromOutcomes([outcomes[0]!], undefined, 'T0');
    const next = entriesFromOutcomes([{ ...outcomes[0]!, action: 'noop', version: undefined }], prev, 'T1');
    expect(next[0]).toMatchObject({ lastUpdateTime: 'T0', version: '1' });
  });
});

describe('reconcile', () => {
  const artifact = { url: 'http://x/a.tar.gz', digest: `sha256:${'0'.repeat(64)}`, revision: 'main@sha1:1' };
  const readySource = {
    status: { artifact, conditions: [{ type: 'Ready', status: 'True' }] },
  };
  const spec = {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: 'my-project-1' } },
    secrets: { environment: 'dev' },
  };

  async function world(over: Partial<ReconcileWorld> = {}) {
    const calls = { fetch: 0, stores: 0 };
    const dir = await mkdtemp(path.join(tmpdir(), 'smc-reconcile-'));
    const keyText = await readFile(path.join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
    const w: ReconcileWorld = {
      now: () => T1,
      source: readySource,
      fetchArtifact: async () => {
        calls.fetch++;
        return { root: path.join(repoRoot, 'examples/gitops'), description: 'example' };
      },
      sopsKeyring: () => createKeyring({ age: [keyText] }),
      openStores: () => {
        calls.stores++;
        return { secretStore: new LocalDirStore(dir) as SecretStore };
      },
      driftCheckIntervalMs: 600_000,
      minReconcileIntervalMs: 30_000,
      ...over,
    };
    return { w, calls };
  }
  const obj = (
    status?: SecretManagerConfigStatus,
    extra: Partial<SmcObject['metadata']> = {},
  ): SmcObject => ({
    metadata: { name: 'payments', namespace: 'team-a', generation: 1, ...extra },
    spec,
    status,
  });

  it('syncs, then the same revision and generation make no call at all', async () => {
    const { w, calls } = await world();
    const first = await reconcile(obj(), w);
    expect(first.result).toBe('success');
    expect(first.writes).toBeGreaterThan(0);
    expect(first.status.phase).toBe('Synced');
    expect(first.requeueAfterMs).toBe(60_000);
    const second = await reconcile(obj(first.status), w);
    expect(second.result).toBe('skipped');
    expect(calls).toEqual({ fetch: 1, stores: 1 });
    // A reconcile request forces a pass (read-compare-write: zero writes) and is recorded.
    const forced = await reconcile(
      obj(first.status, { annotations: { 'reconcile.fluxcd.io/requestedAt': 'r2' } }),
      w,
    );
    expect(forced).toMatchObject({ result: 'success', writes: 0 });
    expect(forced.status.lastHandledReconcileAt).toBe('r2');
    // A new generation also forces one.
    const gen = await reconcile(
      obj(forced.status, { generation: 2, annotations: { 'reconcile.fluxcd.io/requestedAt': 'r2' } }),
      w,
    );
    expect(gen.result).toBe('success');
    expect(calls.fetch).toBe(3);
  });

  it('suspend: Suspended, no call', async () => {
    const { w, calls } = await world();
    const r = await reconcile({ ...obj(), spec: { ...spec, suspend: true } }, w);
    expect(r.status.phase).toBe('Suspended');
    expect(r.result).toBe('skipped');
    expect(calls).toEqual({ fetch: 0, stores: 0 });
  });

  it('source not ready: SourceReady=False, retried, no call', async () => {
    const { w, calls } = await world({
      source: { status: { conditions: [{ type: 'Ready', status: 'False', message: 'clone failed' }] } },
    });
    const r = await reconcile(obj(), w);
    expect(r.retry).toBe(true);
    expect(r.status.conditions?.find((c) => c.type === 'SourceReady')).toMatchObject({
      status: 'False',
      reason: 'SourceNotReady',
      message: 'GitRepository team-a/config: clone failed',
    });
    expect(calls).toEqual({ fetch: 0, stores: 0 });
  });

  it('an SmcError becomes the reason; an unknown error leaks no message', async () => {
    const { w } = await world({
      fetchArtifact: () =>
        Promise.reject(
          new SmcError('ArtifactDigestMismatch', 'digest mismatch for GitRepository team-a/config'),
        ),
    });
    const r = await reconcile(obj(), w);
    expect(r.status.conditions?.[0]).toMatchObject({ reason: 'ArtifactDigestMismatch', status: 'False' });
    expect(r.retry).toBe(false);
    const { w: w2 } = await world({ fetchArtifact: () => Promise.reject(new Error('password=hunter2')) });
    const r2 = await reconcile(obj(), w2);
    expect(JSON.stringify(r2.status)).not.toContain('hunter2');
    expect(r2.retry).toBe(true);
  });

  it('writes refused by throttling: the failure (Event, log) is Throttled, like Ready, and retried', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'smc-reconcile-throttled-'));
    const local = new LocalDirStore(dir) as SecretStore;
    const throttled: SecretStore = Object.assign(Object.create(local) as SecretStore, {
      apply: async (_owner: unknown, actions: Parameters<SecretStore['apply']>[1]) =>
        actions.map((action) => ({
          action,
          result: 'failed' as const,
          message: `${action.storeName}: ${new ProviderError('Throttled', 'quota exceeded (HTTP 429)').message}`,
        })),
    });
    const { w } = await world({ openStores: () => ({ secretStore: throttled }) });
    const r = await reconcile(obj(), w);
    expect(r.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Throttled');
    expect(r.error?.reason).toBe('Throttled');
    expect(r.retry).toBe(true);
  });

  it('max_secret_size_bytes caps every value: bigger entries fail alone, named, before any write', async () => {
    const { w } = await world({ maxSecretSizeBytes: 40 });
    const r = await reconcile(obj(), w);
    const failed = r.status.entries?.filter((e) => e.state === 'Failed') ?? [];
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(e.message).toContain('max_secret_size_bytes (40)');
    expect(r.status.entries?.some((e) => e.state === 'Synced')).toBe(true);
    expect(r.status.phase).toBe('Error');
    expect(JSON.stringify(r.status)).not.toContain('sk_test_demo_51Hx');
  });

  it('an invalid spec: Ready=False InvalidSpec, stalled', async () => {
    const { w } = await world();
    const r = await reconcile({ ...obj(), spec: { ...spec, secrets: {} } }, w);
    expect(r.status.conditions?.[0]).toMatchObject({ reason: 'InvalidSpec', status: 'False' });
    expect(r.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
  });
});
