/** Workload notification (docs/hot-reload.md): discovery, strategies, coalescing on a fake clock, digests. */
import { describe, expect, it } from 'vitest';
import {
  type PodInfo,
  RESTARTED_FOR_ANNOTATION,
  type Workload,
  type WorkloadApi,
  type WorkloadKind,
  WorkloadNotifier,
  type WorkloadReloadReport,
  contentDigest,
  parseReloadHttp,
  reloadStrategy,
  reloadTargets,
  shouldNotify,
} from '../../src/reload/workloads/index.js';
import { parseSettings } from '../../src/controller/settings.js';
import { FakeClock } from './fake-clock.js';

const G = 'secret-management.octopilot.io';

class FakeApi implements WorkloadApi {
  workloads: Workload[] = [];
  pods: PodInfo[] = [];
  patches: { kind: WorkloadKind; name: string; annotations: Record<string, string> }[] = [];
  rollouts = false;
  lists = 0;
  async list(kind: WorkloadKind, namespace: string): Promise<Workload[] | undefined> {
    this.lists++;
    if (kind === 'Rollout' && !this.rollouts) return undefined;
    return this.workloads.filter((w) => w.kind === kind && w.metadata.namespace === namespace);
  }
  async patchTemplateAnnotations(
    kind: WorkloadKind,
    _ns: string,
    name: string,
    annotations: Record<string, string>,
  ): Promise<void> {
    this.patches.push({ kind, name, annotations });
    const w = this.workloads.find((x) => x.kind === kind && x.metadata.name === name)!;
    w.spec = {
      ...w.spec,
      template: { metadata: { annotations: { ...w.spec?.template?.metadata?.annotations, ...annotations } } },
    };
  }
  async listPods(): Promise<PodInfo[]> {
    return this.pods;
  }
}

function workload(kind: WorkloadKind, name: string, annotations: Record<string, string>): Workload {
  return {
    kind,
    metadata: { name, namespace: 'apps', annotations },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: {} } },
  };
}

function setup(opts: { windowMs?: number; post?: (url: string) => Promise<number> } = {}) {
  const api = new FakeApi();
  const clock = new FakeClock();
  const counts: string[] = [];
  const reports: { smc: string; report: WorkloadReloadReport }[] = [];
  const posts: string[] = [];
  const notifier = new WorkloadNotifier({
    api,
    clock,
    windowMs: opts.windowMs ?? 2000,
    httpRetryBaseMs: 1,
    post: async (url) => {
      posts.push(url);
      return opts.post ? opts.post(url) : 200;
    },
    count: (s, r) => counts.push(`${s}/${r}`),
    onReload: (smc, report) => {
      reports.push({ smc: smc.name, report });
    },
  });
  return { api, clock, counts, reports, posts, notifier };
}

const smc = (name: string) => ({ namespace: 'apps', name });

describe('annotations', () => {
  it('reload lists one or more SMCs, comma separated, spaces and duplicates tolerated', () => {
    expect(reloadTargets({ [`${G}/reload`]: 'payments' })).toEqual(['payments']);
    expect(reloadTargets({ [`${G}/reload`]: 'payments, billing,payments,,' })).toEqual([
      'payments',
      'billing',
    ]);
    expect(reloadTargets({ [`${G}/reload`]: '' })).toEqual([]);
    expect(reloadTargets(undefined)).toEqual([]);
    expect(reloadTargets({ 'secret.reloader.stakater.com/reload': 'payments' })).toEqual([]);
  });

  it('reload-strategy defaults to restart; unknown values are refused', () => {
    expect(reloadStrategy({})).toBe('restart');
    expect(reloadStrategy({ [`${G}/reload-strategy`]: 'HTTP' })).toBe('http');
    expect(reloadStrategy({ [`${G}/reload-strategy`]: 'none' })).toBe('none');
    expect(reloadStrategy({ [`${G}/reload-strategy`]: 'rollout' })).toBeUndefined();
  });

  it('reload-http is <port>/<path>', () => {
    expect(parseReloadHttp('8080/reload')).toEqual({ port: 8080, path: '/reload' });
    expect(parseReloadHttp('9000/admin/reload')).toEqual({ port: 9000, path: '/admin/reload' });
    expect(parseReloadHttp('8080')).toEqual({ port: 8080, path: '/reload' });
    expect(parseReloadHttp('http://x/reload')).toBeUndefined();
    expect(parseReloadHttp('70000/reload')).toBeUndefined();
    expect(parseReloadHttp(undefined)).toBeUndefined();
  });

  it('the coalescing window is the workload_reload_window_ms setting (env WORKLOAD_RELOAD_WINDOW_MS), default 2 s', () => {
    expect(parseSettings({}).settings?.workload_reload_window_ms).toBe(2000);
    expect(parseSettings({ WORKLOAD_RELOAD_WINDOW_MS: '500' }).settings?.workload_reload_window_ms).toBe(500);
    expect(parseSettings({}, { workload_reload_window_ms: 'soon' }).errors.map((e) => e.key)).toEqual([
      'workload_reload_window_ms',
    ]);
  });
});

describe('content digest', () => {
  const entries = [
    { key: 'A', storeName: 'payments-A', kind: 'secret', version: '3', lastUpdateTime: 't1' },
    { key: 'B', storeName: 'payments-B', kind: 'secret', version: '7', lastUpdateTime: 't2' },
  ];
  it('is stable: same revision and versions, any order, other fields ignored', () => {
    const d = contentDigest('main@sha1:1', entries);
    expect(d).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(contentDigest('main@sha1:1', [...entries].reverse())).toBe(d);
    expect(
      contentDigest(
        'main@sha1:1',
        entries.map((e) => ({ ...e, lastUpdateTime: 'later' })),
      ),
    ).toBe(d);
  });
  it('changes with the revision or any entry version', () => {
    const d = contentDigest('main@sha1:1', entries);
    expect(contentDigest('main@sha1:2', entries)).not.toBe(d);
    expect(contentDigest('main@sha1:1', [entries[0]!, { ...entries[1]!, version: '8' }])).not.toBe(d);
  });
  it('never sees a value: only revision and version ids go in', () => {
    // The function has no value parameter; entries carry no value (docs/crd-reference.md).
    expect(contentDigest.length).toBe(2);
  });
});

describe('never after a no-op', () => {
  it('notifies only when the sync wrote something', () => {
    expect(shouldNotify({ writes: 0 })).toBe(false);
    expect(shouldNotify({ writes: 1 })).toBe(true);
  });
});

describe('discovery', () => {
  it('finds annotated workloads of every kind that name the SMC, tolerating no Rollout CRD', async () => {
    const { api, notifier } = setup();
    api.workloads = [
      workload('Deployment', 'web', { [`${G}/reload`]: 'payments' }),
      workload('StatefulSet', 'db', { [`${G}/reload`]: 'billing, payments' }),
      workload('DaemonSet', 'agent', { [`${G}/reload`]: 'billing' }),
      workload('Deployment', 'plain', {}),
    ];
    expect((await notifier.discover(smc('payments'))).map((w) => `${w.kind}/${w.metadata.name}`)).toEqual([
      'Deployment/web',
      'StatefulSet/db',
    ]);
    expect((await notifier.discover(smc('billing'))).map((w) => w.metadata.name)).toEqual(['db', 'agent']);
    api.rollouts = true;
    api.workloads.push(workload('Rollout', 'canary', { [`${G}/reload`]: 'payments' }));
    expect((await notifier.discover(smc('payments'))).map((w) => w.kind)).toContain('Rollout');
  });
  it('a failing list of one kind does not hide the others', async () => {
    const { api, notifier } = setup();
    api.workloads = [workload('Deployment', 'web', { [`${G}/reload`]: 'payments' })];
    api.list = async (kind) => {
      if (kind === 'StatefulSet') throw new Error('forbidden');
      return kind === 'Deployment' ? api.workloads : [];
    };
    expect((await notifier.discover(smc('payments'))).map((w) => w.metadata.name)).toEqual(['web']);
  });
});

describe('restart strategy, coalesced', () => {
  it('a burst within the window gives ONE patch with the latest digest', async () => {
    const { api, clock, counts, reports, notifier } = setup();
    api.workloads = [workload('Deployment', 'web', { [`${G}/reload`]: 'payments' })];
    await notifier.notify(smc('payments'), 'sha256:1');
    clock.advance(500);
    await notifier.notify(smc('payments'), 'sha256:2');
    clock.advance(1000);
    await notifier.notify(smc('payments'), 'sha256:3');
    expect(api.patches).toEqual([]);
    clock.advance(499);
    expect(api.patches).toEqual([]);
    clock.advance(1);
    await notifier.idle();
    expect(api.patches).toEqual([
      { kind: 'Deployment', name: 'web', annotations: { [RESTARTED_FOR_ANNOTATION]: 'payments@sha256:3' } },
    ]);
    expect(counts).toEqual(['restart/success']);
    expect(reports).toMatchObject([{ smc: 'payments', report: { result: 'success', digest: 'sha256:3' } }]);
    expect(notifier.pendingCount).toBe(0);
  });

  it('a window given as a function is asked at each scheduling (a live settings change applies next time)', async () => {
    const { api, clock } = setup();
    let windowMs = 2000;
    const notifier = new WorkloadNotifier({ api, clock, windowMs: () => windowMs });
    api.workloads = [workload('Deployment', 'web', { [`${G}/reload`]: 'payments' })];
    await notifier.notify(smc('payments'), 'sha256:1');
    clock.advance(2000);
    await notifier.idle();
    expect(api.patches).toHaveLength(1);
    windowMs = 100;
    await notifier.notify(smc('payments'), 'sha256:2');
    clock.advance(100);
    await notifier.idle();
    expect(api.patches).toHaveLength(2);
  });

  it('changes after the window give a second reload; the same digest again is a no-op', async () => {
    const { api, clock, counts, notifier } = setup();
    api.workloads = [workload('StatefulSet', 'db', { [`${G}/reload`]: 'payments' })];
    await notifier.notify(smc('payments'), 'sha256:1');
    clock.advance(2000);
    await notifier.idle();
    await notifier.notify(smc('payments'), 'sha256:2');
    clock.advance(2000);
    await notifier.idle();
    await notifier.notify(smc('payments'), 'sha256:2');
    clock.advance(2000);
    await notifier.idle();
    expect(api.patches.map((p) => p.annotations[RESTARTED_FOR_ANNOTATION])).toEqual([
      'payments@sha256:1',
      'payments@sha256:2',
    ]);
    expect(counts).toEqual(['restart/success', 'restart/success', 'restart/skipped']);
  });

  it('two SMCs changing within the window reload a workload naming both once, reported to both', async () => {
    const { api, clock, reports, notifier } = setup();
    api.workloads = [workload('Deployment', 'web', { [`${G}/reload`]: 'payments,billing' })];
    await notifier.notify(smc('payments'), 'sha256:p');
    await notifier.notify(smc('billing'), 'sha256:b');
    clock.advance(2000);
    await notifier.idle();
    expect(api.patches).toHaveLength(1);
    expect(reports.map((r) => r.smc).sort()).toEqual(['billing', 'payments']);
    expect(reports[0]!.report.smcs.sort()).toEqual(['apps/billing', 'apps/payments']);
  });

  it('strategy none counts a skip and patches nothing; an unknown strategy is an error', async () => {
    const { api, clock, counts, notifier } = setup();
    api.workloads = [
      workload('Deployment', 'quiet', { [`${G}/reload`]: 'payments', [`${G}/reload-strategy`]: 'none' }),
      workload('Deployment', 'typo', { [`${G}/reload`]: 'payments', [`${G}/reload-strategy`]: 'rolout' }),
    ];
    await notifier.notify(smc('payments'), 'sha256:1');
    clock.advance(2000);
    await notifier.idle();
    expect(api.patches).toEqual([]);
    expect(counts.sort()).toEqual(['none/error', 'none/skipped']);
  });

  it('stop() cancels pending reloads', async () => {
    const { api, clock, notifier } = setup();
    api.workloads = [workload('Deployment', 'web', { [`${G}/reload`]: 'payments' })];
    await notifier.notify(smc('payments'), 'sha256:1');
    await notifier.stop();
    clock.advance(5000);
    expect(api.patches).toEqual([]);
    expect(await notifier.notify(smc('payments'), 'sha256:2')).toBe(0);
  });
});

describe('http strategy', () => {
  const httpWorkload = () =>
    workload('Deployment', 'api', {
      [`${G}/reload`]: 'payments',
      [`${G}/reload-strategy`]: 'http',
      [`${G}/reload-http`]: '8080/reload',
    });

  it('POSTs each ready pod once (coalesced), never a non-ready one', async () => {
    const { api, clock, posts, counts, notifier } = setup();
    api.workloads = [httpWorkload()];
    api.pods = [
      { name: 'a', podIP: '10.0.0.1', ready: true },
      { name: 'b', podIP: '10.0.0.2', ready: false },
      { name: 'c', podIP: 'fd00::3', ready: true },
      { name: 'd', ready: true },
    ];
    await notifier.notify(smc('payments'), 'sha256:1');
    await notifier.notify(smc('payments'), 'sha256:2');
    clock.advance(2000);
    await notifier.idle();
    expect(posts.sort()).toEqual(['http://10.0.0.1:8080/reload', 'http://[fd00::3]:8080/reload']);
    expect(counts).toEqual(['http/success']);
  });

  it('retries a failing POST, then reports an error', async () => {
    let n = 0;
    const { api, clock, posts, counts, notifier } = setup({
      post: async () => (++n < 3 ? 503 : 200),
    });
    api.workloads = [httpWorkload()];
    api.pods = [{ name: 'a', podIP: '10.0.0.1', ready: true }];
    await notifier.notify(smc('payments'), 'sha256:1');
    clock.advance(2000);
    await notifier.idle();
    expect(posts).toHaveLength(3);
    expect(counts).toEqual(['http/success']);

    const failing = setup({ post: async () => Promise.reject(new Error('ECONNREFUSED')) });
    failing.api.workloads = [httpWorkload()];
    failing.api.pods = [{ name: 'a', podIP: '10.0.0.1', ready: true }];
    await failing.notifier.notify(smc('payments'), 'sha256:1');
    failing.clock.advance(2000);
    await failing.notifier.idle();
    expect(failing.posts).toHaveLength(3);
    expect(failing.counts).toEqual(['http/error']);
    expect(failing.reports[0]!.report.detail).toContain('failed for a');
  });

  it('a 4xx is not retried; no ready pods is a skip; a bad reload-http is an error', async () => {
    const four = setup({ post: async () => 404 });
    four.api.workloads = [httpWorkload()];
    four.api.pods = [{ name: 'a', podIP: '10.0.0.1', ready: true }];
    await four.notifier.notify(smc('payments'), 'd');
    four.clock.advance(2000);
    await four.notifier.idle();
    expect(four.posts).toHaveLength(1);
    expect(four.counts).toEqual(['http/error']);

    const none = setup();
    none.api.workloads = [httpWorkload()];
    await none.notifier.notify(smc('payments'), 'd');
    none.clock.advance(2000);
    await none.notifier.idle();
    expect(none.counts).toEqual(['http/skipped']);

    const bad = setup();
    bad.api.workloads = [{ ...httpWorkload() }];
    bad.api.workloads[0]!.metadata.annotations![`${G}/reload-http`] = 'reload';
    await bad.notifier.notify(smc('payments'), 'd');
    bad.clock.advance(2000);
    await bad.notifier.idle();
    expect(bad.counts).toEqual(['http/error']);
    expect(bad.posts).toEqual([]);
  });
});
