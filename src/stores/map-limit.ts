import pMap from 'p-map';

/**
 * Run `fn` over `items` with at most `limit` calls in flight; results come back in input order.
 *
 * The first failure rejects the whole map and no further call is started (the calls already in
 * flight finish on their own): a pass that has failed spends no more of the provider's quota. An
 * aborted `signal` likewise starts nothing more and rejects with the signal's reason. `p-map` does
 * this bookkeeping (`stopOnError`, `signal`), so it is not hand-written here.
 */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  return pMap(items, (item) => fn(item), {
    concurrency: Math.max(1, limit),
    stopOnError: true,
    ...(signal !== undefined ? { signal } : {}),
  });
}
