/**
 * How every store reports its provider requests to the store's observer (`StoreObserver`,
 * ./store.ts; the controller's metrics): one report per request — retries are separate requests —
 * with `ok`, or `error` and the reason of the ProviderError the failure maps to, and how long the
 * request took.
 *
 * The observer is shielded: whatever it throws is dropped. It is called after the provider has
 * answered, so an exception escaping it would turn a write that happened into a failed call, which
 * the retry policy repeats (a second write) and the status reports as the store's failure. A store
 * call's outcome is the provider's answer, never the bookkeeping's; metrics are best effort.
 */
import type { ProviderError } from './provider-error.js';
import type { ProviderCall, StoreObserver } from './store.js';

/** Run `report`, dropping anything it throws (see the file comment for why). */
function safely(report: () => void): void {
  try {
    report();
  } catch {
    // dropped: an observer never fails a store call
  }
}

/** `observer` (which may be absent) as an observer that never throws. */
export function shieldObserver(observer: StoreObserver | undefined): Required<StoreObserver> {
  return {
    onCall: (call) => safely(() => observer?.onCall?.(call)),
    onThrottled: () => safely(() => observer?.onThrottled?.()),
  };
}

/**
 * One provider request (`send`), timed and reported to `observer`; a failure is mapped by
 * `toError` to the ProviderError that is reported and thrown. No retry: callers retry around it.
 */
export async function observedCall<T>(
  observer: StoreObserver | undefined,
  call: Pick<ProviderCall, 'operation' | 'write'>,
  send: () => Promise<T>,
  toError: (e: unknown) => ProviderError,
): Promise<T> {
  const { operation, write } = call;
  const t0 = performance.now();
  try {
    const out = await send();
    const durationMs = performance.now() - t0;
    safely(() => observer?.onCall?.({ operation, write, result: 'ok', durationMs }));
    return out;
  } catch (e) {
    const durationMs = performance.now() - t0;
    const error = toError(e);
    safely(() => observer?.onCall?.({ operation, write, result: 'error', reason: error.reason, durationMs }));
    throw error;
  }
}
