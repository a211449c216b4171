/**
 * Restart rate limits of workload reload (docs/hot-reload.md): at most one restart per workload per
 * `workload_restart_min_interval_secs`, and at most `workload_restarts_per_namespace_per_minute`
 * restarts per namespace (a token bucket holding a minute's worth). Both settings are asked at each
 * decision, so a live change applies at once. A refused restart is not dropped: the caller is told
 * when to ask again.
 */

export interface RestartLimits {
  /** Least time between two restarts of one workload (ms); 0: no limit. */
  perWorkloadMs: number;
  /** Restarts per namespace per minute; 0: no limit. */
  perNamespacePerMinute: number;
}

export type RateDecision = { ok: true } | { ok: false; retryInMs: number; reason: string };

interface Bucket {
  tokens: number;
  at: number;
}

export class RestartRateLimiter {
  private readonly last = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: () => RestartLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * May `workload` (in `namespace`) restart now? `lastRestartAt` is what the workload itself records
   * (survives a controller restart). On `ok` the restart is counted.
   */
  take(namespace: string, workload: string, lastRestartAt?: number): RateDecision {
    const { perWorkloadMs, perNamespacePerMinute } = this.limits();
    const now = this.now();
    const last = Math.max(this.last.get(workload) ?? -Infinity, lastRestartAt ?? -Infinity);
    if (perWorkloadMs > 0 && now - last < perWorkloadMs) {
      return {
        ok: false,
        retryInMs: last + perWorkloadMs - now,
        reason: `rate limited: one restart per workload every ${Math.round(perWorkloadMs / 1000)}s (workload_restart_min_interval_secs)`,
      };
    }
    if (perNamespacePerMinute > 0) {
      const rate = perNamespacePerMinute / 60_000; // tokens per ms
      const b = this.buckets.get(namespace) ?? { tokens: perNamespacePerMinute, at: now };
      b.tokens = Math.min(perNamespacePerMinute, b.tokens + (now - b.at) * rate);
      b.at = now;
      this.buckets.set(namespace, b);
      if (b.tokens < 1) {
        return {
          ok: false,
          retryInMs: Math.ceil((1 - b.tokens) / rate),
          reason: `rate limited: ${perNamespacePerMinute} restarts per minute in namespace ${namespace} (workload_restarts_per_namespace_per_minute)`,
        };
      }
      b.tokens -= 1;
    }
    this.last.set(workload, now);
    return { ok: true };
  }
}
