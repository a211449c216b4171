/**
 * The workload lookup of hot reload, served from shared informer caches: one list + watch per
 * workload kind (Deployments, StatefulSets, DaemonSets, and Argo Rollouts while their CRD is
 * served) for the watched namespaces (cluster-wide when `watch_namespaces` is empty), started at
 * the first lookup. A fleet-wide change then costs no LIST at all, instead of four per SMC (the
 * direct lookup: 4,000 LISTs for one change of 1,000 SMCs).
 *
 * Until a kind's cache has its first list (or while its list keeps failing), the lookup lists
 * directly, as before. Whether Rollouts are served is asked at most once a minute while they are
 * not (a cluster may install Argo Rollouts later).
 */
import type { KubeConfig, KubernetesObject } from '../../kube/client-node.js';
import { ARGO_GROUP, ARGO_VERSION } from '../../api/foreign-apis.js';
import type { Logger } from '../../observability/logger.js';
import { type Collection, type ResourceType, watchCollection } from '../../controller/runtime/informers.js';
import type { Workload, WorkloadKind } from './notifier.js';

const TYPES: Record<WorkloadKind, ResourceType> = {
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet' },
  Rollout: { group: ARGO_GROUP, version: ARGO_VERSION, plural: 'rollouts', kind: 'Rollout' },
};

/** How long "the Rollouts CRD is not served" is believed before asking again. */
const ABSENT_RECHECK_MS = 60_000;

type DirectList = (kind: WorkloadKind, namespace: string) => Promise<Workload[] | undefined>;

export interface WorkloadCacheOptions {
  kubeConfig: KubeConfig;
  /** The watched namespaces, asked at the first lookup; empty: all. */
  namespaces: () => readonly string[];
  /** The uncached lookup (one LIST): used until a cache is synced, and to learn whether Rollouts are served. */
  directList: DirectList;
  logger: Logger;
  now?: () => number;
}

export class WorkloadCache {
  /** Per kind: its cache once started (`undefined`: Rollouts not served), shared by concurrent lookups. */
  private readonly caches = new Map<WorkloadKind, Promise<Collection<KubernetesObject> | undefined>>();
  private readonly started: Collection<KubernetesObject>[] = [];
  /** When the Rollouts CRD was last found missing. */
  private rolloutsAbsentAt: number | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: WorkloadCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Workloads of `kind` in `namespace`; `undefined` when the kind is not served. */
  async list(kind: WorkloadKind, namespace: string): Promise<Workload[] | undefined> {
    if (kind === 'Rollout' && this.rolloutsAbsentAt !== undefined) {
      if (this.now() - this.rolloutsAbsentAt < ABSENT_RECHECK_MS) return undefined;
      this.rolloutsAbsentAt = undefined;
      this.caches.delete(kind);
    }
    let cache = this.caches.get(kind);
    if (!cache) {
      cache = this.startCache(kind, namespace);
      this.caches.set(kind, cache);
    }
    const c = await cache;
    if (!c) return undefined;
    // Until the first list is in (or while it keeps failing), list directly, as without a cache.
    if (!c.synced) return this.o.directList(kind, namespace);
    return c.list(namespace).map((o) => ({ ...(o as unknown as Workload), kind }));
  }

  private async startCache(
    kind: WorkloadKind,
    namespace: string,
  ): Promise<Collection<KubernetesObject> | undefined> {
    // Rollouts are a CRD: ask once whether they are served before watching them.
    if (kind === 'Rollout' && (await this.o.directList(kind, namespace).catch(() => [])) === undefined) {
      this.rolloutsAbsentAt = this.now();
      return undefined;
    }
    if (this.stopped) return undefined;
    const cache = watchCollection<KubernetesObject>({
      kubeConfig: this.o.kubeConfig,
      type: TYPES[kind],
      namespaces: this.o.namespaces(),
      logger: this.o.logger,
      onEvent: () => {},
    });
    this.started.push(cache);
    await cache.start();
    return cache;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.started.splice(0).map((c) => c.stop()));
    this.caches.clear();
  }
}
