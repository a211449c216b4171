/**
 * `gitRepositoryPullInterval` (docs/crd-reference.md) for Argo CD sources: per SMC, the commit the remote's
 * `targetRevision` pointed to at the last `git ls-remote`, and when that was. The reconciler asks
 * the remote again only when a pull is due (or something changed); otherwise it reuses the recorded
 * commit, so a periodic reconcile of an unchanged Argo source touches neither Git nor the store.
 *
 * Scheduling goes through the work queue's requeue (the reconcile returns the time to the next
 * pull), not a separate timer: pulls then share the queue's per-object serialisation (a pull never
 * races a reconcile of the same SMC) and its bounded concurrency, and an SMC that is deleted or
 * leaves the shard stops being pulled with no extra bookkeeping. The last pull is kept in memory
 * with the SMC's other per-SMC state (`../smc-memory.ts`): after a restart the first reconcile pulls.
 */

/** One `git ls-remote` result. */
export interface PullRecord {
  /** What was asked (repoURL, targetRevision, path): another key means the answer is stale. */
  sourceKey: string;
  /** The commit SHA. */
  revision: string;
  /** When it was asked (epoch ms). */
  at: number;
}

/** `gitRepositoryPullInterval` raised to the `min_git_pull_interval_secs` floor. */
export function effectivePullIntervalMs(specMs: number, floorMs: number): number {
  return Math.max(specMs, floorMs);
}

export interface PullDecision {
  last: PullRecord | undefined;
  sourceKey: string;
  now: number;
  intervalMs: number;
  /** `spec.suspendGitPulls`: no periodic pulls (an explicit trigger still pulls once). */
  suspended: boolean;
  /** A reconcile request, a spec change or a forced run. */
  forced: boolean;
}

/** Whether the remote must be asked now. */
export function pullDue(d: PullDecision): boolean {
  if (!d.last || d.last.sourceKey !== d.sourceKey || d.forced) return true;
  return !d.suspended && d.now - d.last.at >= d.intervalMs;
}

/** Milliseconds until the next periodic pull (undefined while pulls are suspended). */
export function nextPullInMs(
  last: PullRecord | undefined,
  now: number,
  intervalMs: number,
  suspended: boolean,
): number | undefined {
  if (suspended) return undefined;
  if (!last) return intervalMs;
  return Math.max(1_000, last.at + intervalMs - now);
}
