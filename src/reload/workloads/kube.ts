/**
 * The Kubernetes side of workload reload: looking up (from shared informer caches, see ./cache.ts)
 * and patching Deployments, StatefulSets, DaemonSets and Argo Rollouts (absent CRD tolerated),
 * listing and evicting pods, POSTing reload endpoints, the status writer, and the controller's
 * wiring of both modes (metrics, Events on the SMC, live settings).
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '../../kube/client-node.js';
import type { Logger } from '../../observability/logger.js';
import type { ControllerMetrics } from '../../observability/metrics.js';
import type { EventRecorder } from '../../controller/runtime/events.js';
import { API_GROUP, API_VERSION_NAME, PLURAL } from '../../api/constants.js';
import { ARGO_GROUP, ARGO_VERSION } from '../../api/foreign-apis.js';
import { WorkloadCache } from './cache.js';
import { AutoReloader } from './auto.js';
import type { AutoResult } from './auto-report.js';
import { WorkloadReloadPolicy } from './policy.js';
import type { ChangeSet } from './change-set.js';
import {
  type EvictionResult,
  type SmcRef,
  type HttpPost,
  type PodInfo,
  type Workload,
  type WorkloadApi,
  type WorkloadKind,
  WorkloadNotifier,
  type WorkloadPatch,
} from './notifier.js';

const ROLLOUTS = { group: ARGO_GROUP, version: ARGO_VERSION, plural: 'rollouts' } as const;
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
    await this.patch(kind, namespace, name, { spec: { template: { metadata: { annotations } } } });
  }

  async listPods(namespace: string, labelSelector: string): Promise<PodInfo[]> {
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
    return pods.items.map((p) => {
      const created = p.metadata?.creationTimestamp;
      return {
        name: p.metadata?.name ?? '',
        ...(p.metadata?.uid ? { uid: p.metadata.uid } : {}),
        podIP: p.status?.podIP,
        ready:
          p.metadata?.deletionTimestamp === undefined &&
          (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
        ...(created ? { createdAt: new Date(created).getTime() } : {}),
        deleting: p.metadata?.deletionTimestamp !== undefined,
      };
    });
  }

  async patch(kind: WorkloadKind, namespace: string, name: string, body: WorkloadPatch): Promise<void> {
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

  async evictPod(namespace: string, name: string): Promise<EvictionResult> {
    try {
      await this.core.createNamespacedPodEviction({
        namespace,
        name,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
      });
      return 'evicted';
    } catch (e) {
      // 429: a PodDisruptionBudget forbids it now (or its status is not computed yet).
      if (codeOf(e) === 429) return 'blocked';
      if (codeOf(e) === 404) return 'gone';
      throw e;
    }
  }
}

/** POST with an empty body and a timeout; resolves to the status code. */
export const fetchPost: HttpPost = async (url, timeoutMs) => {
  const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
};

/** One workload's line in `status.hotReload.workloads` (auto mode). */
export interface WorkloadResultStatus {
  workload: string;
  result: AutoResult;
  reason: string;
  /** The change-sets the result is about. */
  changeSets: string[];
}

const MAX_RESULTS = 100;

/**
 * Records `status.hotReload.lastWorkloadReload` and `workloadsNotified` (`Kind/name` of the workloads
 * reloaded) on an SMC, and in auto mode `workloads` (what the current change-set did to each
 * workload, and why): reports within `batchMs` of each other make one status patch. The notified
 * list is of one content digest: reloads of the same sync that finish in different batches (an HTTP
 * reload waits for its pods) add to it; a reload of a new digest starts a new list.
 * Only this writer sets these fields (the reconcile's status patch leaves them alone).
 */
export class WorkloadStatusWriter {
  private readonly batches = new Map<
    string,
    { smc: SmcRef; names: Set<string>; results: boolean; timer: NodeJS.Timeout }
  >();
  /** Per SMC: the change-sets the `workloads` list is about, and the list. */
  private readonly results = new Map<
    string,
    { changeSets: string; byWorkload: Map<string, WorkloadResultStatus> }
  >();
  /** Per SMC: the digest the notified list is about, and the list. */
  private readonly notified = new Map<string, { digest: string; names: Set<string> }>();
  private readonly custom: CustomObjectsApi;

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
    private readonly batchMs = 200,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private batch(smc: SmcRef) {
    const key = `${smc.namespace}/${smc.name}`;
    let b = this.batches.get(key);
    if (!b) {
      b = {
        smc,
        names: new Set(),
        results: false,
        timer: setTimeout(() => void this.flush(key), this.batchMs),
      };
      this.batches.set(key, b);
    }
    return b;
  }

  /** A workload reloaded for the sync with content `digest`. */
  add(smc: SmcRef, workload: string, digest: string): void {
    const key = `${smc.namespace}/${smc.name}`;
    let n = this.notified.get(key);
    if (n?.digest !== digest) this.notified.set(key, (n = { digest, names: new Set() }));
    n.names.add(workload);
    this.batch(smc).names.add(workload);
  }

  /** An auto-mode result; a report about other change-sets than the list's starts a new list. */
  addResult(smc: SmcRef, changeSets: readonly string[], r: WorkloadResultStatus): void {
    const key = `${smc.namespace}/${smc.name}`;
    const ids = [...changeSets].sort().join(',');
    let cur = this.results.get(key);
    if (!cur || !changeSets.some((id) => cur!.changeSets.split(',').includes(id))) {
      cur = { changeSets: ids, byWorkload: new Map() };
      this.results.set(key, cur);
    }
    cur.byWorkload.set(r.workload, r);
    const b = this.batch(smc);
    b.results = true;
    if (r.result === 'restarted' || r.result === 'evicted' || r.result === 'notified')
      b.names.add(r.workload);
  }

  /** An SMC is gone. */
  forget(smc: SmcRef): void {
    this.results.delete(`${smc.namespace}/${smc.name}`);
    this.notified.delete(`${smc.namespace}/${smc.name}`);
  }

  private async flush(key: string): Promise<void> {
    const b = this.batches.get(key);
    if (!b) return;
    this.batches.delete(key);
    const hotReload: Record<string, unknown> = {};
    if (b.names.size) {
      hotReload.lastWorkloadReload = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      hotReload.workloadsNotified = [
        ...new Set([...b.names, ...(this.notified.get(key)?.names ?? [])]),
      ].sort();
    }
    if (b.results) {
      hotReload.workloads = [...(this.results.get(key)?.byWorkload.values() ?? [])]
        .sort((x, y) => x.workload.localeCompare(y.workload))
        .slice(0, MAX_RESULTS)
        .map((r) => ({ ...r, reason: r.reason.slice(0, 1024) }));
    }
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

/** Event reason per auto-mode result. */
const AUTO_EVENT_REASONS: Record<AutoResult, string> = {
  restarted: 'WorkloadRestarted',
  evicted: 'WorkloadEvicted',
  notified: 'WorkloadNotified',
  skipped: 'WorkloadReloadSkipped',
  failed: 'WorkloadReloadFailed',
};

/** The live settings workload reload reads at each decision. */
export interface WorkloadReloadSettings {
  watch_namespaces: readonly string[];
  workload_reload_window_ms: number;
  workload_restart_min_interval_secs: number;
  workload_restarts_per_namespace_per_minute: number;
}

/**
 * The controller's workload reload (docs/hot-reload.md): the policy over the annotated notifier and
 * the auto reloader, sharing the informer-cached workload lookup, metrics, Events on the SMC and
 * the status writer.
 */
export function createWorkloadReload(o: {
  kubeConfig: KubeConfig;
  settings: () => WorkloadReloadSettings;
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  /** Whether other SMCs are still syncing a change-set's revision (see AutoReloaderOptions). */
  syncing?: (cs: ChangeSet) => boolean;
}): WorkloadReloadPolicy {
  const log = o.logger.child({ component: 'workload-reload' });
  const status = new WorkloadStatusWriter(o.kubeConfig, log);
  const api = new KubeWorkloadApi(o.kubeConfig, {
    namespaces: () => o.settings().watch_namespaces,
    logger: log,
  });
  const annotated = createWorkloadNotifier({
    kubeConfig: o.kubeConfig,
    logger: o.logger,
    metrics: o.metrics,
    events: o.events,
    windowMs: () => o.settings().workload_reload_window_ms,
    shared: { api, status, log },
  });
  const auto = new AutoReloader({
    api,
    post: fetchPost,
    windowMs: () => o.settings().workload_reload_window_ms,
    ...(o.syncing ? { syncing: o.syncing } : {}),
    limits: () => ({
      perWorkloadMs: o.settings().workload_restart_min_interval_secs * 1000,
      perNamespacePerMinute: o.settings().workload_restarts_per_namespace_per_minute,
    }),
    count: (strategy, result) => o.metrics.workloadReloads.inc({ strategy, result }),
    log: (level, fields, msg) => log[level](fields, msg),
    report: async (smc, r) => {
      status.addResult(smc, r.changeSets, {
        workload: r.workload,
        result: r.result,
        reason: r.reason,
        changeSets: r.changeSets,
      });
      await o.events.record(smc, {
        type: r.result === 'failed' ? 'Warning' : 'Normal',
        reason: AUTO_EVENT_REASONS[r.result],
        message: `${r.workload} ${r.result}: ${r.reason}`,
      });
    },
  });
  return new WorkloadReloadPolicy({
    annotated,
    auto,
    log: (fields, msg) => log.info(fields, msg),
    onForget: (smc) => status.forget(smc),
  });
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
  /** Share the lookup, status writer and logger of `createWorkloadReload`. */
  shared?: { api: KubeWorkloadApi; status: WorkloadStatusWriter; log: Logger };
}): WorkloadNotifier {
  const log = o.shared?.log ?? o.logger.child({ component: 'workload-reload' });
  const status = o.shared?.status ?? new WorkloadStatusWriter(o.kubeConfig, log);
  const api =
    o.shared?.api ??
    new KubeWorkloadApi(o.kubeConfig, {
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
      if (r.result === 'success') status.add(smc, `${r.kind}/${r.name}`, r.digest);
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
