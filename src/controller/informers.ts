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
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';

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
  /** Ignore a missing resource type (404 on list: e.g. the Flux CRDs are not installed). */
  optional?: boolean;
}

const RESTART_MIN_MS = 500;
/** Accept header for a list that returns metadata only (no Secret data travels). */
const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const RESTART_MAX_MS = 2_000;
/** Cap on the informer's pause before re-watching after a normal end of a watch. */
const REWATCH_MAX_MS = 1_000;
const rewatchDelay = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, REWATCH_MAX_MS)));

export function watchCollection<T extends KubernetesObject>(opts: CollectionOptions<T>): Collection<T> {
  const api = opts.kubeConfig.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = opts.type;
  const scopes: (string | undefined)[] = opts.namespaces.length ? [...opts.namespaces] : [undefined];
  let stopped = false;
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
        if (opts.optional && (e as { code?: number }).code === 404) {
          part.synced = true;
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
      await Promise.all(
        parts.map((p) =>
          p.informer.start().catch((e: unknown) => {
            p.restart(e);
          }),
        ),
      );
    },
    async stop() {
      stopped = true;
      await Promise.all(parts.map((p) => p.informer.stop()));
    },
  };
}

export interface SecretChangeWatchOptions {
  kubeConfig: KubeConfig;
  /** The one Secret watched (RBAC grants list/watch on it by name, docs/security.md). */
  namespace: string;
  name: string;
  /** The Secret was modified, deleted or created after the watch began. */
  onChange(namespace: string, name: string): void;
  logger: Logger;
}

/**
 * Changes of one Secret (the controller-wide SOPS key's rotation), without caching it: list it (by
 * a `metadata.name` field selector, which RBAC authorises per name) to learn the resourceVersion,
 * then watch from there; on any watch end, do it again. Only names are passed on; the objects
 * (and their data) are dropped at once. Other referenced Secrets are polled (src/controller/secret-poll.ts).
 */
export function watchSecretChanges(opts: SecretChangeWatchOptions): { stop(): void } {
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(opts.kubeConfig);
  const scopes = [opts.namespace];
  const fieldSelector = `metadata.name=${opts.name}`;
  let stopped = false;
  const aborts = new Set<AbortController>();
  const run = async (namespace: string, delay: number): Promise<void> => {
    if (stopped) return;
    try {
      const list = await core.listNamespacedSecret(
        { namespace, fieldSelector },
        setHeaderOptions('Accept', METADATA_ONLY_LIST),
      );
      const resourceVersion = list.metadata?.resourceVersion;
      const path = `/api/v1/namespaces/${namespace}/secrets`;
      let abort: AbortController | undefined = undefined;
      abort = await watch.watch(
        path,
        { resourceVersion, allowWatchBookmarks: false, fieldSelector },
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
