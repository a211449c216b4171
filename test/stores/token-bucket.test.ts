/**
 * TokenBucket with an injected clock and fake timers: the rate is measured in simulated time, so
 * the assertions are exact and never depend on how fast the machine is.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROVIDER_QUOTAS, TokenBucket } from '../../src/stores/token-bucket.js';

let clock = 0;
const now = () => clock;

async function advance(ms: number): Promise<void> {
  // Step in small slices so every timer the bucket sets fires at its simulated time.
  for (let left = ms; left > 0; left -= 10) {
    const step = Math.min(10, left);
    clock += step;
    await vi.advanceTimersByTimeAsync(step);
  }
}

beforeEach(() => {
  clock = 0;
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TokenBucket', () => {
  it('grants a full burst at once, then one token per 1/rate seconds', async () => {
    const bucket = new TokenBucket(5, 2, now);
    const granted: number[] = [];
    for (let i = 0; i < 4; i++) void bucket.take().then(() => granted.push(clock));
    await advance(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 0]);
    await advance(190);
    expect(granted).toHaveLength(2);
    await advance(20); // 210 ms: one token (200 ms at 5/s)
    expect(granted).toHaveLength(3);
    await advance(200);
    expect(granted).toHaveLength(4);
    expect(granted[2]).toBeGreaterThanOrEqual(200);
    expect(granted[3]).toBeGreaterThanOrEqual(400);
  });

  it('never exceeds capacity + rate × elapsed over a sustained run', async () => {
    const rate = 10;
    const capacity = 3;
    const bucket = new TokenBucket(rate, capacity, now);
    let granted = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        await bucket.take();
        granted++;
      }
    })();
    await advance(5000);
    expect(granted).toBeLessThanOrEqual(capacity + rate * 5);
    expect(granted).toBeGreaterThanOrEqual(capacity + rate * 5 - 2);
    stop = true;
    await advance(1000);
    await loop;
  });

  it('serves waiters in order', async () => {
    const bucket = new TokenBucket(1, 1, now);
    const order: number[] = [];
    const all = [1, 2, 3].map((i) => bucket.take().then(() => order.push(i)));
    await advance(2100);
    await Promise.all(all);
    expect(order).toEqual([1, 2, 3]);
  });

  it('does not accumulate more than its capacity while idle', async () => {
    const bucket = new TokenBucket(10, 2, now);
    await advance(10_000);
    const granted: number[] = [];
    for (let i = 0; i < 3; i++) void bucket.take().then(() => granted.push(clock));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(2);
  });

  it('refuses a non-positive rate or capacity', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError);
  });

  it('the AWS default follows the documented 50 writes/s quota', () => {
    expect(PROVIDER_QUOTAS.aws).toEqual({ ratePerSecond: 50, burst: 50 });
  });
});
