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
 *
 * Throttling (HTTP 429 from API Priority and Fairness) is honoured: a throttled list or watch waits
 * at least its `Retry-After` (1 s when the apiserver names none, at most 30 s) before it restarts,
 * and every restart delay is jittered so watches that failed together do not return together.
 * A collection's namespaces are started one after the other, not as one burst of lists.
 *
 * A watch that receives nothing is ended by client-node after 30 s and restarted (a GET, and for
 * Secrets a list): two requests a minute per quiet watch, forever. Here that inactivity bound is
 * 5 minutes (`WATCH_IDLE_MS`); a dead connection is still noticed by TCP keep-alive, and a watch
 * the apiserver ends (every 30–60 min) is restarted at once.
 */
import { isDeepStrictEqual } from 'node:util';
import { backoffDelayMs } from '../../backoff.js';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
  setHeaderOptions,
} from '../../kube/client-node.js';
import type { Logger } from '../../observability/logger.js';
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
  /** Every object, or those of one namespace (served from the informer's namespace index). */
  list(namespace?: string): T[];
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
   * not watched, and empty, while discovery says it is not served (src/controller/runtime/optional-api.ts).
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
/** Accept header for a list that returns metadata only (no Secret data travels). */
const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const RESTART_MAX_MS = 2_000;
/** Cap on the informer's pause before re-watching after a normal end of a watch. */
const REWATCH_MAX_MS = 1_000;
/** How long a watch may receive nothing before it is restarted (client-node's default: 30 s). */
const WATCH_IDLE_MS = 5 * 60_000;

function quietWatch(kubeConfig: KubeConfig): Watch {
  const watch = new Watch(kubeConfig);
  // `requestTimeoutMs` is private in client-node's types but a plain field of Watch (2.0): set it
  // when it is there; should a release drop it, the 30 s default simply stays.
  const fields = watch as unknown as { requestTimeoutMs?: unknown };
  if (typeof fields.requestTimeoutMs === 'number') fields.requestTimeoutMs = WATCH_IDLE_MS;
  return watch;
}

/** Wait after a 429 that names no Retry-After, and the most a Retry-After is honoured. */
const THROTTLED_MIN_MS = 1_000;
const THROTTLED_MAX_MS = 30_000;

/** HTTP status of a client-node error: `code` (API calls) or `statusCode` (watches). */
function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  const code = typeof e?.code === 'number' ? e.code : e?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** `Retry-After` (seconds) of a client-node ApiException, in milliseconds. */
function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string> } | undefined)?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const name = Object.keys(headers).find((k) => k.toLowerCase() === 'retry-after');
  const seconds = name === undefined ? Number.NaN : Number(headers[name]);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * How long to wait before restarting a list/watch that failed with `err`, given the current
 * backoff `delayMs`: half of it plus a random half (never 0, never a synchronized herd), and for a
 * 429 at least its Retry-After (or 1 s), capped at 30 s.
 */
export function restartDelayMs(err: unknown, delayMs: number, random: () => number = Math.random): number {
  const jittered = backoffDelayMs({ baseMs: delayMs, jitter: 'equal' }, 1, random);
  if (statusOf(err) !== 429) return jittered;
  const after = Math.min(retryAfterMs(err) ?? THROTTLED_MIN_MS, THROTTLED_MAX_MS);
  return Math.max(jittered, after);
}

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
    const informer = new ListWatch<T>(
      path,
      quietWatch(opts.kubeConfig),
      listFn,
      false,
      undefined,
      undefined,
      {
        delayFn: rewatchDelay,
      },
    );
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
      if (old) keepSpec(old, o);
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
      const code = statusOf(err);
      const delayMs = restartDelayMs(err, delay);
      opts.logger.warn({ resource: plural, namespace, code, delayMs }, 'watch failed; restarting');
      const t = setTimeout(() => {
        if (stopped) return;
        informer.start().catch(restart);
      }, delayMs);
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
    list(namespace?: string) {
      return parts.flatMap((p) => [...p.informer.list(namespace)]);
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
  const watch = quietWatch(opts.kubeConfig);
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
        (err: unknown) => {
          if (abort) aborts.delete(abort);
          if (stopped) return;
          setTimeout(
            () => void run(namespace, RESTART_MIN_MS),
            restartDelayMs(err, RESTART_MIN_MS),
          ).unref?.();
        },
      );
      aborts.add(abort);
    } catch (e) {
      if (stopped) return;
      const delayMs = restartDelayMs(e, delay);
      opts.logger.warn(
        { resource: 'secrets', namespace, code: statusOf(e), delayMs },
        'secret watch failed; restarting',
      );
      const next = Math.min(delay * 2, RESTART_MAX_MS);
      setTimeout(() => void run(namespace, next), delayMs).unref?.();
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

/**
 * An update that left the spec as it was (a status write: the same generation, an equal spec) keeps
 * the previous spec object, so what was derived from it and cached by object (the validated spec,
 * src/controller/reconcile.ts) stays valid: the periodic pass after a status write validates nothing.
 */
function keepSpec(old: object, next: object): void {
  const a = old as { metadata?: { generation?: number }; spec?: unknown };
  const b = next as { metadata?: { generation?: number }; spec?: unknown };
  if (a.spec === undefined || a.spec === b.spec || a.metadata?.generation !== b.metadata?.generation) return;
  if (isDeepStrictEqual(a.spec, b.spec)) b.spec = a.spec;
}
