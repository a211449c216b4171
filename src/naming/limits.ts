import type { NamedEntry } from '../entry.js';
import { SmcError } from '../errors.js';
import type { ActionResult } from '../plan/actions.js';

/** A store's size bound, declared by each store beside its naming rule (`src/stores/<type>/naming.ts`). */
export interface StoreLimits {
  /** Largest value in bytes (UTF-8) the store accepts. */
  maxValueBytes: number;
}

export interface LimitOptions {
  /** Store label for messages, e.g. `gcp`. */
  store?: string;
  /** `max_secrets_per_resource`: more entries than this is a TooMany error for the whole resource. */
  maxSecretsPerResource?: number;
  /** `max_secret_size_bytes`: a controller-wide cap applied on top of the store's own limit. */
  maxSecretSizeBytes?: number;
  /** The store's limit covers name + value (Azure App Configuration). */
  countNameBytes?: boolean;
  /** Limit on the sum of all names and values (a Kubernetes Secret object): TooLarge for the whole set. */
  maxTotalBytes?: number;
}

export interface LimitRejection {
  entry: NamedEntry;
  /** Names the key, its file and the limit; never the value. */
  message: string;
}

export interface LimitCheck {
  accepted: NamedEntry[];
  rejected: LimitRejection[];
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Check entries against a store's limits before any call. Too many entries, or too many bytes in an
 * object that holds them all, fails the resource (SmcError TooMany / TooLarge); an oversize value
 * fails only its own entry, returned in `rejected` so the others still go ahead.
 *
 * Callers must pass the rejected names to `planActions({ held })` so an entry that exists in the store
 * is neither pruned nor reported as removed just because this round could not write it.
 */
export function checkLimits(
  entries: readonly NamedEntry[],
  limits: StoreLimits,
  opts: LimitOptions = {},
): LimitCheck {
  const store = opts.store ?? 'store';
  if (opts.maxSecretsPerResource !== undefined && entries.length > opts.maxSecretsPerResource) {
    throw new SmcError(
      'TooMany',
      `${entries.length} entries for store ${store}, over max_secrets_per_resource (${opts.maxSecretsPerResource})`,
    );
  }
  const storeLimit = limits.maxValueBytes;
  const cap = opts.maxSecretSizeBytes;
  const limit = cap !== undefined && cap < storeLimit ? cap : storeLimit;
  const limitName =
    limit === storeLimit
      ? `the ${store} limit of ${limit} bytes${opts.countNameBytes ? ' for name and value together' : ' per value'}`
      : `max_secret_size_bytes (${limit})`;

  const accepted: NamedEntry[] = [];
  const rejected: LimitRejection[] = [];
  let total = 0;
  for (const entry of entries) {
    const size = utf8Bytes(entry.value) + (opts.countNameBytes ? utf8Bytes(entry.storeName) : 0);
    total += utf8Bytes(entry.value) + utf8Bytes(entry.storeName);
    if (size > limit) {
      rejected.push({
        entry,
        message: `key "${entry.key}" (${entry.origin}) as "${entry.storeName}" is ${size} bytes, over ${limitName}`,
      });
    } else {
      accepted.push(entry);
    }
  }
  if (opts.maxTotalBytes !== undefined && total > opts.maxTotalBytes) {
    throw new SmcError(
      'TooLarge',
      `${entries.length} entries for store ${store} total ${total} bytes, over the limit of ${opts.maxTotalBytes} bytes`,
    );
  }
  return { accepted, rejected };
}

/**
 * The failed result to report for an entry refused by `checkLimits`: nothing was planned or written
 * for it, hence a `noop` action carrying `ok: false`.
 */
export function rejectionResult(rejection: LimitRejection): ActionResult {
  const { entry, message } = rejection;
  return {
    action: {
      type: 'noop',
      key: entry.key,
      storeName: entry.storeName,
      kind: entry.kind,
      enabled: entry.enabled,
      reason: 'not written: over the size limit',
    },
    ok: false,
    message,
    wrote: false,
  };
}
