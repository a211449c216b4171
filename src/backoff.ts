/**
 * The project's one backoff formula: the wait before retry number `n` (1-based) grows from `baseMs`
 * by `factor` per retry, is capped at `maxMs`, and is jittered so that callers that failed together
 * do not come back together. Pure (no timers, no I/O): the pipeline core, the controller and the
 * reloader all compute their waits here and sleep as they each must (abortable or not).
 *
 * A library (`exponential-backoff`, `p-retry`) would bring its own retry loop too; every caller here
 * already has one with its own rules (which errors retry, Retry-After, abort), and the formula is
 * four lines, so the formula is what is shared.
 */

/** How often, and how long apart, a failed call is tried again (stores, the reloader sidecar). */
export interface RetryPolicy {
  /** Attempts in all, including the first. */
  maxAttempts: number;
  /** The wait before the first retry; doubles on each retry up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * How the computed delay `d` is spread:
 * - `none`: exactly `d`;
 * - `full`: uniform in [0, d] (AWS "full jitter": the least synchronised);
 * - `equal`: uniform in [d/2, d] (never much shorter than planned);
 * - `{ spread: s }`: uniform in [d·(1−s), d·(1+s)].
 */
export type Jitter = 'none' | 'full' | 'equal' | { spread: number };

export interface Backoff {
  /** The wait before the first retry (before jitter). */
  baseMs: number;
  /** Growth per retry; default 2. */
  factor?: number;
  /** The longest wait before jitter; default no cap. */
  maxMs?: number;
  /** Default `none`. */
  jitter?: Jitter;
}

/**
 * The wait (whole milliseconds) before retry number `retry` (1 for the first retry):
 * jitter over min(maxMs, baseMs·factor^(retry−1)). `random` is injected by tests (default Math.random).
 */
export function backoffDelayMs(backoff: Backoff, retry: number, random: () => number = Math.random): number {
  const grown = backoff.baseMs * (backoff.factor ?? 2) ** Math.max(0, retry - 1);
  const ceiling = Math.min(backoff.maxMs ?? Number.POSITIVE_INFINITY, grown);
  const jitter = backoff.jitter ?? 'none';
  if (jitter === 'none') return Math.round(ceiling);
  if (jitter === 'full') return Math.round(random() * ceiling);
  if (jitter === 'equal') return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return Math.round(ceiling * (1 - jitter.spread + random() * 2 * jitter.spread));
}
