import { observedCall, shieldObserver } from '../observed-call.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from '../retry.js';
import type { StoreObserver } from '../store.js';
import { PROVIDER_QUOTAS, TokenBucket } from '../token-bucket.js';
import { GcpProviderError, gcpProviderError } from './errors.js';

/**
 * Per-call options for every Google client call: the client library's own retries are off (every
 * request goes through `withRetry` so it is counted, rate-limited and retried one way), and no list
 * auto-pagination (each page is one observed request).
 */
export const NO_GAX_RETRY = { retry: null, autoPaginate: false, timeout: 60_000 } as const;

/** One write bucket per API and project (the documented quota is per project), shared by every store instance. */
const buckets = new Map<string, TokenBucket>();

export function projectWriteBucket(api: string, projectId: string, ratePerSecond?: number): TokenBucket {
  const rate = ratePerSecond ?? PROVIDER_QUOTAS.gcp.ratePerSecond;
  const burst = ratePerSecond === undefined ? PROVIDER_QUOTAS.gcp.burst : Math.max(1, ratePerSecond);
  const key = `${api}\u0000${projectId}\u0000${rate}`;
  let bucket = buckets.get(key);
  if (!bucket) {
    bucket = new TokenBucket(rate, burst);
    buckets.set(key, bucket);
  }
  return bucket;
}

export interface GcpCallerOptions {
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
  bucket: TokenBucket;
}

/**
 * Runs Google API requests the one way every store must: writes wait for a token, each request
 * (retries included) is reported to the observer with a value-free outcome, and failures are
 * mapped to ProviderErrors and retried per the shared policy.
 */
export class GcpCaller {
  private readonly observer: Required<StoreObserver>;

  constructor(private readonly opts: GcpCallerOptions) {
    this.observer = shieldObserver(opts.observer);
  }

  /** One request, observed; no retry. */
  async once<T>(operation: string, write: boolean, resource: string, run: () => Promise<T>): Promise<T> {
    if (write) await this.opts.bucket.take();
    return observedCall(this.observer, { operation, write }, run, (e) =>
      gcpProviderError(operation, resource, e),
    );
  }

  /** One request with retries. */
  call<T>(operation: string, write: boolean, resource: string, run: () => Promise<T>): Promise<T> {
    return this.retrying(operation, resource, () => this.once(operation, write, resource, run));
  }

  /** Retry `attempt` (which makes its own observed requests) on throttling and server errors. */
  retrying<T>(operation: string, resource: string, attempt: () => Promise<T>): Promise<T> {
    return withRetry(attempt, {
      policy: this.opts.retryPolicy ?? DEFAULT_RETRY_POLICY,
      classify: (e) => gcpProviderError(operation, resource, e),
      onRetry: ({ error }) => {
        if (error.reason === 'Throttled') this.observer.onThrottled();
      },
    });
  }
}

interface PageRequest {
  filter?: string | null;
  pageToken?: string | null;
}

/**
 * Every page of a list call, one observed request per page. A server that refuses the `filter`
 * (INVALID_ARGUMENT on the first page) is asked again without it: callers filter the items
 * themselves anyway, the filter only saves traffic.
 */
export async function listAll<Req extends PageRequest, Item>(
  caller: GcpCaller,
  operation: string,
  resource: string,
  first: Req,
  fetch: (request: Req) => Promise<[Item[], Req | null, unknown]>,
): Promise<Item[]> {
  const out: Item[] = [];
  let request: Req | null = first;
  let pages = 0;
  while (request) {
    const page: Req = request;
    let items: Item[];
    let next: Req | null;
    try {
      [items, next] = await caller.call(operation, false, resource, () => fetch(page));
    } catch (e) {
      if (pages === 0 && page.filter && e instanceof GcpProviderError && e.reason === 'InvalidRequest') {
        request = { ...page, filter: '' };
        continue;
      }
      throw e;
    }
    pages++;
    out.push(...items);
    request = next?.pageToken ? next : null;
  }
  return out;
}

export { mapLimit } from '../map-limit.js';

/** Secret and parameter payloads are UTF-8 text; the client hands bytes back as a Buffer, Uint8Array or base64. */
export function payloadText(data: Uint8Array | string | null | undefined): string | undefined {
  if (data === null || data === undefined) return undefined;
  return typeof data === 'string'
    ? Buffer.from(data, 'base64').toString('utf8')
    : Buffer.from(data).toString('utf8');
}
