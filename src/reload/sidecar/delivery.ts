/** What the reloader delivers to, and how a failed delivery is retried. */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs, type RetryPolicy } from '../../backoff.js';
import { DeliveryError } from '../../errors.js';
import { describeError } from '../app/describe-error.js';

/** A log-safe description: delivery errors in full (they are written value-free), others as the library does. */
export function describeDeliveryError(e: unknown): string {
  return e instanceof DeliveryError ? e.message : describeError(e);
}

export interface DeliveryContext {
  /** Keys that changed since the last delivery (names only). */
  changed: readonly string[];
}

/** Something to notify of a change: a process (by signal) or an HTTP endpoint. */
export interface ReloadTarget {
  /** For the metric label: `signal` or `http`. */
  readonly kind: 'signal' | 'http';
  /** Value-free description for logs, e.g. `SIGHUP to the pid in /run/app.pid`, `POST http://127.0.0.1:8080/reload`. */
  readonly description: string;
  /** Deliver once; resolves with a short value-free account (`sent to pid 42`), throws `DeliveryError`. */
  deliver(ctx: DeliveryContext): Promise<string>;
}

/**
 * Run `attempt` until it succeeds, fails with a non-retryable error, or `policy.maxAttempts` are used
 * up. Retry n waits base·2^(n−1), capped, with equal jitter (src/backoff.ts). Waiting between
 * attempts stops when `signal` aborts (then the last error is thrown).
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  onRetry: (error: unknown, n: number, delayMs: number) => void,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      const retryable = !(e instanceof DeliveryError) || e.retryable;
      if (!retryable || n + 1 >= policy.maxAttempts || signal.aborted) throw e;
      const delay = backoffDelayMs(
        { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, jitter: 'equal' },
        n + 1,
      );
      onRetry(e, n + 1, delay);
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        throw e; // stopping: report the last real error, not the abort
      }
    }
  }
}
