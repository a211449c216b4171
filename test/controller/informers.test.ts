/**
 * Restart delays of lists and watches (src/controller/runtime/informers.ts): jittered, never 0, and a 429
 * from API Priority and Fairness waits at least its Retry-After.
 */
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { restartDelayMs } from '../../src/controller/runtime/informers.js';

const throttled = (headers: Record<string, string> = {}) =>
  new ApiException(429, 'Too Many Requests', undefined, headers);

describe('restartDelayMs', () => {
  it('jitters the backoff between its half and itself, never 0', () => {
    expect(restartDelayMs(new Error('reset'), 1_000, () => 0)).toBe(500);
    expect(restartDelayMs(new Error('reset'), 1_000, () => 1)).toBe(1_000);
    expect(restartDelayMs(null, 500, () => 0)).toBe(250);
  });

  it('a throttled list waits its Retry-After (any header case), at most 30 s', () => {
    expect(restartDelayMs(throttled({ 'retry-after': '7' }), 500, () => 0)).toBe(7_000);
    expect(restartDelayMs(throttled({ 'Retry-After': '3' }), 500, () => 1)).toBe(3_000);
    expect(restartDelayMs(throttled({ 'retry-after': '3600' }), 500)).toBe(30_000);
    // The backoff wins when it is longer than the Retry-After.
    expect(restartDelayMs(throttled({ 'retry-after': '1' }), 4_000, () => 1)).toBe(4_000);
  });

  it('a throttled watch (no headers: client-node drops them) waits at least 1 s', () => {
    const watchError = Object.assign(new Error('Too Many Requests'), { statusCode: 429 });
    expect(restartDelayMs(watchError, 500, () => 0)).toBe(1_000);
    expect(restartDelayMs(throttled(), 500, () => 0)).toBe(1_000);
    expect(restartDelayMs(throttled({ 'retry-after': 'soon' }), 500, () => 0)).toBe(1_000);
  });
});
