/**
 * The work queue that drives reconciles (the client-go workqueue, reduced to what we need):
 *
 * - **Dedupe per key**: a key is queued at most once. Adding a key that is in flight marks it
 *   dirty: it runs exactly once more after the current run, never twice at the same time.
 * - **Bounded concurrency**, changeable at runtime (hot reload of `max_concurrent_reconciles`).
 * - **Error backoff per key**: a failing run is retried after `backoffDelay` (the project's one
 *   backoff formula: exponential, full jitter, capped); the count resets on success (`forget`).
 * - **Delayed adds** (`addAfter`) for periodic requeue; the earliest pending time wins.
 * - **Fair lanes**: every add names a lane (default: the key's own lane). Ready keys are taken
 *   round-robin over lanes (a new lane joins the end of the round), FIFO within a lane. So a
 *   fleet-wide change (a shared source's new
 *   revision queues every SMC that uses it in that source's lane) cannot hold back one SMC whose
 *   own spec changed: it waits for at most one key of each other lane, not for the whole fleet. Periodic requeues share
 *   the `PERIODIC_LANE` and backoff retries the `RETRY_LANE`. A queued key added again moves to the
 *   new lane when that lane is shorter.
 * - **Graceful shutdown**: no new runs; in-flight runs get `drainMs` to finish, then their
 *   AbortSignal fires and they are reported as abandoned.
 *
 * Time is injected (`clock`), so tests run deterministically without real timers.
 */
import { backoffDelay, type RetryPolicy } from '../../stores/retry.js';

export interface QueueClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: QueueClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The lane of periodic requeues (`requeueAfterMs`). */
export const PERIODIC_LANE = 'periodic';
/** The lane of backoff retries after a failed run. */
export const RETRY_LANE = 'retry';

export interface QueueBackoff {
  baseMs: number;
  maxMs: number;
}

export interface RunContext {
  /** Fires when shutdown abandons this run (after `drainMs`). */
  signal: AbortSignal;
  /** Failures of this key since its last success (0 on a first or post-success run). */
  failures: number;
}

/** What a successful run may ask for: run again after this many milliseconds (periodic requeue). */
export interface RunResult {
  requeueAfterMs?: number;
}

export type RunHandler<K extends string> = (key: K, ctx: RunContext) => Promise<RunResult | void>;

export interface WorkQueueOptions<K extends string> {
  handler: RunHandler<K>;
  concurrency: number;
  backoff: QueueBackoff;
  /** Told the number of queued (ready, not in flight) keys whenever it changes (`queue_depth`). */
  onDepth?: (depth: number) => void;
  /** Told about every failed run (for logs): never given values, only what the handler threw. */
  onError?: (key: K, error: unknown, retryInMs: number) => void;
  clock?: QueueClock;
  /** Injected for tests; default Math.random. */
  random?: () => number;
}

export interface ShutdownResult<K extends string> {
  /** Runs still going when `drainMs` ran out (their signal was aborted). */
  abandoned: K[];
  /** Keys that were queued or waiting and never started. */
  dropped: K[];
}

export class WorkQueue<K extends string = string> {
  private readonly handler: RunHandler<K>;
  private readonly clock: QueueClock;
  private readonly random: () => number;
  private readonly onDepth: ((depth: number) => void) | undefined;
  private readonly onError: WorkQueueOptions<K>['onError'];
  private concurrency: number;
  private backoff: QueueBackoff;

  /** Ready keys → their lane. */
  private readonly queued = new Map<K, string>();
  /** Lanes with ready keys in round-robin order (a Map keeps insertion order); keys FIFO in each. */
  private readonly lanes = new Map<string, Set<K>>();
  /** Keys running now, with the controller that abandons them. */
  private readonly running = new Map<K, { abort: AbortController; done: Promise<void> }>();
  /** Keys added while running → the lane to queue them in afterwards: run once more. */
  private readonly dirty = new Map<K, string>();
  /** Delayed adds: key → due time, lane and timer. */
  private readonly waiting = new Map<K, { at: number; lane: string; timer: unknown }>();
  private readonly failures = new Map<K, number>();
  private lastDepth = -1;
  private stopping = false;

  constructor(options: WorkQueueOptions<K>) {
    this.handler = options.handler;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.random = options.random ?? Math.random;
    this.onDepth = options.onDepth;
    this.onError = options.onError;
    this.concurrency = checkConcurrency(options.concurrency);
    this.backoff = options.backoff;
    this.reportDepth();
  }

  /**
   * Queue `key` now in `lane` (default: its own lane), deduped; marks it dirty when in flight.
   * Ignored after shutdown.
   */
  add(key: K, lane: string = key): void {
    if (this.stopping) return;
    this.cancelWaiting(key);
    if (this.running.has(key)) this.dirty.set(key, lane);
    else this.enqueue(key, lane);
    this.reportDepth();
    this.pump();
  }

  /** Queue `key` in `lane` after `ms` (≤ 0: now). An earlier pending time for the key is kept. */
  addAfter(key: K, ms: number, lane: string = key): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key, lane);
    if (this.queued.has(key)) return;
    const at = this.clock.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.timer);
    const timer = this.clock.setTimeout(() => {
      const w = this.waiting.get(key);
      if (!w || w.timer !== timer) return;
      this.waiting.delete(key);
      this.add(key, w.lane);
    }, ms);
    this.waiting.set(key, { at, lane, timer });
  }

  /** Queue `key` after its next backoff delay (counts as a failure). Returns the delay. */
  addRateLimited(key: K): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = this.backoffFor(n);
    this.addAfter(key, delay, RETRY_LANE);
    return delay;
  }

  /** Reset `key`'s failure count (its next failure waits the base delay again). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** Failures of `key` since its last success. */
  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Drop `key` from the queue and the delayed adds (e.g. the object was deleted). Its run, if any, continues. */
  remove(key: K): void {
    this.dequeue(key);
    this.dirty.delete(key);
    this.cancelWaiting(key);
    this.failures.delete(key);
    this.reportDepth();
  }

  setConcurrency(n: number): void {
    this.concurrency = checkConcurrency(n);
    this.pump();
  }

  setBackoff(backoff: QueueBackoff): void {
    this.backoff = backoff;
  }

  /** Keys ready to run (not in flight, not waiting). */
  get depth(): number {
    return this.queued.size;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Keys with a delayed add pending. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  isQueued(key: K): boolean {
    return this.queued.has(key);
  }

  isRunning(key: K): boolean {
    return this.running.has(key);
  }

  /** Milliseconds until `key`'s delayed add, or undefined. */
  dueIn(key: K): number | undefined {
    const w = this.waiting.get(key);
    return w ? Math.max(0, w.at - this.clock.now()) : undefined;
  }

  /**
   * Stop: start nothing new, drop queued and delayed keys, give in-flight runs `drainMs` (default
   * 0: abandon at once) to finish, then abort the rest. Resolves when every run has settled or
   * been abandoned.
   */
  async shutdown(options: { drainMs?: number } = {}): Promise<ShutdownResult<K>> {
    const dropped = [...new Set([...this.queued.keys(), ...this.waiting.keys(), ...this.dirty.keys()])];
    this.stopping = true;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.timer);
    this.waiting.clear();
    this.queued.clear();
    this.lanes.clear();
    this.dirty.clear();
    this.reportDepth();
    const inFlight = [...this.running.values()].map((r) => r.done);
    if (inFlight.length === 0) return { abandoned: [], dropped };
    let timer: unknown;
    const drained = await Promise.race([
      Promise.all(inFlight).then(() => true),
      new Promise<false>((resolve) => {
        timer = this.clock.setTimeout(() => resolve(false), Math.max(0, options.drainMs ?? 0));
      }),
    ]);
    this.clock.clearTimeout(timer);
    if (drained) return { abandoned: [], dropped };
    const abandoned = [...this.running.keys()];
    for (const r of this.running.values()) r.abort.abort(new Error('work queue shut down'));
    return { abandoned, dropped };
  }

  get isShutDown(): boolean {
    return this.stopping;
  }

  // -------------------------------------------------------------------------------------------

  private backoffFor(failures: number): number {
    const policy: RetryPolicy = {
      maxAttempts: Number.POSITIVE_INFINITY,
      baseDelayMs: this.backoff.baseMs,
      maxDelayMs: this.backoff.maxMs,
    };
    // At least 1 ms: full jitter may draw 0, and a failing key must never spin.
    return Math.max(1, backoffDelay(policy, failures, undefined, this.random));
  }

  private cancelWaiting(key: K): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.clock.clearTimeout(w.timer);
    this.waiting.delete(key);
  }

  private enqueue(key: K, lane: string): void {
    const current = this.queued.get(key);
    if (current !== undefined) {
      // Already queued: move only to a shorter lane (where it runs sooner).
      if (current === lane || (this.lanes.get(lane)?.size ?? 0) >= (this.lanes.get(current)?.size ?? 0))
        return;
      this.dequeue(key);
    }
    this.queued.set(key, lane);
    const keys = this.lanes.get(lane);
    if (keys) keys.add(key);
    else this.lanes.set(lane, new Set([key]));
  }

  private dequeue(key: K): void {
    const lane = this.queued.get(key);
    if (lane === undefined) return;
    this.queued.delete(key);
    const keys = this.lanes.get(lane);
    keys?.delete(key);
    if (keys?.size === 0) this.lanes.delete(lane);
  }

  /** The next ready key: the first of the first lane, which then goes to the back of the round. */
  private next(): K | undefined {
    const first = this.lanes.entries().next();
    if (first.done) return undefined;
    const [lane, keys] = first.value;
    const key = keys.values().next().value as K;
    this.dequeue(key);
    if (keys.size > 0) {
      this.lanes.delete(lane);
      this.lanes.set(lane, keys);
    }
    return key;
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.concurrency && this.queued.size > 0) {
      const key = this.next();
      if (key === undefined) break;
      this.start(key);
    }
    this.reportDepth();
  }

  private start(key: K): void {
    const abort = new AbortController();
    const failures = this.failures.get(key) ?? 0;
    const done = Promise.resolve()
      .then(() => this.handler(key, { signal: abort.signal, failures }))
      .then(
        (result) => this.finish(key, abort, undefined, result ?? undefined),
        (error: unknown) => this.finish(key, abort, error ?? new Error('run failed'), undefined),
      );
    this.running.set(key, { abort, done });
  }

  private finish(key: K, abort: AbortController, error: unknown, result: RunResult | undefined): void {
    if (this.running.get(key)?.abort !== abort) return;
    this.running.delete(key);
    if (this.stopping) return;
    const dirtyLane = this.dirty.get(key);
    this.dirty.delete(key);
    if (error === undefined) {
      this.forget(key);
      if (dirtyLane !== undefined) this.enqueue(key, dirtyLane);
      else if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs, PERIODIC_LANE);
    } else if (dirtyLane !== undefined) {
      // A new event arrived during the failed run: act on it now, keep the failure count.
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      this.enqueue(key, dirtyLane);
      this.onError?.(key, error, 0);
    } else {
      const delay = this.addRateLimited(key);
      this.onError?.(key, error, delay);
    }
    this.pump();
  }

  private reportDepth(): void {
    const depth = this.queued.size;
    if (depth === this.lastDepth) return;
    this.lastDepth = depth;
    this.onDepth?.(depth);
  }
}

function checkConcurrency(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('concurrency must be a whole number of at least 1');
  return n;
}
