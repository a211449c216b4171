/**
 * `spec.hotReload.workloads` (docs/hot-reload.md): which workload reload a reconcile leads to —
 * annotated (the default, unchanged), auto (provider `kubernetes` only), off — and the resume of a
 * change-set recorded in status, once per process.
 */
import { describe, expect, it } from 'vitest';
import {
  type AutoReloader,
  type ChangeSet,
  type ReconcileFacts,
  WorkloadReloadPolicy,
  type WorkloadNotifier,
  changeSetStatus,
} from '../../src/reload/workloads/index.js';

const SMC = { namespace: 'team', name: 'app', uid: 'u1' };
const k8s = (workloads?: string) => ({
  provider: { kubernetes: {} },
  ...(workloads ? { hotReload: { workloads } } : {}),
});
const gcp = (workloads?: string) => ({
  provider: { gcp: { projectId: 'p' } },
  ...(workloads ? { hotReload: { workloads } } : {}),
});
const wrote: ReconcileFacts = {
  writes: 1,
  revision: 'main@sha1:1',
  changes: [
    { store: 'k8s', storeName: 'DB', action: 'update', result: 'ok' },
    { store: 'k8s', storeName: 'X', action: 'update', result: 'failed' },
  ],
  status: { entries: [] },
};
const noop: ReconcileFacts = { writes: 0, revision: 'main@sha1:1', changes: [], status: {} };

function setup() {
  const notified: string[] = [];
  const changed: ChangeSet[] = [];
  const policy = new WorkloadReloadPolicy({
    annotated: {
      notify: async (smc: { name: string }, digest: string) => (notified.push(`${smc.name}@${digest}`), 1),
      stop: async () => {},
    } as unknown as WorkloadNotifier,
    auto: {
      changed: async (cs: ChangeSet) => (changed.push(cs), 1),
      stop: async () => {},
    } as unknown as AutoReloader,
    now: () => new Date('2026-12-07T10:00:00.123Z'),
  });
  return { policy, notified, changed };
}

describe('WorkloadReloadPolicy', () => {
  it('annotated (the default): the annotated notifier after a sync that wrote, no change-set', async () => {
    const { policy, notified, changed } = setup();
    expect(policy.changeSetOf(SMC, k8s(), wrote)).toBeUndefined();
    await policy.afterReconcile(SMC, k8s(), wrote, undefined);
    await policy.afterReconcile(SMC, k8s(), noop, undefined);
    expect(notified).toHaveLength(1);
    expect(notified[0]).toMatch(/^app@sha256:[0-9a-f]{32}$/);
    expect(changed).toEqual([]);
  });

  it('auto with a kubernetes provider: a change-set of the keys written, handed to the auto reloader', async () => {
    const { policy, notified, changed } = setup();
    const cs = policy.changeSetOf(SMC, k8s('auto'), wrote)!;
    expect(cs).toMatchObject({
      smc: SMC,
      revision: 'main@sha1:1',
      secret: 'app',
      keys: ['DB'],
      at: '2026-12-07T10:00:00.123Z',
    });
    expect(cs.id).toMatch(/^[0-9a-f]{16}$/);
    await policy.afterReconcile(SMC, k8s('auto'), wrote, cs);
    expect(changed).toEqual([cs]);
    expect(notified).toEqual([]);
    // A named Secret.
    const named = { provider: { kubernetes: { secretName: 'db-creds' } }, hotReload: { workloads: 'auto' } };
    expect(policy.changeSetOf(SMC, named, wrote)?.secret).toBe('db-creds');
  });

  it('auto resumes the change-set in status once per process (a restarted controller finishes the fan-out)', async () => {
    const { policy, changed } = setup();
    const cs = policy.changeSetOf(SMC, k8s('auto'), wrote)!;
    const later: ReconcileFacts = { ...noop, status: { hotReload: { changeSet: changeSetStatus(cs) } } };
    await policy.afterReconcile(SMC, k8s('auto'), later, undefined);
    await policy.afterReconcile(SMC, k8s('auto'), later, undefined);
    expect(changed.map((c) => c.id)).toEqual([cs.id]);
    expect(changed[0]).toMatchObject({ secret: 'app', keys: ['DB'], at: cs.at });
    policy.forget(SMC);
    await policy.afterReconcile(SMC, k8s('auto'), later, undefined);
    expect(changed).toHaveLength(2);
  });

  it('auto with a cloud provider acts as annotated; off does nothing', async () => {
    const { policy, notified, changed } = setup();
    expect(policy.changeSetOf(SMC, gcp('auto'), wrote)).toBeUndefined();
    await policy.afterReconcile(SMC, gcp('auto'), wrote, undefined);
    expect(notified).toHaveLength(1);
    await policy.afterReconcile(SMC, k8s('off'), wrote, undefined);
    await policy.afterReconcile(SMC, gcp('off'), wrote, undefined);
    expect(policy.changeSetOf(SMC, k8s('off'), wrote)).toBeUndefined();
    expect(notified).toHaveLength(1);
    expect(changed).toEqual([]);
  });
});
