/**
 * A token bucket per store target, keeping the controller under the provider's documented write
 * quota (GCP 600 writes/min/project, AWS 50/s, Azure 300 creates/10 s/vault). Waiters are served
 * in order; `take` resolves when a token is available.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    /** Tokens added per second. */
    private readonly ratePerSecond: number,
    /** Largest burst. */
    private readonly capacity: number = Math.max(1, ratePerSecond),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !(capacity >= 1))
      throw new RangeError('TokenBucket needs a positive rate and capacity');
    this.tokens = capacity;
    this.last = now();
  }

  /** Wait for one token. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = ((1 - this.tokens) / this.ratePerSecond) * 1000;
      await new Promise((r) => setTimeout(r, Math.ceil(waitMs)));
    }
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }
}

/** Documented write quotas, as token-bucket rates (per second) and bursts. */
export const PROVIDER_QUOTAS = {
  gcp: { ratePerSecond: 10, burst: 10 }, // 600 writes/min/project
  aws: { ratePerSecond: 50, burst: 50 },
  azure: { ratePerSecond: 30, burst: 30 }, // 300 creates/10 s/vault
} as const;
