/**
 * Plumbing shared by the AWS stores: one observed request per provider call, retries through the
 * shared retry policy, a token bucket on writes, tag helpers and client settings.
 */
import { SmcError } from '../../errors.js';
import type { Action, ActionResult, PruneAction, WriteAction } from '../../plan/actions.js';
import {
  type StoreBasics,
  type VerbResult,
  type WriteLog,
  applyActions,
  sizeRefusal,
  targetEnabled,
} from '../apply.js';
import { OWNERSHIP_TAGS, ownershipTags } from '../ownership.js';
import { ProviderError } from '../provider-error.js';
import { type ClientLease, ownClient } from '../client-cache.js';
import { observedCall, shieldObserver } from '../observed-call.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import type { Owner, StoreObserver } from '../store.js';
import { TokenBucket } from '../token-bucket.js';
import { type AwsAuth, type AwsCredentialsConfig, awsCredentials } from './credentials.js';
import { mapAwsError } from './errors.js';

/** Options every AWS store takes. */
export interface AwsStoreOptions {
  region: string;
  /** `secrets.environment`: recorded as the `environment` tag on every entry we create. */
  environment: string;
  /** How to authenticate (docs/crd-reference.md `provider.aws.auth`); the SDK default chain when absent. */
  auth?: AwsAuth;
  /** SDK-shaped credentials (static identity or provider); wins over `auth`. */
  credentials?: AwsCredentialsConfig;
  /**
   * Endpoint override. Normally absent: the SDK itself reads the standard variables
   * (`AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SSM`, then `AWS_ENDPOINT_URL`).
   */
  endpoint?: string;
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
  /** Token-bucket rate for write calls. */
  maxWritesPerSecond?: number;
  /** Token-bucket burst; default max(1, maxWritesPerSecond). */
  writeBurst?: number;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
  /** Parallel requests while reading and applying; default 8. */
  concurrency?: number;
  /** A shared client (src/stores/client-cache.ts); default: the store builds and destroys its own. */
  client?: ClientLease;
}

/** Value of the disabled marker tag (docs/providers.md "Disable": no native disable in SSM / Secrets Manager). */
export const DISABLED_TAG_VALUE = 'true';

export type TagRecord = Record<string, string>;

export function tagsToRecord(tags: readonly { Key?: string; Value?: string }[] | undefined): TagRecord {
  const out: TagRecord = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function recordToTags(record: TagRecord): { Key: string; Value: string }[] {
  return Object.entries(record).map(([Key, Value]) => ({ Key, Value }));
}

export function isDisabledByTag(tags: TagRecord): boolean {
  return tags[OWNERSHIP_TAGS.disabled] === DISABLED_TAG_VALUE;
}

/** The tags an entry of `owner` should carry. */
export function desiredTags(owner: Owner, environment: string, enabled: boolean): TagRecord {
  return {
    ...ownershipTags(owner, environment),
    ...(enabled ? {} : { [OWNERSHIP_TAGS.disabled]: DISABLED_TAG_VALUE }),
  };
}

/** Tags to set and keys to remove to go from `current` to `desired` (other tags are left alone). */
export function tagChanges(current: TagRecord, desired: TagRecord): { set: TagRecord; remove: string[] } {
  const set: TagRecord = {};
  for (const [k, v] of Object.entries(desired)) if (current[k] !== v) set[k] = v;
  const remove =
    OWNERSHIP_TAGS.disabled in current && !(OWNERSHIP_TAGS.disabled in desired)
      ? [OWNERSHIP_TAGS.disabled]
      : [];
  return { set, remove };
}

/** Client settings shared by the AWS stores: our retry layer is the only one (SDK maxAttempts 1). */
export function baseClientConfig(opts: AwsStoreOptions, credentials: AwsCredentialsConfig | undefined) {
  return {
    region: opts.region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 30_000, connectionTimeout: 10_000 },
    ...(credentials !== undefined ? { credentials } : {}),
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
  };
}

/** What an AWS store talks through: its SDK client (shared or its own), how to give it back, and the caller. */
export interface AwsConnection<C> {
  client: C;
  release: () => unknown;
  caller: AwsCaller;
}

/**
 * The client `make` builds from the shared settings, leased or the store's own, and a caller for
 * `service` whose write bucket runs at the option's rate, else at `writes`.
 */
export function connectAws<C extends { destroy(): void }>(
  service: string,
  opts: AwsStoreOptions,
  writes: { ratePerSecond: number; burst: number },
  make: (config: ReturnType<typeof baseClientConfig>) => C,
): AwsConnection<C> {
  // Built once per shared client: its credential provider keeps its tokens between reconciles.
  const build = () =>
    make(baseClientConfig(opts, opts.credentials ?? awsCredentials(opts.auth, { region: opts.region })));
  const lease = opts.client ? opts.client(build, (c) => c.destroy()) : ownClient(build(), (c) => c.destroy());
  const rate = opts.maxWritesPerSecond ?? writes.ratePerSecond;
  const burst = opts.writeBurst ?? (opts.maxWritesPerSecond === undefined ? writes.burst : undefined);
  const caller = new AwsCaller(service, opts.observer, opts.retryPolicy, new TokenBucket(rate, burst));
  return { client: lease.client, release: lease.release, caller };
}

/**
 * Calls one AWS service for a store: every request is reported to the observer (retries included),
 * writes wait for the token bucket, failures become ProviderErrors with value-free messages.
 */
export class AwsCaller {
  private readonly observer: Required<StoreObserver>;

  constructor(
    private readonly service: string,
    observer: StoreObserver | undefined,
    private readonly policy: RetryPolicy | undefined,
    private readonly bucket: TokenBucket,
  ) {
    this.observer = shieldObserver(observer);
  }

  /** One request, no retry. */
  async request<T>(
    operation: string,
    write: boolean,
    name: string | undefined,
    send: () => Promise<T>,
  ): Promise<T> {
    if (write) await this.bucket.take();
    return observedCall(this.observer, { operation, write }, send, (e) =>
      mapAwsError(e, { service: this.service, operation, ...(name !== undefined ? { name } : {}) }),
    );
  }

  /** One request, retried per policy (throttling and 5xx only). */
  call<T>(operation: string, write: boolean, name: string | undefined, send: () => Promise<T>): Promise<T> {
    return this.retry(() => this.request(operation, write, name, send));
  }

  /** Retry a compound step (its requests go through `request`); `attempt` counts from 1. */
  retry<T>(step: (attempt: number) => Promise<T>): Promise<T> {
    let attempt = 0;
    return withRetry(() => step(++attempt), {
      ...(this.policy ? { policy: this.policy } : {}),
      classify: (e) => mapAwsError(e, { service: this.service, operation: 'request' }),
      onRetry: ({ error }) => {
        if (error.reason === 'Throttled') this.observer.onThrottled();
      },
    });
  }
}

export { mapLimit } from '../map-limit.js';

/** Tracks whether an action has written anything yet, so a later failure still reports `wrote`. */
export type ApplyProgress = WriteLog;

/** The value-free message of a failed action: our own errors say it; anything else is unexpected. */
export function awsFailure(e: unknown, action: WriteAction): string {
  return e instanceof SmcError ? e.message : `${action.type} of "${action.storeName}" failed unexpectedly`;
}

/** A failed action whose cause is known: a ProviderError with our own message. */
export function refuse(reason: ProviderError['reason'], message: string): never {
  throw new ProviderError(reason, message);
}

/** `ns/name`. */
export function ownerLabel(o: Owner): string {
  return `${o.namespace}/${o.name}`;
}

/** What a write action wants, as both AWS stores read it: whether the entry ends enabled, and its value. */
export function desiredState(action: WriteAction): { enabled: boolean; value: string | undefined } {
  return { enabled: targetEnabled(action), value: 'value' in action ? action.value : undefined };
}

/** Go from `current` to `desired` tags with the service's own tag calls; marks the progress written. */
export async function applyTagChanges(
  current: TagRecord,
  desired: TagRecord,
  progress: ApplyProgress,
  calls: { add(set: TagRecord): Promise<unknown>; remove(keys: string[]): Promise<unknown> },
): Promise<void> {
  const { set, remove } = tagChanges(current, desired);
  if (Object.keys(set).length > 0) {
    await calls.add(set);
    progress.wrote = true;
  }
  if (remove.length > 0) {
    await calls.remove(remove);
    progress.wrote = true;
  }
}

/** `apply` as both AWS stores run it: one path for every write, one for prunes. */
export function applyAwsActions(
  actions: readonly Action[],
  o: StoreBasics & {
    /** How a size refusal names the entry (default `"NAME"`). */
    what?(name: string): string;
    write(action: Exclude<WriteAction, PruneAction>, progress: ApplyProgress): Promise<VerbResult>;
    prune(action: PruneAction, progress: ApplyProgress): Promise<VerbResult>;
  },
): Promise<ActionResult[]> {
  return applyActions(actions, {
    naming: o.naming,
    nameKind: o.nameKind,
    concurrency: o.concurrency,
    refuse: (a) => sizeRefusal(a, o.limits, o.what?.(a.storeName)),
    handlers: { create: o.write, update: o.write, enable: o.write, disable: o.write, prune: o.prune },
    failure: awsFailure,
  });
}

export { TokenBucket };
