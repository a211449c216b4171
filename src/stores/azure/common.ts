/**
 * What both Azure stores share: the SDK client settings that leave retries to our policy and report
 * every request, the write bucket, one retried call, and the tags an entry of ours carries.
 */
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { OWNERSHIP_TAGS, ownershipTags } from '../ownership.js';
import { shieldObserver } from '../observed-call.js';
import type { ProviderError } from '../provider-error.js';
import { type RetryPolicy, withRetry } from '../retry.js';
import type { Owner, StoreObserver } from '../store.js';
import { PROVIDER_QUOTAS, TokenBucket } from '../token-bucket.js';
import type { PipelinePolicy } from './observer-policy.js';

/** Tag holding the source key an entry was created for (Key Vault names lose `_` and `.`). */
export const KEY_TAG = 'smc-key';
/** Tags we own on an entry; any other tag someone put there is kept. */
const OUR_TAGS = new Set<string>([...Object.values(OWNERSHIP_TAGS), KEY_TAG]);
/** A key longer than a tag value may be is not recorded. */
const KEY_TAG_MAX = 256;

/** `given` with the SDK's own retries off (our withRetry is the one policy) and `observer` added per attempt. */
export function azureClientOptions<
  O extends Pick<SecretClientOptions, 'retryOptions' | 'additionalPolicies'>,
>(given: O, observer?: PipelinePolicy): O {
  return {
    ...given,
    // Our withRetry is the one retry policy; the SDK must not retry underneath it.
    retryOptions: { ...given.retryOptions, maxRetries: 0 },
    additionalPolicies: [
      ...(given.additionalPolicies ?? []),
      ...(observer ? [{ policy: observer, position: 'perRetry' as const }] : []),
    ],
  };
}

/** The store's write bucket: `maxWritesPerSecond`, else the documented Azure quota. */
export function azureWriteBucket(maxWritesPerSecond: number | undefined): TokenBucket {
  const rate = maxWritesPerSecond ?? PROVIDER_QUOTAS.azure.ratePerSecond;
  return new TokenBucket(
    rate,
    maxWritesPerSecond === undefined ? PROVIDER_QUOTAS.azure.burst : Math.max(1, rate),
  );
}

/** One call retried as a whole by the one policy; failures classified for `operation` on `name`. */
export type Retried = <T>(operation: string, name: string, fn: () => Promise<T>) => Promise<T>;

export function retried(
  policy: RetryPolicy,
  observer: StoreObserver | undefined,
  classify: (e: unknown, operation: string, name: string) => ProviderError,
): Retried {
  const shielded = shieldObserver(observer);
  return (operation, name, fn) =>
    withRetry(fn, {
      policy,
      classify: (e) => classify(e, operation, name),
      onRetry: ({ error }) => {
        if (error.reason === 'Throttled') shielded.onThrottled();
      },
    });
}

/** Tags for an entry of `owner`: tags others set are kept, ours replaced, the source key when it fits. */
export function ourTags(
  owner: Owner,
  environment: string | undefined,
  key: string | undefined,
  existing: Record<string, string> | undefined,
): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(existing ?? {})) if (!OUR_TAGS.has(k)) tags[k] = v;
  Object.assign(tags, ownershipTags(owner, environment));
  if (key && key.length <= KEY_TAG_MAX) tags[KEY_TAG] = key;
  return tags;
}

/** Whether two tag sets are equal (an absent set is empty). */
export function sameTags(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const x = a ?? {};
  const kx = Object.keys(x);
  return kx.length === Object.keys(b).length && kx.every((k) => b[k] === x[k]);
}
