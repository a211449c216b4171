/**
 * The Azure App Configuration store (`appconfig`): one key-value per entry, through
 * `@azure/app-configuration`.
 *
 * - Keys follow `appConfigNaming` (`prefix:environment:key`); every key-value is written under the
 *   store's `label` (none: the null label) and with its `contentType` (default `text/plain`).
 * - Tags: the ownership marker (`managed-by`, `smc-namespace`, `smc-name`), `environment`, and the
 *   source key (`smc-key`, when at most 256 characters); tags someone else put on a key-value are kept.
 * - Only on change: `read` lists our key-values (server-side tag filter on the ownership marker, and a
 *   key filter `prefix:environment:*` when `prefix` is given) and GETs the other names asked for;
 *   `apply` writes only when value, tags or content type differ, with `If-Match: <etag read>` (and
 *   `If-None-Match: *` for a create). A `412` (someone changed the key-value since) re-reads it and
 *   tries once more, still only if it is ours (or the unowned entry being adopted); a second `412`
 *   fails the entry as a Conflict.
 * - Disable: App Configuration has no disabled state, so a disabled entry carries the tag
 *   `disabled=true` and keeps its value (applications reading the store must skip such keys, e.g.
 *   with a tag filter); enabling removes the tag. Prune `Disable` tags the same way; prune `Delete`
 *   deletes the key-value (`If-Match` the etag read). Read-only (locked) key-values are never
 *   unlocked: writing one fails the entry as a Conflict.
 * - Size: the service limits key, label, content type, tags and value together to 10 KB. `limits`
 *   reports the value budget left after reserving 1 KiB for the rest (so `checkLimits` refuses an
 *   oversize value before any call); `apply` then checks the exact total and fails the entry as
 *   TooLarge, without a call, when a long key or many tags leave less room.
 * - One retry policy: the SDK's retries are off (`retryOptions.maxRetries: 0`); every call goes through
 *   `withRetry`, writes take a token from the store's bucket, and every HTTP request is reported to
 *   the observer by a pipeline policy.
 * - Auth: a connection string (`Endpoint=…;Id=…;Secret=…`, HMAC-SHA256 signing) or an endpoint with a
 *   TokenCredential (the SDK sends bearer tokens only over https). Neither is ever put in a message.
 */
import type { TokenCredential } from '@azure/identity';
import {
  AppConfigurationClient,
  type AppConfigurationClientOptions,
  type ConfigurationSetting,
  isRestError,
} from '@azure/app-configuration';
import { SmcError } from '../../errors.js';
import { utf8Bytes } from '../../naming/limits.js';
import type { StoreNamingRule } from '../../naming/store-rules.js';
import type { Action, ActionResult, CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { applyActions } from '../apply.js';
import type { ClientLease } from '../client-cache.js';
import { MANAGED_BY, OWNERSHIP_TAGS, ownerFromTags, ownershipTags } from '../ownership.js';
import { ProviderError } from '../provider-error.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry.js';
import type { Owner, SecretStore, StoreLimits, StoreObserver, StoredEntry } from '../store.js';
import { byStoreName } from '../store.js';
import type { TokenBucket } from '../token-bucket.js';
import { mapLimit } from '../map-limit.js';
import { KEY_TAG, type Retried, azureWriteBucket, ourTags, retried, sameTags } from './common.js';
import { connectAppConfig } from './app-configuration-client.js';
import { APPCONFIG_LIMITS, APPCONFIG_MAX_KEY_VALUE_BYTES, appConfigNaming } from './naming.js';
import { appConfigProviderError, escapeFilter, isPrecondition } from './app-configuration-calls.js';

/** Tag holding the source key an entry was created for. */
export const APPCONFIG_KEY_TAG = KEY_TAG;

export interface AzureAppConfigurationStoreOptions {
  /** `https://<store>.azconfig.io` (with `credential`). */
  endpoint?: string;
  /** `Endpoint=…;Id=…;Secret=…` (HMAC auth); takes precedence over `endpoint`/`credential`. */
  connectionString?: string;
  credential?: TokenCredential;
  /** `secrets.environment`: the middle part of every key, and the `environment` tag. */
  environment: string;
  /** When given, listing is limited to keys `prefix:environment:*` (must match the SMC's prefix). */
  prefix?: string;
  /** Label of every key-value written and read; none = the null label. */
  label?: string;
  /** Content type written on every key-value; default `text/plain`. */
  contentType?: string;
  /** Passed to the client (our retry and observer settings are added on top). */
  clientOptions?: AppConfigurationClientOptions;
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
  /** Write rate for this store; default the Azure quota of the token bucket. */
  maxWritesPerSecond?: number;
  /**
   * A shared client (src/stores/client-cache.ts; the observer is the first store's, so share only
   * between stores of one observer); default: the store builds its own.
   */
  client?: ClientLease;
}

/** What the store holds for one key (from a list or GET). */
interface Current {
  value?: string;
  etag?: string;
  contentType?: string;
  tags: Record<string, string>;
}

interface Ctx {
  wrote: boolean;
}

interface Target {
  /** Undefined: keep the value the store holds. */
  value?: string;
  disabled: boolean;
  key?: string;
}

const isDisabled = (tags: Record<string, string>) => tags[OWNERSHIP_TAGS.disabled] === 'true';

export class AzureAppConfigurationStore implements SecretStore {
  readonly type = 'appconfig';
  readonly target: string;
  readonly naming: StoreNamingRule;
  readonly limits: StoreLimits = APPCONFIG_LIMITS;
  private readonly client: AppConfigurationClient;
  private readonly release: () => unknown;
  private readonly retried: Retried;
  private readonly bucket: TokenBucket;
  private readonly environment: string;
  private readonly label?: string;
  private readonly contentType: string;
  private readonly keyFilter?: string;
  /** What the last `read` saw, by key; cleared by `apply`. */
  private readonly known = new Map<string, Current>();

  constructor(options: AzureAppConfigurationStoreOptions) {
    if (!options.environment) {
      throw new SmcError('InvalidSpec', 'Azure App Configuration store needs secrets.environment');
    }
    this.environment = options.environment;
    this.naming = appConfigNaming({ environment: options.environment });
    if (options.label !== undefined && options.label !== '') this.label = options.label;
    this.contentType = options.contentType ?? 'text/plain';
    if (options.prefix) {
      this.keyFilter = `${escapeFilter(this.naming.compose!({ prefix: options.prefix, key: '' }))}:*`;
    }
    this.retried = retried(
      options.retryPolicy ?? DEFAULT_RETRY_POLICY,
      options.observer,
      appConfigProviderError,
    );
    this.bucket = azureWriteBucket(options.maxWritesPerSecond);
    const connection = connectAppConfig(options);
    this.client = connection.client;
    this.release = connection.release;
    this.target = `${connection.endpoint.replace(/\/+$/, '')}${this.label !== undefined ? ` (label ${this.label})` : ''}`;
  }

  /** Give a shared client back. */
  async close(): Promise<void> {
    await this.release();
  }

  // ---- reading ----

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    const found = new Map<string, Current>();
    const mine = ownershipTags(owner);
    const listed = await this.retried('list', '', async () => {
      const out: ConfigurationSetting[] = [];
      const iter = this.client.listConfigurationSettings({
        labelFilter: this.label ?? '\0',
        tagsFilter: Object.entries(mine).map(([k, v]) => `${escapeFilter(k)}=${escapeFilter(v)}`),
        ...(this.keyFilter ? { keyFilter: this.keyFilter } : {}),
      });
      for await (const s of iter) out.push(s);
      return out;
    });
    for (const s of listed) {
      if ((s.label ?? undefined) !== this.label) continue;
      found.set(s.key, current(s));
    }
    const missing = [...new Set(names)].filter((n) => !found.has(n));
    await mapLimit(missing, 8, async (name) => {
      const cur = await this.get(name);
      if (cur !== undefined) found.set(name, cur);
    });
    this.known.clear();
    const entries: StoredEntry[] = [];
    for (const [name, cur] of found) {
      this.known.set(name, cur);
      const o = ownerFromTags(cur.tags);
      const key = cur.tags[APPCONFIG_KEY_TAG];
      entries.push({
        storeName: name,
        ...(cur.value !== undefined ? { value: cur.value } : {}),
        enabled: !isDisabled(cur.tags),
        ...(o ? { owner: o } : {}),
        ...(key ? { key } : {}),
        ...(cur.etag ? { version: cur.etag } : {}),
      });
    }
    return entries.sort(byStoreName);
  }

  // ---- applying ----

  async apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    const run = async (a: WriteAction, ctx: Ctx, target: (known?: Current) => Target) => {
      const known = this.known.get(a.storeName);
      await this.converge(ctx, owner, a.storeName, target(known), known);
    };
    const write = (a: CreateAction | UpdateAction, ctx: Ctx) =>
      run(a, ctx, (known) => {
        const enabled = a.enabled ?? (known ? !isDisabled(known.tags) : true);
        return { value: a.value, disabled: !enabled, key: a.key };
      });
    const disable = (a: WriteAction, ctx: Ctx) => run(a, ctx, () => ({ disabled: true, key: a.key }));
    try {
      return await applyActions(actions, {
        naming: this.naming,
        nameKind: 'App Configuration key',
        handlers: {
          create: write,
          update: write,
          enable: (a, ctx) => run(a, ctx, () => ({ value: a.value, disabled: false, key: a.key })),
          disable,
          prune: (a, ctx) =>
            a.deletion === 'Disable'
              ? disable(a, ctx)
              : this.remove(ctx, owner, a.storeName, this.known.get(a.storeName)),
        },
        failure: (e, a) =>
          e instanceof SmcError ? e.message : appConfigProviderError(e, a.type, a.storeName).message,
      });
    } finally {
      this.known.clear(); // values read for this plan are not kept longer than needed
    }
  }

  /** Tags for an entry of `owner`: tags others set are kept, ours replaced, `disabled` per target. */
  private tagsFor(owner: Owner, target: Target, existing: Record<string, string> | undefined) {
    const tags = ourTags(owner, this.environment, target.key ?? existing?.[APPCONFIG_KEY_TAG], existing);
    if (target.disabled) tags[OWNERSHIP_TAGS.disabled] = 'true';
    return tags;
  }

  /** Key, label, content type, tags and value together, as the service counts its 10 KB. */
  private checkSize(name: string, value: string, tags: Record<string, string>): void {
    let size = utf8Bytes(name) + utf8Bytes(value) + utf8Bytes(this.contentType) + utf8Bytes(this.label ?? '');
    for (const [k, v] of Object.entries(tags)) size += utf8Bytes(k) + utf8Bytes(v);
    if (size > APPCONFIG_MAX_KEY_VALUE_BYTES) {
      throw new ProviderError(
        'TooLarge',
        `"${name}" would be ${size} bytes with its key, label, content type and tags, over the App Configuration limit of ${APPCONFIG_MAX_KEY_VALUE_BYTES} bytes`,
      );
    }
  }

  /**
   * Whether a key-value found on a re-read may still be written: ours, or unowned when the plan was
   * made against an unowned entry (adoption).
   */
  private mayWrite(owner: Owner, found: Current, planned: Current | undefined): boolean {
    const o = ownerFromTags(found.tags);
    if (sameOwner(o, owner)) return true;
    return (
      o === undefined &&
      found.tags[OWNERSHIP_TAGS.managedBy] !== MANAGED_BY &&
      planned !== undefined &&
      ownerFromTags(planned.tags) === undefined
    );
  }

  /**
   * Make the key-value hold the target, writing only when something differs, conditional on the
   * etag read. A 412 re-reads and tries once more.
   */
  private async converge(
    ctx: Ctx,
    owner: Owner,
    name: string,
    target: Target,
    known: Current | undefined,
  ): Promise<void> {
    let cur = known;
    for (let round = 0; round < 2; round++) {
      if (cur === undefined && target.value === undefined) {
        throw new ProviderError('NotFound', `Azure App Configuration key "${name}" is missing`);
      }
      // A key-value may hold no value at all (null); disabling it keeps that.
      const value = target.value ?? cur?.value;
      const tags = this.tagsFor(owner, target, cur?.tags);
      if (
        cur !== undefined &&
        cur.value === value &&
        cur.contentType === this.contentType &&
        sameTags(cur.tags, tags)
      ) {
        return;
      }
      this.checkSize(name, value ?? '', tags);
      try {
        await this.put(ctx, name, value, tags, cur?.etag);
        return;
      } catch (e) {
        if (!isPrecondition(e)) throw e;
      }
      const now = await this.get(name);
      if (now !== undefined && !this.mayWrite(owner, now, known)) {
        throw new ProviderError(
          'Conflict',
          `Azure App Configuration key "${name}" was changed concurrently and is no longer ours; left untouched`,
        );
      }
      cur = now;
    }
    throw new ProviderError(
      'Conflict',
      `Azure App Configuration key "${name}" changed concurrently twice while being written; retried next sync`,
    );
  }

  private async remove(ctx: Ctx, owner: Owner, name: string, known: Current | undefined): Promise<void> {
    let cur = known ?? (await this.get(name));
    for (let round = 0; round < 2; round++) {
      if (cur === undefined) return;
      if (!sameOwner(ownerFromTags(cur.tags), owner)) {
        throw new ProviderError('Conflict', `Azure App Configuration key "${name}" is not ours; not deleted`);
      }
      const etag = cur.etag;
      try {
        await this.retried('delete', name, async () => {
          await this.bucket.take();
          await this.client.deleteConfigurationSetting(
            { key: name, label: this.label, ...(etag ? { etag } : {}) },
            etag ? { onlyIfUnchanged: true } : {},
          );
        });
        ctx.wrote = true;
        return;
      } catch (e) {
        if (!isPrecondition(e)) throw e;
      }
      cur = await this.get(name);
    }
    throw new ProviderError(
      'Conflict',
      `Azure App Configuration key "${name}" changed concurrently twice while being deleted; retried next sync`,
    );
  }

  // ---- single calls (each retried as a whole by the one policy) ----

  private async get(name: string): Promise<Current | undefined> {
    return this.retried('get', name, async () => {
      try {
        return current(await this.client.getConfigurationSetting({ key: name, label: this.label }));
      } catch (e) {
        if (isRestError(e) && e.statusCode === 404) return undefined;
        throw e;
      }
    });
  }

  /** Add (`If-None-Match: *`) when nothing was read, else set `If-Match` the etag read. */
  private async put(
    ctx: Ctx,
    name: string,
    value: string | undefined,
    tags: Record<string, string>,
    etag: string | undefined,
  ) {
    const setting = { key: name, label: this.label, value, contentType: this.contentType, tags };
    await this.retried('set', name, async () => {
      await this.bucket.take();
      if (etag === undefined) await this.client.addConfigurationSetting(setting);
      else await this.client.setConfigurationSetting({ ...setting, etag }, { onlyIfUnchanged: true });
    });
    ctx.wrote = true;
  }
}

function current(s: ConfigurationSetting): Current {
  return {
    ...(s.value !== undefined ? { value: s.value } : {}),
    ...(s.etag ? { etag: s.etag } : {}),
    ...(s.contentType ? { contentType: s.contentType } : {}),
    tags: { ...(s.tags ?? {}) },
  };
}
