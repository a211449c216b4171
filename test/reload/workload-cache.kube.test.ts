/**
 * The hot-reload workload lookup against the real kube-apiserver, every request counted (the
 * KubeConfig records each one): served from shared informer caches, a fleet of lookups makes one
 * LIST per kind in all, not four per SMC; workloads created or changed later are seen through the
 * watch; the absent Argo Rollouts CRD is tolerated.
 */
import { Writable } from 'node:stream';
import {
  AppsV1Api,
  KubeConfig,
  PatchStrategy,
  type V1PodSpec,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '../../src/api/index.js';
import { createLogger } from '../../src/observability/logger.js';
import {
  AutoReloader,
  KubeWorkloadApi,
  WorkloadNotifier,
  makeChangeSet,
} from '../../src/reload/workloads/index.js';
import { createDeployment } from '../e2e/workloads.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();

/** The admin KubeConfig, recording `METHOD path?query` of every request (API clients and watches). */
class RecordingKubeConfig extends KubeConfig {
  readonly requests: string[] = [];
  override async applySecurityAuthentication(
    ctx: Parameters<KubeConfig['applySecurityAuthentication']>[0],
  ): Promise<void> {
    const url = new URL(ctx.getUrl());
    this.requests.push(`${ctx.getHttpMethod()} ${url.pathname}${url.search}`);
    await super.applySecurityAuthentication(ctx);
  }
  /** LISTs (GET of a collection, not a watch) of `plural`. */
  lists(plural: string): number {
    return this.requests
      .filter((r) => r.startsWith('GET ') && r.split('?')[0]!.endsWith(`/${plural}`))
      .filter((r) => !/[?&]watch=(true|1)/.test(r)).length;
  }
}

const silent = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const apis: KubeWorkloadApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.stop()));
});

function recordingKubeConfig(): RecordingKubeConfig {
  const kc = new RecordingKubeConfig();
  kc.loadFromFile(kube().kubeconfigPath);
  return kc;
}

async function fleetLookups(api: KubeWorkloadApi, namespace: string, smcs: number): Promise<string[][]> {
  const notifier = new WorkloadNotifier({ api, post: async () => 200 });
  return Promise.all(
    Array.from({ length: smcs }, async (_, i) =>
      (await notifier.discover({ namespace, name: `smc-${i % 3}`, uid: `u${i}` })).map(
        (w) => `${w.kind}/${w.metadata.name}`,
      ),
    ),
  );
}

describe('workload lookup', () => {
  it('without a cache: four LISTs per SMC (the cost the cache removes)', async () => {
    const ns = await kube().createNamespace('wl-direct');
    await createDeployment(kube(), ns, 'api', { [ANNOTATIONS.reload]: 'smc-0' });
    const kc = recordingKubeConfig();
    const found = await fleetLookups(new KubeWorkloadApi(kc), ns, 20);
    expect(found[0]).toEqual(['Deployment/api']);
    expect(kc.lists('deployments')).toBe(20);
    expect(kc.lists('rollouts')).toBe(20);
  });

  it('from the informer caches: one LIST per kind for a fleet of lookups, later changes seen by the watch', async () => {
    const ns = await kube().createNamespace('wl-cached');
    await createDeployment(kube(), ns, 'api', { [ANNOTATIONS.reload]: 'smc-0' });
    await createDeployment(kube(), ns, 'web', { [ANNOTATIONS.reload]: 'smc-0, smc-1' });
    await createDeployment(kube(), ns, 'other', {});
    const kc = recordingKubeConfig();
    const api = new KubeWorkloadApi(kc, { namespaces: () => [ns], logger: silent });
    apis.push(api);

    const found = await fleetLookups(api, ns, 30);
    expect(found[0]).toEqual(['Deployment/api', 'Deployment/web']);
    expect(found[1]).toEqual(['Deployment/web']);
    expect(found[2]).toEqual([]);
    // 30 lookups × 4 kinds: one LIST per kind (the informer's); the Rollouts CRD is not installed
    // in the test cluster, which one probe finds (and the next minute's lookups believe).
    expect(kc.lists('deployments')).toBe(1);
    expect(kc.lists('statefulsets')).toBe(1);
    expect(kc.lists('daemonsets')).toBe(1);
    expect(kc.lists('rollouts')).toBe(1);

    // A workload opted in later is found without another LIST.
    await createDeployment(kube(), ns, 'late', { [ANNOTATIONS.reload]: 'smc-2' });
    await expect
      .poll(async () => (await fleetLookups(api, ns, 3))[2], { timeout: 20_000 })
      .toEqual(['Deployment/late']);
    await kube()
      .client(AppsV1Api)
      .patchNamespacedDeployment(
        {
          namespace: ns,
          name: 'api',
          body: { metadata: { annotations: { [ANNOTATIONS.reload]: 'smc-2' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await expect
      .poll(async () => (await fleetLookups(api, ns, 3))[2], { timeout: 20_000 })
      .toEqual(['Deployment/api', 'Deployment/late']);
    expect(kc.lists('deployments')).toBe(1);
  });

  it('auto mode: consumption analysis of a fleet of change-sets from the caches, no LIST per change', async () => {
    const ns = await kube().createNamespace('wl-auto');
    const apps = kube().client(AppsV1Api);
    const template = (spec: V1PodSpec) => ({
      metadata: { name: '' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'x' } }, spec },
      },
    });
    const env = template({
      containers: [
        {
          name: 'c',
          image: 'i',
          env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 's-0', key: 'K' } } }],
        },
      ],
    });
    await apps.createNamespacedDeployment({ namespace: ns, body: { ...env, metadata: { name: 'reader' } } });
    await createDeployment(kube(), ns, 'bystander', {});
    const kc = recordingKubeConfig();
    const api = new KubeWorkloadApi(kc, { namespaces: () => [ns], logger: silent });
    apis.push(api);
    const reloader = new AutoReloader({
      api,
      windowMs: () => 600_000, // evaluations are not due within the test: only discovery runs
      limits: () => ({ perWorkloadMs: 0, perNamespacePerMinute: 0 }),
    });
    const found = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        reloader.changed(
          makeChangeSet({ namespace: ns, name: `s-${i % 3}` }, 'r1', `s-${i % 3}`, ['K'], new Date()),
        ),
      ),
    );
    await reloader.stop();
    // Only the 10 change-sets of Secret s-0 reach a workload (the reader).
    expect(found.filter((n) => n === 1)).toHaveLength(10);
    expect(found.reduce((a, b) => a + b, 0)).toBe(10);
    expect(kc.lists('deployments')).toBe(1);
    expect(kc.lists('statefulsets')).toBe(1);
    expect(kc.lists('daemonsets')).toBe(1);
    expect(kc.lists('rollouts')).toBe(1);
  });
});
