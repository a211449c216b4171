/**
 * Reloads waiting per workload, the pattern the notifier (./notifier.ts) and automatic reload
 * (./auto.ts) share: one entry per workload key, fired by a timer (the debounce window, a retry);
 * runs that started are tracked, so `idle()` waits for them and `stop()` cancels what has not
 * started, then waits for what has.
 */

/** Timers, injected by tests (test/reload/fake-clock.ts). */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class PendingReloads<P> {
  private readonly entries = new Map<string, { entry: P; timer: unknown }>();
  private readonly running = new Set<Promise<void>>();
  private halted = false;

  /** `fire(key)` is called when a key's timer ends (the entry is still pending then). */
  constructor(
    private readonly clock: Clock,
    private readonly fire: (key: string) => void,
  ) {}

  /** Set by `stop()`: nothing new is scheduled or started. */
  get stopped(): boolean {
    return this.halted;
  }

  /** Pending entries (for tests and shutdown). */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): P | undefined {
    return this.entries.get(key)?.entry;
  }

  /** Hold `entry` under `key` and fire it after `ms` (a timer already set for the key is replaced). */
  schedule(key: string, entry: P, ms: number): void {
    if (this.halted) return;
    const before = this.entries.get(key);
    if (before) this.clock.clearTimeout(before.timer);
    this.entries.set(key, { entry, timer: this.clock.setTimeout(() => this.fire(key), ms) });
  }

  /** Remove `key`'s entry (it is about to run) and return it. */
  take(key: string): P | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.clock.clearTimeout(e.timer);
    this.entries.delete(key);
    return e.entry;
  }

  /** Track a run that started until it settles (its own errors are its caller's to handle). */
  track(run: Promise<unknown>): void {
    const tracked: Promise<void> = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  /** Wait for the runs that started (and those they start). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /** Cancel pending entries; wait for running ones. */
  async stop(): Promise<void> {
    this.halted = true;
    for (const e of this.entries.values()) this.clock.clearTimeout(e.timer);
    this.entries.clear();
    await this.idle();
  }
}
