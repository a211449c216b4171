import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelayMs, type RetryPolicy } from '../backoff.js';
import { ProviderError } from './provider-error.js';

/** Every store retries with exponential backoff, full jitter, capped (the policy is src/backoff.ts's). */
export type { RetryPolicy };

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

export interface RetryOptions {
  policy?: RetryPolicy;
  /** Map whatever the call threw to a ProviderError (stores pass their SDK's mapper). */
  classify: (error: unknown) => ProviderError;
  /** Told about each retry (for metrics: throttled counts); never given values. */
  onRetry?: (info: { attempt: number; delayMs: number; error: ProviderError }) => void;
  signal?: AbortSignal;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Delay before retry number `attempt` (1-based): full jitter over base·2^(attempt-1), capped, at least Retry-After. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  const jittered = backoffDelayMs(
    { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, jitter: 'full' },
    attempt,
    random,
  );
  return retryAfterMs !== undefined
    ? Math.max(jittered, Math.min(retryAfterMs, policy.maxDelayMs * 6))
    : jittered;
}

/**
 * Run `call`, retrying throttling and server errors (never auth or validation errors), honouring
 * Retry-After. Throws the last ProviderError. Callers make `call` idempotent (read-compare-write,
 * client request tokens), so a retry after a lost response cannot write twice.
 *
 * An aborted `signal` ends the backoff sleep at once and no further call is made: an abort during a
 * backoff throws the error that was being retried; an abort before the first call throws the
 * signal's reason (an `AbortError`) without calling.
 */
export async function withRetry<T>(call: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY;
  const sleep = opts.sleep ?? abortableSleep;
  opts.signal?.throwIfAborted();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const error = e instanceof ProviderError ? e : opts.classify(e);
      if (!error.retryable || attempt >= policy.maxAttempts || opts.signal?.aborted) throw error;
      const delayMs = backoffDelay(policy, attempt, error.retryAfterMs, opts.random);
      opts.onRetry?.({ attempt, delayMs, error });
      try {
        await sleep(delayMs, opts.signal);
      } catch (sleepError) {
        if (opts.signal?.aborted) throw error;
        throw sleepError;
      }
      // An injected sleep may ignore the signal: check it before spending another call.
      if (opts.signal?.aborted) throw error;
    }
  }
}

/** Wait `ms`, or reject (AbortError) as soon as the signal is aborted: never resolve on abort. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal !== undefined ? { signal } : {});
}
