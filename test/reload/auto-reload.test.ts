/**
 * Automatic workload reload (docs/hot-reload.md): the decisions of the AutoReloader on a fake clock
 * and an in-memory workload API — restart exactly the workloads a changed key needs, once per
 * change-set, never again for a recorded change-set, rate limits that defer and report rather than
 * drop, and the evict strategy's PodDisruptionBudget retries. The real apiserver runs the same
 * paths in test/e2e/e2e-workload-auto.kube.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  AutoReloader,
  type AutoReport,
  type ChangeSet,
  type Clock,
  type EvictionResult,
  type PodInfo,
  RELOADED_FOR_ANNOTATION,
  RESTARTED_FOR_ANNOTATION,
  type Workload,
  type WorkloadApi,
  type WorkloadKind,
  WorkloadNotifier,
  type WorkloadPatch,
  type WorkloadReloadReport,
  makeChangeSet,
  readRecord,
} from '../../src/reload/workloads/index.js';
import { FakeClock } from './fake-clock.js';

const G = 'secret-management.octopilot.io';
const NS = 'team';

class FakeApi implements WorkloadApi {
  workloads: Workload[] = [];
  pods = new Map<string, PodInfo[]>();
  patches: { name: string; body: WorkloadPatch }[] = [];
  evictions: string[] = [];
  pdbAllows = Infinity;
  failLists = 0;
  async list(kind: WorkloadKind, namespace: string): Promise<Workload[] | undefined> {
    if (this.failLists > 0 && this.failLists--) throw new Error('HTTP 503');
    if (kind === 'Rollout') return undefined;
    return this.workloads.filter((w) => w.kind === kind && w.metadata.namespace === namespace);
  }
  async patchTemplateAnnotations(): Promise<void> {
    throw new Error('not used by auto mode');
  }
  async patch(_kind: WorkloadKind, _ns: string, name: string, body: WorkloadPatch): Promise<void> {
    this.patches.push({ name, body });
    const w = this.workloads.find((x) => x.metadata.name === name)!;
    w.metadata.annotations = { ...w.metadata.annotations, ...body.metadata?.annotations };
  }
  async listPods(_ns: string, selector: string): Promise<PodInfo[]> {
    return this.pods.get(selector) ?? [];
  }
  async evictPod(_ns: string, name: string): Promise<EvictionResult> {
    if (this.pdbAllows <= 0) return 'blocked';
    this.pdbAllows--;
    this.evictions.push(name);
    // The workload's controller replaces the pod at once with a ready one.
    for (const [sel, pods] of this.pods) {
      const i = pods.findIndex((p) => p.name === name);
      if (i >= 0) pods.splice(i, 1, { name: `${name}-new`, ready: true, createdAt: Date.now() + 1e12 });
      this.pods.set(sel, pods);
    }
    return 'evicted';
  }
  restarted(): string[] {
    return this.patches.filter((p) => p.body.spec).map((p) => p.name);
  }
}

function deployment(
  name: string,
  spec: Workload['spec'] extends infer S ? NonNullable<S> : never,
  annotations: Record<string, string> = {},
): Workload {
  return {
    kind: 'Deployment',
    metadata: { name, namespace: NS, annotations },
    spec: { selector: { matchLabels: { app: name } }, ...spec },
  };
}

const envUser = (
  name: string,
  key = 'DB_PASSWORD',
  secret = 'app',
  annotations: Record<string, string> = {},
) =>
  deployment(
    name,
    {
      template: {
        spec: {
          containers: [
            { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret, key } } }] },
          ],
        },
      },
    },
    annotations,
  );

const volumeUser = (name: string, secret = 'app') =>
  deployment(name, {
    template: {
      spec: {
        volumes: [{ name: 's', secret: { secretName: secret } }],
        containers: [{ volumeMounts: [{ name: 's', mountPath: '/etc/app' }] }],
      },
    },
  });

function setup(
  limits = { perWorkloadMs: 0, perNamespacePerMinute: 0 },
  syncing?: (cs: ChangeSet) => boolean,
) {
  const clock = new FakeClock(1_000_000);
  const api = new FakeApi();
  const reports: (AutoReport & { smc: string })[] = [];
  const counts: string[] = [];
  const reloader = new AutoReloader({
    api,
    clock,
    now: () => clock.now,
    windowMs: () => 2000,
    limits: () => limits,
    blockedRetryMs: 5000,
    ...(syncing ? { syncing } : {}),
    evict: { pollMs: 1, sleep: async () => {} },
    report: (smc, r) => void reports.push({ ...r, smc: smc.name }),
    count: (s, r) => void counts.push(`${s}/${r}`),
  });
  const cs = (smc: string, keys: string[], revision = 'main@sha1:1', secret = smc): ChangeSet =>
    makeChangeSet({ namespace: NS, name: smc }, revision, secret, keys, new Date(clock.now));
  const settle = async (ms: number) => {
    clock.advance(ms);
    await reloader.idle();
  };
  return { clock, api, reports, counts, reloader, cs, settle };
}

describe('AutoReloader', () => {
  it('a change to one key restarts exactly the 5 env-var users and notifies the 5 volume users', async () => {
    const { api, reports, reloader, cs, settle } = setup();
    for (let i = 0; i < 5; i++) api.workloads.push(envUser(`env-${i}`), volumeUser(`vol-${i}`));
    api.workloads.push(envUser('other-key', 'API_KEY'), envUser('other-secret', 'DB_PASSWORD', 'elsewhere'));
    const change = cs('app', ['DB_PASSWORD']);
    expect(await reloader.changed(change)).toBe(11); // other-secret reads another Secret
    await settle(1999);
    expect(api.patches).toEqual([]); // the debounce
    await settle(1);
    expect(api.restarted().sort()).toEqual(['env-0', 'env-1', 'env-2', 'env-3', 'env-4']);
    for (const p of api.patches) {
      expect(p.body.metadata?.annotations[RELOADED_FOR_ANNOTATION]).toBe(change.id);
      expect(p.body.spec?.template.metadata.annotations[RESTARTED_FOR_ANNOTATION]).toBe(`app@${change.id}`);
    }
    const by = (r: string) =>
      reports
        .filter((x) => x.result === r)
        .map((x) => `${x.workload}: ${x.reason}`)
        .sort();
    expect(by('restarted')).toEqual([0, 1, 2, 3, 4].map((i) => `Deployment/env-${i}: env var DB_PASSWORD`));
    expect(by('notified')).toEqual(
      [0, 1, 2, 3, 4].map((i) => `Deployment/vol-${i}: updates live: volume mount /etc/app (DB_PASSWORD)`),
    );
    expect(reports.some((r) => r.workload === 'Deployment/other-key')).toBe(false);
  });

  it('two SMCs changed by one revision restart each workload once, recording both change-sets', async () => {
    const { api, reloader, cs, settle } = setup();
    api.workloads.push(
      deployment('both', {
        template: {
          spec: {
            containers: [
              {
                env: [
                  { name: 'A', valueFrom: { secretKeyRef: { name: 'a', key: 'K' } } },
                  { name: 'B', valueFrom: { secretKeyRef: { name: 'b', key: 'K' } } },
                ],
              },
            ],
          },
        },
      }),
    );
    const a = cs('a', ['K']);
    const b = cs('b', ['K']);
    await reloader.changed(a);
    await settle(500);
    await reloader.changed(b);
    await settle(2000);
    expect(api.restarted()).toEqual(['both']);
    expect(readRecord(api.workloads[0]!.metadata.annotations).ids).toEqual([a.id, b.id]);
    expect(api.patches[0]!.body.spec?.template.metadata.annotations[RESTARTED_FOR_ANNOTATION]).toBe(
      `a,b@${a.id},${b.id}`,
    );
  });

  it('waits while another SMC of the same revision is still syncing, then restarts once for both', async () => {
    let bSyncing = true;
    const { api, reloader, cs, settle } = setup(undefined, (c) => c.smc.name === 'a' && bSyncing);
    api.workloads.push(envUser('w', 'K', 'a'), envUser('x', 'K', 'b'));
    const a = cs('a', ['K']);
    await reloader.changed(a);
    await settle(2000);
    await settle(2000);
    expect(api.restarted()).toEqual([]); // b has not finished the revision yet
    bSyncing = false;
    api.workloads[0]!.spec!.template!.spec!.containers![0]!.env = [
      { name: 'A', valueFrom: { secretKeyRef: { name: 'a', key: 'K' } } },
      { name: 'B', valueFrom: { secretKeyRef: { name: 'b', key: 'K' } } },
    ];
    await reloader.changed(cs('b', ['K']));
    await settle(2000);
    expect(api.restarted().sort()).toEqual(['w', 'x']);
    expect(readRecord(api.workloads[0]!.metadata.annotations).ids).toHaveLength(2);
  });

  it('the wait for other SMCs is bounded: after 10 debounces the restart goes ahead', async () => {
    const { api, reloader, cs, settle } = setup(undefined, () => true);
    api.workloads.push(envUser('w'));
    await reloader.changed(cs('app', ['DB_PASSWORD']));
    for (let i = 0; i < 9; i++) await settle(2000);
    expect(api.restarted()).toEqual([]);
    await settle(2000);
    await settle(2000);
    expect(api.restarted()).toEqual(['w']);
  });

  it('a change-set the workload records is never applied again (a resumed fan-out)', async () => {
    const { api, reloader, cs, settle, counts } = setup();
    const change = cs('app', ['DB_PASSWORD']);
    api.workloads.push(
      envUser('done', 'DB_PASSWORD', 'app', { [RELOADED_FOR_ANNOTATION]: `0123456789abcdef,${change.id}` }),
      envUser('left'),
    );
    await reloader.changed(change);
    await settle(2000);
    expect(api.restarted()).toEqual(['left']);
    expect(counts).toContain('restart/skipped');
  });

  it('rate limits defer restarts and report them once; nothing is dropped', async () => {
    const { api, reports, reloader, cs, settle } = setup({ perWorkloadMs: 0, perNamespacePerMinute: 2 });
    for (let i = 0; i < 5; i++) api.workloads.push(envUser(`env-${i}`));
    await reloader.changed(cs('app', ['DB_PASSWORD']));
    await settle(2000);
    expect(api.restarted()).toHaveLength(2);
    const skipped = reports.filter((r) => r.result === 'skipped');
    expect(skipped).toHaveLength(3);
    expect(skipped[0]!.reason).toMatch(
      /^rate limited: 2 restarts per minute in namespace team \(workload_restarts_per_namespace_per_minute\); retry in \d+s \(needs a restart: env var DB_PASSWORD\)$/,
    );
    await settle(30_000);
    expect(api.restarted()).toHaveLength(3);
    await settle(30_000);
    await settle(30_000);
    expect(api.restarted()).toHaveLength(5);
    expect(reports.filter((r) => r.result === 'skipped')).toHaveLength(3); // announced once each
    expect(reloader.pendingCount).toBe(0);
  });

  it('one restart per workload per interval: a second change-set soon after waits, then goes', async () => {
    const { api, reports, reloader, cs, settle } = setup({ perWorkloadMs: 60_000, perNamespacePerMinute: 0 });
    api.workloads.push(envUser('w'));
    await reloader.changed(cs('app', ['DB_PASSWORD'], 'main@sha1:1'));
    await settle(2000);
    await reloader.changed(cs('app', ['DB_PASSWORD'], 'main@sha1:2'));
    await settle(2000);
    expect(api.restarted()).toEqual(['w']);
    expect(reports.at(-1)?.reason).toMatch(/^rate limited: one restart per workload every 60s/);
    await settle(60_000);
    expect(api.restarted()).toEqual(['w', 'w']);
  });

  it('reload-strategy none skips and says why; http on a volume user POSTs its ready pods', async () => {
    const { api, reports, reloader, cs, settle } = setup();
    api.workloads.push(envUser('off', 'DB_PASSWORD', 'app', { [`${G}/reload-strategy`]: 'none' }));
    const v = volumeUser('web');
    v.metadata.annotations = { [`${G}/reload-strategy`]: 'http', [`${G}/reload-http`]: '8080/reload' };
    api.workloads.push(v);
    api.pods.set('app=web', [{ name: 'web-1', podIP: '10.0.0.1', ready: true }]);
    const posted: string[] = [];
    const r2 = new AutoReloader({
      api,
      clock: (reloader as unknown as { clock: Clock }).clock,
      windowMs: () => 0,
      limits: () => ({ perWorkloadMs: 0, perNamespacePerMinute: 0 }),
      post: async (url) => (posted.push(url), 200),
      report: (_s, r) => void reports.push({ ...r, smc: 'app' }),
    });
    await r2.changed(cs('app', ['DB_PASSWORD']));
    await settle(0);
    await r2.idle();
    expect(api.patches).toEqual([]);
    expect(posted).toEqual(['http://10.0.0.1:8080/reload']);
    expect(reports.map((r) => `${r.workload} ${r.result}: ${r.reason}`).sort()).toEqual([
      'Deployment/off skipped: reload-strategy none (needs a restart: env var DB_PASSWORD)',
      'Deployment/web notified: updates live: volume mount /etc/app (DB_PASSWORD); POST 8080/reload to 1 ready pod(s)',
    ]);
  });

  it('evict: writes nothing on the workload, evicts the pods older than the change one at a time, waits out a PDB', async () => {
    const { api, reports, reloader, cs, settle, counts } = setup();
    api.workloads.push(envUser('ev', 'DB_PASSWORD', 'app', { [`${G}/reload-strategy`]: 'evict' }));
    api.pods.set('app=ev', [
      { name: 'ev-a', ready: true, createdAt: 1 },
      { name: 'ev-b', ready: true, createdAt: 2 },
    ]);
    api.pdbAllows = 1;
    const change = cs('app', ['DB_PASSWORD']);
    await reloader.changed(change);
    await settle(2000);
    expect(api.evictions).toEqual(['ev-a']);
    expect(api.patches).toEqual([]); // not even metadata: a Deployment's generation counts annotations
    expect(reports.map((r) => r.result)).toEqual(['skipped']);
    expect(reports[0]!.reason).toMatch(
      /^eviction of pod ev-b refused by a PodDisruptionBudget; 1 pod\(s\) left/,
    );
    api.pdbAllows = 1;
    await settle(5000);
    expect(api.evictions).toEqual(['ev-a', 'ev-b']);
    expect(reports.map((r) => r.result)).toEqual(['skipped', 'evicted']);
    expect(reports[1]!.reason).toBe('2 pod(s) evicted (env var DB_PASSWORD)');
    // Evaluated again (a successor resuming the change-set): the pods are newer, nothing is evicted.
    await reloader.changed(change);
    await settle(2000);
    expect(api.evictions).toEqual(['ev-a', 'ev-b']);
    expect(counts).toContain('evict/skipped');
  });

  it('annotated mode takes reload-strategy evict too: old pods evicted, the workload not written', async () => {
    const { api, clock } = setup();
    api.workloads.push(
      envUser('ev', 'DB_PASSWORD', 'app', { [`${G}/reload`]: 'app', [`${G}/reload-strategy`]: 'evict' }),
    );
    api.pods.set('app=ev', [{ name: 'ev-a', ready: true, createdAt: 1 }]);
    const reports: WorkloadReloadReport[] = [];
    const notifier = new WorkloadNotifier({
      api,
      clock,
      windowMs: 2000,
      evict: { pollMs: 1, sleep: async () => {} },
      onReload: (_s, r) => void reports.push(r),
    });
    await notifier.notify({ namespace: NS, name: 'app' }, 'sha256:x');
    clock.advance(2000);
    await notifier.idle();
    expect(api.evictions).toEqual(['ev-a']);
    expect(api.patches).toEqual([]);
    expect(reports.map((r) => `${r.strategy} ${r.result}: ${r.detail}`)).toEqual([
      'evict success: 1 pod(s) evicted',
    ]);
  });

  it('evict: a pod created in the same second as the change counts as old (creationTimestamp has second precision)', async () => {
    const { api, clock, reloader, cs, settle } = setup();
    clock.now = 1_000_500; // the change is written mid-second
    api.workloads.push(envUser('ev', 'DB_PASSWORD', 'app', { [`${G}/reload-strategy`]: 'evict' }));
    api.pods.set('app=ev', [{ name: 'ev-a', ready: true, createdAt: 1_000_000 }]); // its second, shown truncated
    await reloader.changed(cs('app', ['DB_PASSWORD']));
    await settle(2000);
    expect(api.evictions).toEqual(['ev-a']);
  });

  it('evict: stopping the controller ends the wait for a replacement at once (a successor finishes)', async () => {
    const clock = new FakeClock(1_000_000);
    const api = new FakeApi();
    api.workloads.push(envUser('ev', 'DB_PASSWORD', 'app', { [`${G}/reload-strategy`]: 'evict' }));
    api.pods.set('app=ev', [{ name: 'ev-a', ready: true, createdAt: 1 }]);
    api.evictPod = async (_ns, name) => {
      api.evictions.push(name);
      api.pods.set('app=ev', []); // no replacement ever comes
      return 'evicted';
    };
    const reports: AutoReport[] = [];
    const reloader = new AutoReloader({
      api,
      clock,
      now: () => clock.now,
      windowMs: () => 0,
      limits: () => ({ perWorkloadMs: 0, perNamespacePerMinute: 0 }),
      evict: { pollMs: 5, readyTimeoutMs: 3_600_000 },
      report: (_s, r) => void reports.push(r),
    });
    await reloader.changed(
      makeChangeSet({ namespace: NS, name: 'app' }, 'r', 'app', ['DB_PASSWORD'], new Date(clock.now)),
    );
    clock.advance(1000);
    await vi.waitFor(() => expect(api.evictions).toEqual(['ev-a']));
    await reloader.stop();
    expect(reports).toEqual([]); // nothing claimed: the change-set in status is resumed by a successor
  });

  it('an evaluation the API fails is tried again (5 s, then 10 s), not dropped', async () => {
    const { api, reloader, cs, settle } = setup();
    api.workloads.push(envUser('w'));
    await reloader.changed(cs('app', ['DB_PASSWORD']));
    api.failLists = 2;
    await settle(2000);
    await settle(5000);
    expect(api.restarted()).toEqual([]);
    await settle(10_000);
    expect(api.restarted()).toEqual(['w']);
  });
});
