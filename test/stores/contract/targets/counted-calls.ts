/**
 * Calls counted twice for a fake-backed contract target: by the store's observer (wrapping the
 * suite's own) and by the fake's request log; each read of a count checks that the two agree.
 */
import type { StoreObserver } from '../../../../src/stores/store.js';
import type { StoreUnderTest } from '../target.js';

export interface Counts {
  writes: number;
  reads: number;
}

export function countedCalls(
  outer: StoreObserver | undefined,
  peer: string,
  /** The fake's own counts of this store's requests since request number `from`. */
  serverSince: (from: number) => Counts,
  /** How many requests the fake has logged so far. */
  requestCount: () => number,
): { observer: StoreObserver; calls: StoreUnderTest['calls'] } {
  const seen: Counts = { writes: 0, reads: 0 };
  let from = requestCount();
  const agree = () => {
    const server = serverSince(from);
    if (server.writes !== seen.writes || server.reads !== seen.reads) {
      throw new Error(
        `observer and ${peer} disagree: observer saw ${seen.writes} writes/${seen.reads} reads, the ${peer} ${server.writes}/${server.reads}`,
      );
    }
  };
  return {
    observer: {
      onCall: (call) => {
        if (call.write) seen.writes++;
        else seen.reads++;
        outer?.onCall?.(call);
      },
      onThrottled: () => outer?.onThrottled?.(),
    },
    calls: {
      writes: () => (agree(), seen.writes),
      reads: () => (agree(), seen.reads),
      reset: () => {
        seen.writes = seen.reads = 0;
        from = requestCount();
      },
    },
  };
}
