/**
 * Watched collections: list + watch through `@kubernetes/client-node`'s informer (which resumes
 * from the last resourceVersion and relists on 410 Gone), restarted with backoff after any other
 * watch error, for one resource in all namespaces or in each of `watch_namespaces`.
 *
 * Two delays bound how late a change can be seen: after a failed list/watch the restart delay
 * doubles from 0.5 s to 2 s and is reset by the next successful list (not by a mere attempt, so an
 * apiserver outage is not hammered every 0.5 s); and the informer's own pause before re-watching
 * after a watch the server ended normally is capped at 1 s (client-node doubles it up to 30 s
 * with every normal end and never resets it, which would leave a quiet resource unwatched for
 * half a minute after each watch timeout in a long-running process).
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { OptionalApiGate } from './optional-api.js';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export type WatchEvent = 'add' | 'update' | 'delete';

export interface Collection<T extends KubernetesObject> {
  readonly type: ResourceType;
  get(namespace: string, name: string): T | undefined;
  list(): T[];
  /** True once every namespace's first list has arrived. */
  readonly synced: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface CollectionOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  type: ResourceType;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  onEvent(event: WatchEvent, obj: T, old: T | undefined): void;
  logger: Logger;
  /**
   * A resource type the cluster may not serve (e.g. the Flux or Argo CD CRDs are not installed):
   * not watched, and empty, while discovery says it is not served (src/controller/optional-api.ts).
   */
  optional?: boolean;
  /** How often discovery is asked again while an optional type is not served (default 3 min). */
  optionalRecheckMs?: number;
}

const notFound = (e: unknown) => {
  const x = e as { code?: number; statusCode?: number } | undefined;
  return x?.code === 404 || x?.statusCode === 404;
};

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 2_000;
/** Cap on the informer's pause before re-watching after a normal end of a watch. */
const REWATCH_MAX_MS = 1_000;
const rewatchDelay = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, REWATCH_MAX_MS)));

export function watchCollection<T extends KubernetesObject>(opts: CollectionOptions<T>): Collection<T> {
  const api = opts.kubeConfig.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = opts.type;
  const scopes: (string | undefined)[] = opts.namespaces.length ? [...opts.namespaces] : [undefined];
  let stopped = false;
  /** An optional type found not served: not watched until discovery says it is. */
  const notServed = () => {
    if (stopped || !gate) return;
    void Promise.all(parts.map((p) => p.informer.stop())).finally(() => gate.lost());
  };
  const parts = scopes.map((namespace) => {
    const path = namespace
      ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
    /** Restart delay after a failed list/watch; reset by a successful list. */
    let delay = RESTART_MIN_MS;
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      try {
        const list = (
          namespace
            ? await api.listNamespacedCustomObject({ group, version, namespace, plural })
            : await api.listClusterCustomObject({ group, version, plural })
        ) as KubernetesListObject<T>;
        part.synced = true;
        delay = RESTART_MIN_MS;
        return list;
      } catch (e) {
        if (opts.optional && notFound(e)) {
          part.synced = true;
          notServed();
          return { metadata: {}, items: [] } as unknown as KubernetesListObject<T>;
        }
        throw e;
      }
    };
    const informer = new ListWatch<T>(path, new Watch(opts.kubeConfig), listFn, false, undefined, undefined, {
      delayFn: rewatchDelay,
    });
    // The informer's cache has been updated when these fire; keep the previous object for diffs.
    const previous = new Map<string, T>();
    const keyOf = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    informer.on('add', (o) => {
      const old = previous.get(keyOf(o));
      previous.set(keyOf(o), o);
      opts.onEvent(old ? 'update' : 'add', o, old);
    });
    informer.on('update', (o) => {
      const old = previous.get(keyOf(o));
      previous.set(keyOf(o), o);
      opts.onEvent('update', o, old);
    });
    informer.on('delete', (o) => {
      previous.delete(keyOf(o));
      opts.onEvent('delete', o, undefined);
    });
    const restart = (err: unknown) => {
      if (stopped) return;
      if (opts.optional && notFound(err)) return notServed();
      const code = (err as { code?: number; statusCode?: number })?.code;
      opts.logger.warn({ resource: plural, namespace, code, delayMs: delay }, 'watch failed; restarting');
      const t = setTimeout(() => {
        if (stopped) return;
        informer.start().catch(restart);
      }, delay);
      t.unref?.();
      delay = Math.min(delay * 2, RESTART_MAX_MS);
    };
    informer.on('error', restart);
    const part = { informer, synced: false, restart };
    return part;
  });

  const startParts = async () => {
    await Promise.all(
      parts.map((p) =>
        p.informer.start().catch((e: unknown) => {
          p.restart(e);
        }),
      ),
    );
  };
  const gate = opts.optional
    ? new OptionalApiGate({
        kubeConfig: opts.kubeConfig,
        resource: opts.type,
        logger: opts.logger,
        recheckMs: opts.optionalRecheckMs,
        onServed: async () => {
          for (const p of parts) p.synced = false; // until the first list of the now-served type
          await startParts();
        },
        // Not served: nothing to wait for, the collection is empty.
        onNotServed: () => {
          for (const p of parts) p.synced = true;
        },
      })
    : undefined;

  return {
    type: opts.type,
    get(namespace, name) {
      for (const p of parts) {
        const o = p.informer.get(name, namespace);
        if (o) return o;
      }
      return undefined;
    },
    list() {
      return parts.flatMap((p) => [...p.informer.list()]);
    },
    get synced() {
      return parts.every((p) => p.synced);
    },
    async start() {
      stopped = false;
      if (!gate) return startParts();
      await gate.start();
    },
    async stop() {
      stopped = true;
      gate?.stop();
      await Promise.all(parts.map((p) => p.informer.stop()));
    },
  };
}

export interface SecretChangeWatchOptions {
  kubeConfig: KubeConfig;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  /** A Secret was modified, deleted or created after the watch began. */
  onChange(namespace: string, name: string): void;
  logger: Logger;
}

/**
 * Changes of Secrets (SOPS key rotation), without caching any Secret: list one item to learn the
 * collection's resourceVersion, then watch from there; on any watch end, do it again. Only names
 * are passed on; the objects (and their data) are dropped at once.
 */
export function watchSecretChanges(opts: SecretChangeWatchOptions): { stop(): void } {
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(opts.kubeConfig);
  const scopes: (string | undefined)[] = opts.namespaces.length ? [...opts.namespaces] : [undefined];
  let stopped = false;
  const aborts = new Set<AbortController>();
  const run = async (namespace: string | undefined, delay: number): Promise<void> => {
    if (stopped) return;
    try {
      const list = namespace
        ? await core.listNamespacedSecret({ namespace, limit: 1 })
        : await core.listSecretForAllNamespaces({ limit: 1 });
      const resourceVersion = list.metadata?.resourceVersion;
      const path = namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets';
      let abort: AbortController | undefined = undefined;
      abort = await watch.watch(
        path,
        { resourceVersion, allowWatchBookmarks: false },
        (phase, obj: { metadata?: { namespace?: string; name?: string } }) => {
          const ns = obj?.metadata?.namespace;
          const name = obj?.metadata?.name;
          if ((phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') && ns && name) {
            opts.onChange(ns, name);
          }
        },
        () => {
          if (abort) aborts.delete(abort);
          if (!stopped) setTimeout(() => void run(namespace, RESTART_MIN_MS), RESTART_MIN_MS).unref?.();
        },
      );
      aborts.add(abort);
    } catch (e) {
      if (stopped) return;
      opts.logger.warn(
        { resource: 'secrets', namespace, code: (e as { code?: number }).code },
        'secret watch failed; restarting',
      );
      const next = Math.min(delay * 2, RESTART_MAX_MS);
      setTimeout(() => void run(namespace, next), delay).unref?.();
    }
  };
  for (const ns of scopes) void run(ns, RESTART_MIN_MS);
  return {
    stop() {
      stopped = true;
      for (const a of aborts) a.abort();
      aborts.clear();
    },
  };
}
