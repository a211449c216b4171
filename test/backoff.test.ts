import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../src/backoff.js';

/** A random source that returns the given draws in turn. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('backoffDelayMs', () => {
  it('grows by the factor from the base on each retry, exactly without jitter', () => {
    const b = { baseMs: 100 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(b, n))).toEqual([100, 200, 400, 800, 1600]);
    expect([1, 2, 3].map((n) => backoffDelayMs({ baseMs: 100, factor: 3 }, n))).toEqual([100, 300, 900]);
  });

  it('caps the delay at maxMs', () => {
    const b = { baseMs: 1_000, maxMs: 5_000 };
    expect([1, 2, 3, 4, 10, 60].map((n) => backoffDelayMs(b, n))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
  });

  it('treats a retry number below 1 as the first retry', () => {
    expect(backoffDelayMs({ baseMs: 100 }, 0)).toBe(100);
  });

  it('full jitter spreads over [0, delay]', () => {
    const b = { baseMs: 200, maxMs: 10_000, jitter: 'full' as const };
    expect(backoffDelayMs(b, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(b, 3, () => 0.5)).toBe(400);
    expect(backoffDelayMs(b, 3, () => 1)).toBe(800);
    expect(backoffDelayMs(b, 20, () => 1)).toBe(10_000);
  });

  it('equal jitter spreads over [delay/2, delay]', () => {
    const b = { baseMs: 1_000, maxMs: 30_000, jitter: 'equal' as const };
    expect(backoffDelayMs(b, 2, () => 0)).toBe(1_000);
    expect(backoffDelayMs(b, 2, () => 1)).toBe(2_000);
    expect(backoffDelayMs(b, 9, () => 0)).toBe(15_000);
  });

  it('a spread jitters by ±that fraction', () => {
    const b = { baseMs: 500, jitter: { spread: 0.2 } };
    expect(backoffDelayMs(b, 2, () => 0)).toBe(800);
    expect(backoffDelayMs(b, 2, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(b, 2, () => 1)).toBe(1_200);
  });

  it('returns whole milliseconds and draws once per call', () => {
    const random = draws(0.123, 0.987);
    const b = { baseMs: 333, jitter: 'full' as const };
    const first = backoffDelayMs(b, 1, random);
    const second = backoffDelayMs(b, 1, random);
    expect(first).toBe(Math.round(0.123 * 333));
    expect(second).toBe(Math.round(0.987 * 333));
    expect(Number.isInteger(first) && Number.isInteger(second)).toBe(true);
  });

  it('uses Math.random by default, within the jitter bounds', () => {
    const b = { baseMs: 1_000, jitter: 'equal' as const };
    for (let i = 0; i < 50; i++) {
      const d = backoffDelayMs(b, 1);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1_000);
    }
  });
});
