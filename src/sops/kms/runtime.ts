/**
 * Process-wide state of the key services: the cache of opened data keys, one concurrency limit per
 * service, the retry policy (the store layer's), and who is told about each call (the controller's
 * `sops_kms_calls_total` metric). One per process, so every SMC's keyring shares the bounds.
 */
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../stores/retry.js';
import { DataKeyCache } from './cache.js';
import { Limiter } from './limiter.js';
import { KMS_SERVICES, type KmsFailureReason, type KmsService } from './types.js';

/** One request to a key service (retries count one each); never a value. */
export interface KmsCall {
  service: KmsService;
  result: 'ok' | KmsFailureReason;
}

export interface KmsRuntimeOptions {
  /** Opened data keys kept (default 10 000; 0: no cache). */
  cacheEntries?: number;
  /** How long an opened data key is reused (default 1 h). */
  cacheTtlMs?: number;
  /** Requests in flight per service (default 8). */
  concurrency?: number;
  retryPolicy?: RetryPolicy;
  onCall?: (call: KmsCall) => void;
}

export const DEFAULT_KMS_CACHE_ENTRIES = 10_000;
export const DEFAULT_KMS_CACHE_TTL_MS = 3_600_000;
export const DEFAULT_KMS_CONCURRENCY = 8;

export class KmsRuntime {
  readonly cache: DataKeyCache;
  readonly retryPolicy: RetryPolicy;
  onCall: ((call: KmsCall) => void) | undefined;
  /** Opens in flight, by cache id: a second file with the same wrapped key waits for the first. */
  readonly inFlight = new Map<string, Promise<Uint8Array>>();
  private readonly limiters: Map<KmsService, Limiter>;

  constructor(opts: KmsRuntimeOptions = {}) {
    this.cache = new DataKeyCache({
      maxEntries: opts.cacheEntries ?? DEFAULT_KMS_CACHE_ENTRIES,
      ttlMs: opts.cacheTtlMs ?? DEFAULT_KMS_CACHE_TTL_MS,
    });
    this.retryPolicy = opts.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.onCall = opts.onCall;
    const concurrency = opts.concurrency ?? DEFAULT_KMS_CONCURRENCY;
    this.limiters = new Map(KMS_SERVICES.map((s) => [s, new Limiter(concurrency)]));
  }

  limiter(service: KmsService): Limiter {
    return this.limiters.get(service)!;
  }

  /** Set the per-service limit (a settings reload applies it to the next call). */
  setConcurrency(limit: number): void {
    for (const l of this.limiters.values()) l.setLimit(limit);
  }
}

let shared: KmsRuntime | undefined;

/** The process's runtime (created on first use). */
export function kmsRuntime(): KmsRuntime {
  return (shared ??= new KmsRuntime());
}
