/**
 * The Kubernetes side of workload notification: looking up (from shared informer caches, see
 * ./cache.ts) and patching Deployments, StatefulSets, DaemonSets and Argo Rollouts (absent CRD
 * tolerated), listing pods, POSTing reload endpoints, and the controller's wiring (metrics, Events
 * on the SMC).
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Logger } from '../../observability/logger.js';
import type { ControllerMetrics } from '../../observability/metrics.js';
import type { EventRecorder } from '../../controller/events.js';
import { API_GROUP, API_VERSION_NAME, PLURAL } from '../../api/constants.js';
import { WorkloadCache } from './cache.js';
import {
  type SmcRef,
  type HttpPost,
  type PodInfo,
  type Workload,
  type WorkloadApi,
  type WorkloadKind,
  WorkloadNotifier,
} from './notifier.js';

const ROLLOUTS = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' } as const;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function codeOf(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

export class KubeWorkloadApi implements WorkloadApi {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly cache: WorkloadCache | undefined;

  /**
   * `cached`: serve `list` from informer caches over the watched namespaces (the controller);
   * without it every lookup is one LIST.
   */
  constructor(kubeConfig: KubeConfig, cached?: { namespaces: () => readonly string[]; logger: Logger }) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.cache = cached
      ? new WorkloadCache({ kubeConfig, ...cached, directList: (kind, ns) => this.listDirect(kind, ns) })
      : undefined;
  }

  list(kind: WorkloadKind, namespace: string): Promise<Workload[] | undefined> {
    return this.cache ? this.cache.list(kind, namespace) : this.listDirect(kind, namespace);
  }

  /** Stop the caches' watches. */
  async stop(): Promise<void> {
    await this.cache?.stop();
  }

  /** One LIST of `kind` in `namespace`; `undefined` when the kind is not served. */
  async listDirect(kind: WorkloadKind, namespace: string): Promise<Workload[] | undefined> {
    const tag = (items: unknown[]): Workload[] => items.map((i) => ({ ...(i as Workload), kind }));
    switch (kind) {
      case 'Deployment':
        return tag((await this.apps.listNamespacedDeployment({ namespace })).items);
      case 'StatefulSet':
        return tag((await this.apps.listNamespacedStatefulSet({ namespace })).items);
      case 'DaemonSet':
        return tag((await this.apps.listNamespacedDaemonSet({ namespace })).items);
      case 'Rollout':
        try {
          const r = (await this.custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace })) as {
            items?: unknown[];
          };
          return tag(r.items ?? []);
        } catch (e) {
          if (codeOf(e) === 404) return undefined; // no Argo Rollouts CRD
          throw e;
        }
    }
  }

  async patchTemplateAnnotations(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    annotations: Record<string, string>,
  ): Promise<void> {
    const body = { spec: { template: { metadata: { annotations } } } };
    switch (kind) {
      case 'Deployment':
        await this.apps.patchNamespacedDeployment({ namespace, name, body }, MERGE);
        return;
      case 'StatefulSet':
        await this.apps.patchNamespacedStatefulSet({ namespace, name, body }, MERGE);
        return;
      case 'DaemonSet':
        await this.apps.patchNamespacedDaemonSet({ namespace, name, body }, MERGE);
        return;
      case 'Rollout':
        await this.custom.patchNamespacedCustomObject({ ...ROLLOUTS, namespace, name, body }, MERGE);
        return;
    }
  }

  async listPods(namespace: string, labelSelector: string): Promise<PodInfo[]> {
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
    return pods.items.map((p) => ({
      name: p.metadata?.name ?? '',
      podIP: p.status?.podIP,
      ready:
        p.metadata?.deletionTimestamp === undefined &&
        (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    }));
  }
}

/** POST with an empty body and a timeout; resolves to the status code. */
export const fetchPost: HttpPost = async (url, timeoutMs) => {
  const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
};

/**
 * Records `status.hotReload.lastWorkloadReload` and `workloadsNotified` (`Kind/name` of the workloads
 * reloaded) on an SMC: reloads finishing within `batchMs` of each other make one status patch.
 * Only this writer sets these two fields (the reconcile's status patch leaves them alone).
 */
export class WorkloadStatusWriter {
  private readonly batches = new Map<string, { smc: SmcRef; names: Set<string>; timer: NodeJS.Timeout }>();
  private readonly custom: CustomObjectsApi;

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
    private readonly batchMs = 200,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  add(smc: SmcRef, workload: string): void {
    const key = `${smc.namespace}/${smc.name}`;
    const b = this.batches.get(key);
    if (b) {
      b.names.add(workload);
      return;
    }
    const timer = setTimeout(() => void this.flush(key), this.batchMs);
    this.batches.set(key, { smc, names: new Set([workload]), timer });
  }

  private async flush(key: string): Promise<void> {
    const b = this.batches.get(key);
    if (!b) return;
    this.batches.delete(key);
    const hotReload = {
      lastWorkloadReload: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      workloadsNotified: [...b.names].sort(),
    };
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        {
          group: API_GROUP,
          version: API_VERSION_NAME,
          namespace: b.smc.namespace,
          plural: PLURAL,
          name: b.smc.name,
          body: { status: { hotReload } },
        },
        MERGE,
      );
    } catch (e) {
      this.logger.warn({ smc: key, err: (e as Error).message }, 'workload reload status not recorded');
    }
  }

  /** Write pending batches now. */
  async stop(): Promise<void> {
    const keys = [...this.batches.keys()];
    for (const k of keys) clearTimeout(this.batches.get(k)!.timer);
    await Promise.all(keys.map((k) => this.flush(k)));
  }
}

/** The controller's notifier: real API, metrics, one Event per reload on each SMC it carries, status. */
export function createWorkloadNotifier(o: {
  kubeConfig: KubeConfig;
  /** `watch_namespaces` (empty: all): where the workload caches watch. */
  settings?: { watch_namespaces: readonly string[] };
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  /** Coalescing window (ms): the `workload_reload_window_ms` setting, asked at each scheduling. */
  windowMs?: number | (() => number);
}): WorkloadNotifier {
  const log = o.logger.child({ component: 'workload-reload' });
  const status = new WorkloadStatusWriter(o.kubeConfig, log);
  const api = new KubeWorkloadApi(o.kubeConfig, {
    namespaces: () => o.settings?.watch_namespaces ?? [],
    logger: log,
  });
  return new WorkloadNotifier({
    onStop: async () => {
      await status.stop();
      await api.stop();
    },
    api,
    post: fetchPost,
    windowMs: o.windowMs ?? 2000,
    count: (strategy, result) => o.metrics.workloadReloads.inc({ strategy, result }),
    log: (level, fields, msg) => log[level](fields, msg),
    onReload: async (smc, r) => {
      if (r.result === 'success') status.add(smc, `${r.kind}/${r.name}`);
      if (r.result === 'skipped' && r.strategy === 'none') return;
      await o.events.record(smc, {
        type: r.result === 'error' ? 'Warning' : 'Normal',
        reason:
          r.result === 'error'
            ? 'WorkloadReloadFailed'
            : r.result === 'skipped'
              ? 'WorkloadReloadSkipped'
              : 'WorkloadReloaded',
        message: `${r.kind}/${r.name} (${r.strategy}, ${r.result}): ${r.detail}`,
      });
    },
  });
}
