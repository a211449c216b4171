/** The shared retry policy: what is retried, how long it waits (Retry-After, backoff cap), when it stops. */
import { describe, expect, it } from 'vitest';
import { ProviderError, type ProviderErrorReason } from '../../src/stores/provider-error.js';
import { backoffDelay, withRetry, type RetryPolicy } from '../../src/stores/retry.js';

const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

/** A call failing with `reasons` in turn, then succeeding; records its attempts and the sleeps asked for. */
function scripted(reasons: (ProviderErrorReason | { reason: ProviderErrorReason; retryAfterMs: number })[]) {
  let calls = 0;
  const sleeps: number[] = [];
  const call = async () => {
    const r = reasons[calls++];
    if (r === undefined) return 'done';
    const { reason, retryAfterMs } = typeof r === 'string' ? { reason: r, retryAfterMs: undefined } : r;
    throw new ProviderError(
      reason,
      `failed with ${reason}`,
      retryAfterMs !== undefined ? { retryAfterMs } : {},
    );
  };
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  return { call, sleep, sleeps, calls: () => calls };
}

const classify = (e: unknown) => new ProviderError('StoreError', String(e));

describe('withRetry', () => {
  it('retries throttling and unavailability, then succeeds', async () => {
    const s = scripted(['Throttled', 'ProviderUnavailable']);
    await expect(
      withRetry(s.call, { classify, policy: POLICY, sleep: s.sleep, random: () => 0.5 }),
    ).resolves.toBe('done');
    expect(s.calls()).toBe(3);
    expect(s.sleeps).toEqual([50, 100]); // full jitter at 0.5 of 100, 200
  });

  it.each<ProviderErrorReason>([
    'ProviderAuthFailed',
    'InvalidRequest',
    'NotFound',
    'Conflict',
    'TooLarge',
    'StoreError',
  ])('never retries %s: exactly one call', async (reason) => {
    const s = scripted([reason]);
    const error = await withRetry(s.call, { classify, policy: POLICY, sleep: s.sleep }).catch(
      (e: unknown) => e,
    );
    expect((error as ProviderError).reason).toBe(reason);
    expect(s.calls()).toBe(1);
    expect(s.sleeps).toEqual([]);
  });

  it('gives up after maxAttempts and throws the last error', async () => {
    const s = scripted(['Throttled', 'Throttled', 'Throttled', 'ProviderUnavailable', 'Throttled']);
    const error = await withRetry(s.call, {
      classify,
      policy: POLICY,
      sleep: s.sleep,
      random: () => 0,
    }).catch((e: unknown) => e);
    expect((error as ProviderError).reason).toBe('ProviderUnavailable');
    expect(s.calls()).toBe(POLICY.maxAttempts);
    expect(s.sleeps).toHaveLength(POLICY.maxAttempts - 1);
  });

  it('honours Retry-After: waits at least as long as the server asked', async () => {
    const s = scripted([
      { reason: 'Throttled', retryAfterMs: 2500 },
      { reason: 'Throttled', retryAfterMs: 10 },
    ]);
    await withRetry(s.call, { classify, policy: POLICY, sleep: s.sleep, random: () => 0.1 });
    expect(s.sleeps[0]).toBe(2500); // over maxDelayMs, but Retry-After wins (up to its own cap)
    expect(s.sleeps[1]).toBe(20); // jitter (0.1 × 200) is longer than the 10 ms asked for
  });

  it('caps Retry-After at 6× maxDelayMs so a hostile or broken server cannot park a reconcile', async () => {
    const s = scripted([{ reason: 'Throttled', retryAfterMs: 3_600_000 }]);
    await withRetry(s.call, { classify, policy: POLICY, sleep: s.sleep, random: () => 0 });
    expect(s.sleeps).toEqual([6 * POLICY.maxDelayMs]);
  });

  it('backoff grows exponentially and is capped at maxDelayMs', () => {
    const top = (attempt: number) => backoffDelay(POLICY, attempt, undefined, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([100, 200, 400, 800, 1000, 1000]);
    // Full jitter: anything from 0 to the ceiling.
    expect(backoffDelay(POLICY, 3, undefined, () => 0)).toBe(0);
  });

  it('classifies foreign errors with the given mapper (a retryable one is retried)', async () => {
    let calls = 0;
    const out = await withRetry(
      async () => {
        if (calls++ === 0) throw new Error('ECONNRESET');
        return 'ok';
      },
      {
        classify: () => new ProviderError('ProviderUnavailable', 'reset'),
        policy: POLICY,
        sleep: async () => {},
      },
    );
    expect(out).toBe('ok');
    expect(calls).toBe(2);
  });

  it('reports each retry to onRetry, and stops when aborted', async () => {
    const seen: { attempt: number; reason: string }[] = [];
    const controller = new AbortController();
    const s = scripted(['Throttled', 'Throttled', 'Throttled']);
    const error = await withRetry(s.call, {
      classify,
      policy: POLICY,
      sleep: s.sleep,
      signal: controller.signal,
      onRetry: ({ attempt, error }) => {
        seen.push({ attempt, reason: error.reason });
        if (attempt === 2) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual([
      { attempt: 1, reason: 'Throttled' },
      { attempt: 2, reason: 'Throttled' },
    ]);
    expect((error as ProviderError).reason).toBe('Throttled');
    // Aborted during the second backoff: no third call (issue 10, item 15).
    expect(s.calls()).toBe(2);
  });

  it('an abort during the real backoff sleep ends it at once: no further provider call', async () => {
    const controller = new AbortController();
    let calls = 0;
    const pending = withRetry(
      async () => {
        calls++;
        // Abort while withRetry sleeps (an hour of backoff) before its second attempt.
        queueMicrotask(() => setImmediate(() => controller.abort()));
        throw new ProviderError('Throttled', 'slow down');
      },
      {
        classify,
        policy: { maxAttempts: 5, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
        random: () => 1,
        signal: controller.signal,
      },
    );
    const error = await pending.catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect((error as ProviderError).reason).toBe('Throttled');
  });

  it('an already aborted signal makes no call at all', async () => {
    const s = scripted([]);
    const controller = new AbortController();
    controller.abort();
    const error = await withRetry(s.call, {
      classify,
      policy: POLICY,
      sleep: s.sleep,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(s.calls()).toBe(0);
    expect((error as Error).name).toBe('AbortError');
  });
});
