/**
 * The `evict` reload strategy (docs/hot-reload.md): replace a workload's pods through the Eviction
 * API, one at a time, leaving the workload's spec untouched (no pod-template change, so
 * `metadata.generation` stays and Argo CD or Flux see no diff). The API server refuses an eviction
 * that a PodDisruptionBudget forbids (HTTP 429); that is reported as `blocked` and tried again
 * later, never forced. Pods created after the cutoff already read the new values and are left
 * alone, so a second run (another replica, a restarted controller) only finishes the work.
 */
import {
  type EvictionResult,
  type PodInfo,
  type Workload,
  type WorkloadApi,
  selectorOf,
} from './notifier.js';

export interface EvictOptions {
  /** How long a replacement may take to become ready before the next eviction (ms); default 5 min. */
  readyTimeoutMs?: number;
  /** Between two looks at the pods while waiting (ms); default 500. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** The controller is stopping: evict no further pod, stop waiting (a successor finishes the work). */
  stopping?: () => boolean;
}

export type EvictOutcome =
  | { result: 'done'; evicted: number }
  | { result: 'stopped'; evicted: number }
  | { result: 'blocked'; evicted: number; left: number; pod: string }
  | { result: 'error'; evicted: number; detail: string };

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The pods to replace: created before `cutoffMs` and not being deleted, oldest first. */
export function podsToEvict(pods: readonly PodInfo[], cutoffMs: number): PodInfo[] {
  return pods
    .filter((p) => !p.deleting && p.createdAt !== undefined && p.createdAt < cutoffMs)
    .sort((a, b) => a.createdAt! - b.createdAt! || a.name.localeCompare(b.name));
}

/**
 * Evict the pods of `w` created before `cutoffMs`, one at a time: after each eviction, wait until
 * the pod is gone and as many pods are ready as before it, then go on.
 */
export async function evictOldPods(
  api: Pick<WorkloadApi, 'listPods' | 'evictPod'>,
  w: Workload,
  cutoffMs: number,
  o: EvictOptions = {},
): Promise<EvictOutcome> {
  const sleep = o.sleep ?? realSleep;
  const now = o.now ?? Date.now;
  const selector = selectorOf(w);
  if (!selector) return { result: 'error', evicted: 0, detail: 'workload has no spec.selector.matchLabels' };
  if (!api.evictPod) return { result: 'error', evicted: 0, detail: 'no Eviction API client' };
  const ns = w.metadata.namespace;
  let evicted = 0;
  for (;;) {
    if (o.stopping?.()) return { result: 'stopped', evicted };
    let pods: PodInfo[];
    try {
      pods = await api.listPods(ns, selector);
    } catch (e) {
      return { result: 'error', evicted, detail: `pod list failed: ${(e as Error).message}` };
    }
    const old = podsToEvict(pods, cutoffMs);
    if (old.length === 0) return { result: 'done', evicted };
    const pod = old[0]!;
    const readyBefore = pods.filter((p) => p.ready).length;
    let r: EvictionResult;
    try {
      r = await api.evictPod(ns, pod.name);
    } catch (e) {
      return {
        result: 'error',
        evicted,
        detail: `eviction of pod ${pod.name} failed: ${(e as Error).message}`,
      };
    }
    if (r === 'blocked') return { result: 'blocked', evicted, left: old.length, pod: pod.name };
    if (r === 'gone') continue;
    evicted++;
    // One at a time: the next eviction waits for this pod's replacement.
    const deadline = now() + (o.readyTimeoutMs ?? 300_000);
    for (;;) {
      const after = await api.listPods(ns, selector).catch(() => undefined);
      if (
        after &&
        // By uid: a StatefulSet's replacement has the same name.
        !after.some((p) => (pod.uid ? p.uid === pod.uid : p.name === pod.name)) &&
        after.filter((p) => p.ready).length >= readyBefore
      )
        break;
      if (o.stopping?.()) return { result: 'stopped', evicted };
      if (now() > deadline)
        return {
          result: 'error',
          evicted,
          detail: `no ready replacement for evicted pod ${pod.name} within ${Math.round((o.readyTimeoutMs ?? 300_000) / 1000)}s; ${old.length - 1} pod(s) left`,
        };
      await sleep(o.pollMs ?? 500);
    }
  }
}
