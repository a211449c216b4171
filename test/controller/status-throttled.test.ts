/**
 * Throttling in status: every `Throttled` ProviderError says "throttled" in its message, and a
 * partial failure caused only by throttling is reported as `Throttled` (mixed failures stay
 * `PartialFailure` and count the throttled ones). Pure functions, no peers.
 */
import { describe, expect, it } from 'vitest';
import { computeStatus } from '../../src/controller/status.js';
import { ProviderError, mentionsThrottling } from '../../src/stores/provider-error.js';
import type { EntryOutcome } from '../../src/sync.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:01:00Z');

function outcome(name: string, result: 'ok' | 'failed', message?: string): EntryOutcome {
  return {
    key: name,
    storeName: `svc-${name}`,
    kind: 'secret',
    store: 'gcp',
    action: 'create',
    result,
    ...(message ? { message } : {}),
  };
}

function partial(outcomes: EntryOutcome[]) {
  return computeStatus({
    previous: undefined,
    generation: 3,
    verdict: {
      kind: 'partial',
      revision: 'main@sha1:abc',
      outcomes,
      failed: outcomes.filter((o) => o.result === 'failed').length,
    },
    now: T0,
    nextReconcileAt: T1,
  });
}

const ready = (s: ReturnType<typeof partial>) => s.conditions?.find((c) => c.type === 'Ready');

describe('throttling in messages', () => {
  it('a Throttled ProviderError says so, whatever the store wrote; other reasons are untouched', () => {
    const gcp = new ProviderError(
      'Throttled',
      'AddSecretVersion on projects/p/secrets/x failed: RESOURCE_EXHAUSTED (HTTP 429)',
    );
    expect(gcp.message).toBe(
      'AddSecretVersion on projects/p/secrets/x failed: RESOURCE_EXHAUSTED (HTTP 429) (throttled)',
    );
    expect(mentionsThrottling(gcp.message)).toBe(true);
    const aws = new ProviderError('Throttled', 'aws ssm PutParameter "/a" failed: throttled by AWS');
    expect(aws.message).toBe('aws ssm PutParameter "/a" failed: throttled by AWS');
    const down = new ProviderError('ProviderUnavailable', 'GetSecret on x failed: HTTP 503');
    expect(down.message).toBe('GetSecret on x failed: HTTP 503');
    expect(mentionsThrottling(down.message)).toBe(false);
    expect(mentionsThrottling(undefined)).toBe(false);
  });
});

describe('computeStatus with throttled entries', () => {
  const throttledMsg = new ProviderError(
    'Throttled',
    'CreateSecret on projects/p/secrets/svc-B failed: HTTP 429',
  ).message;

  it('only throttling failed: phase Error, Ready=False Throttled, retrying, not stalled', () => {
    const s = partial([outcome('A', 'ok', 'created'), outcome('B', 'failed', throttledMsg)]);
    expect(s.phase).toBe('Error');
    expect(ready(s)).toMatchObject({ status: 'False', reason: 'Throttled' });
    expect(ready(s)?.message).toBe('1 of 2 entries throttled by the provider (svc-B); retrying with backoff');
    expect(s.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'Throttled',
    });
    expect(s.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
    expect(s.entries?.find((e) => e.storeName === 'svc-B')).toMatchObject({
      state: 'Failed',
      message: throttledMsg,
    });
    expect(s.lastSyncTime).toBeUndefined();
  });

  it('throttling and another failure: PartialFailure, the throttled ones counted', () => {
    const s = partial([
      outcome('A', 'failed', 'svc-A: too large (70000 bytes > 65536)'),
      outcome('B', 'failed', throttledMsg),
      outcome('C', 'ok', 'created'),
    ]);
    expect(ready(s)).toMatchObject({ status: 'False', reason: 'PartialFailure' });
    expect(ready(s)?.message).toBe('2 of 3 entries failed (svc-A, svc-B), 1 of them throttled; retrying');
  });

  it('no throttling: the PartialFailure message is as before', () => {
    const s = partial([outcome('A', 'failed', 'svc-A: too large (70000 bytes > 65536)')]);
    expect(ready(s)).toMatchObject({
      reason: 'PartialFailure',
      message: '1 of 1 entries failed (svc-A); retrying',
    });
  });
});
