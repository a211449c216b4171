/**
 * The one observed provider request every store makes (src/stores/observed-call.ts): reported once
 * with its outcome and duration, failures mapped to the store's ProviderError, and an observer
 * that throws never changes the outcome. Every store against its peer: the contract suite
 * (test/stores/contract/suite.ts, "an observer that throws never fails a store call").
 */
import { describe, expect, it } from 'vitest';
import { observedCall, shieldObserver } from '../../src/stores/observed-call.js';
import { ProviderError } from '../../src/stores/provider-error.js';
import type { ProviderCall, StoreObserver } from '../../src/stores/store.js';

const toError = (e: unknown) => new ProviderError('Throttled', `PutThing "x" failed (${String(e)})`);

function recording(throws: boolean): { observer: StoreObserver; calls: ProviderCall[]; throttled: number[] } {
  const calls: ProviderCall[] = [];
  const throttled: number[] = [];
  const broken = () => {
    if (throws) throw new Error('observer failed');
  };
  return {
    calls,
    throttled,
    observer: {
      onCall: (c) => {
        calls.push(c);
        broken();
      },
      onThrottled: () => {
        throttled.push(1);
        broken();
      },
    },
  };
}

describe('observedCall', () => {
  for (const throws of [false, true]) {
    const which = throws ? 'an observer that throws' : 'an observer';
    it(`a success: the answer is returned and ${which} gets one ok report`, async () => {
      const r = recording(throws);
      expect(
        await observedCall(r.observer, { operation: 'PutThing', write: true }, async () => 42, toError),
      ).toBe(42);
      expect(r.calls).toEqual([
        { operation: 'PutThing', write: true, result: 'ok', durationMs: expect.any(Number) },
      ]);
      expect(r.calls[0]!.durationMs).toBeGreaterThanOrEqual(0);
    });

    it(`a failure: the mapped ProviderError is thrown and ${which} gets its reason`, async () => {
      const r = recording(throws);
      const sent = observedCall(
        r.observer,
        { operation: 'GetThing', write: false },
        () => Promise.reject(new Error('429')),
        toError,
      );
      await expect(sent).rejects.toMatchObject({
        reason: 'Throttled',
        message: 'PutThing "x" failed (Error: 429) (throttled)',
      });
      await expect(sent).rejects.toBeInstanceOf(ProviderError);
      expect(r.calls).toEqual([
        {
          operation: 'GetThing',
          write: false,
          result: 'error',
          reason: 'Throttled',
          durationMs: expect.any(Number),
        },
      ]);
    });
  }

  it('no observer: the request still runs and its error is mapped', async () => {
    expect(await observedCall(undefined, { operation: 'A', write: false }, async () => 'x', toError)).toBe(
      'x',
    );
    await expect(
      observedCall(
        undefined,
        { operation: 'A', write: false },
        () => Promise.reject(new Error('e')),
        toError,
      ),
    ).rejects.toBeInstanceOf(ProviderError);
  });
});

describe('shieldObserver', () => {
  it('forwards every report and drops what the observer throws', () => {
    const r = recording(true);
    const shielded = shieldObserver(r.observer);
    const call: ProviderCall = { operation: 'A', write: true, result: 'ok', durationMs: 1 };
    expect(() => shielded.onCall(call)).not.toThrow();
    expect(() => shielded.onThrottled()).not.toThrow();
    expect(r.calls).toEqual([call]);
    expect(r.throttled).toEqual([1]);
  });

  it('an absent observer, or one without hooks, is a no-op', () => {
    expect(() =>
      shieldObserver(undefined).onCall({ operation: 'A', write: false, result: 'ok', durationMs: 0 }),
    ).not.toThrow();
    expect(() => shieldObserver({}).onThrottled()).not.toThrow();
  });
});
