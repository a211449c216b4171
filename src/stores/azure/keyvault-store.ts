/**
 * The Azure Key Vault store (`azure-keyvault`): one Key Vault secret per entry, through
 * `@azure/keyvault-secrets`.
 *
 * - Names follow `azureKeyVaultNaming` (`[0-9A-Za-z-]`, case-insensitive: a read reports an entry
 *   under the spelling it was asked for).
 * - Tags: the ownership marker (`managed-by`, `smc-namespace`, `smc-name`), `environment`, and the
 *   source key (`smc-key`). Key Vault keeps tags per version, so every write carries them; tags
 *   someone else put on a secret are kept.
 * - Set only on change: `read` fetches the current values, `apply` writes a new version only when the
 *   value differs and changes only attributes (`enabled`, tags) otherwise (UpdateSecretProperties on
 *   the latest version, no new version).
 * - Disable = `enabled: false` on the latest version; enable = `enabled: true`, plus a new version
 *   when the value changed. Key Vault refuses to return a disabled version's value, so `read` reports
 *   a disabled entry without a value (the plan leaves it alone while it stays disabled) and enabling
 *   it reads the value back and writes a new version only if it differs from Git. No value is kept
 *   in memory between syncs.
 * - Prune `Delete` soft-deletes. Setting a name that is soft-deleted fails in Key Vault with `409
 *   ObjectIsDeletedButRecoverable`; if the deleted secret is ours (its tags name the same SMC) it is
 *   recovered and brought up to date instead, otherwise the entry fails as a Conflict.
 * - One retry policy: the SDK's own retries are off (`retryOptions.maxRetries: 0`) and every call
 *   goes through `withRetry`; writes take a token from the vault's bucket (docs/providers.md quotas). Every
 *   HTTP request (pages, pollers and the auth challenge included) is reported to the observer by a
 *   pipeline policy.
 * - TLS: `SMC_AZURE_KEYVAULT_CA_FILE` adds a CA (PEM) to the ones this client trusts, for an emulator
 *   or a TLS-inspecting proxy; `SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=true` lets
 *   the client answer an auth challenge from a host outside `*.vault.azure.net` (emulators only: it
 *   lets that host ask for a Key Vault token).
 */
import type { TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions, type SecretProperties } from '@azure/keyvault-secrets';
import { SmcError } from '../../errors.js';
import type { Action, ActionResult, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { applyActions } from '../apply.js';
import { type ClientLease, ownClient } from '../client-cache.js';
import { ownerFromTags } from '../ownership.js';
import { ProviderError, absentIfNotFound } from '../provider-error.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry.js';
import type { Owner, SecretStore, StoreLimits, StoreObserver, StoredEntry } from '../store.js';
import { byStoreName } from '../store.js';
import type { TokenBucket } from '../token-bucket.js';
import { KEY_TAG, type Retried, azureWriteBucket, ourTags, retried, sameTags } from './common.js';
import { azureProviderError, isDeletedButRecoverable, isSecretDisabled } from './errors.js';
import { mapLimit } from '../map-limit.js';
import { KEYVAULT_LIMITS, azureKeyVaultNaming } from './naming.js';
import { keyVaultClientOptions } from './keyvault-client.js';

export {
  AZURE_KEYVAULT_CA_FILE_ENV,
  AZURE_KEYVAULT_DISABLE_CHALLENGE_VERIFICATION_ENV,
} from './keyvault-client.js';

/** Tag holding the source key an entry was created for (Key Vault names lose `_` and `.`). */
export const AZURE_KEY_TAG = KEY_TAG;

export interface AzureKeyVaultStoreOptions {
  /** `https://<vault>.vault.azure.net/`, a sovereign-cloud vault, or an emulator. */
  vaultUrl: string;
  /** `secrets.environment`, recorded as a tag. */
  environment?: string;
  credential: TokenCredential;
  /** Passed to the SecretClient (our retry, TLS and observer settings are added on top). */
  clientOptions?: SecretClientOptions;
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
  /** Write rate for this vault; default the documented quota (300 per 10 s). */
  maxWritesPerSecond?: number;
  /** Where `SMC_AZURE_KEYVAULT_*` settings are read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * A shared client (src/stores/client-cache.ts; the observer is the first store's, so share only
   * between stores of one observer); default: the store builds its own.
   */
  client?: ClientLease;
}

/** What the last `read` learned about one secret, for the `apply` that follows. */
interface Known {
  name: string;
  enabled: boolean;
  /** Undefined when the secret is disabled (Key Vault does not return a disabled value). */
  value?: string;
  tags: Record<string, string>;
}

/** What the vault holds for one name now (from a GET). */
interface Current {
  enabled: boolean;
  value?: string;
  tags?: Record<string, string>;
}

interface Ctx {
  wrote: boolean;
}

export class AzureKeyVaultStore implements SecretStore {
  readonly type = 'azure-keyvault';
  readonly target: string;
  readonly naming = azureKeyVaultNaming;
  readonly limits: StoreLimits = KEYVAULT_LIMITS;
  private readonly client: SecretClient;
  private readonly release: () => unknown;
  private readonly retried: Retried;
  private readonly bucket: TokenBucket;
  private readonly environment?: string;
  /** What the last `read` saw, by lower-case name; cleared by `apply`. */
  private readonly known = new Map<string, Known>();

  constructor(options: AzureKeyVaultStoreOptions) {
    let url: URL;
    try {
      url = new URL(options.vaultUrl);
    } catch {
      throw new SmcError('InvalidSpec', `Azure Key Vault URL "${options.vaultUrl}" is not a URL`);
    }
    if (url.protocol !== 'https:') {
      throw new SmcError('InvalidSpec', `Azure Key Vault URL "${options.vaultUrl}" must be https://`);
    }
    this.target = options.vaultUrl;
    this.environment = options.environment;
    this.retried = retried(options.retryPolicy ?? DEFAULT_RETRY_POLICY, options.observer, azureProviderError);
    this.bucket = azureWriteBucket(options.maxWritesPerSecond);
    const clientOptions = keyVaultClientOptions(
      url,
      options.clientOptions ?? {},
      options.observer,
      options.env ?? process.env,
    );
    const make = () => new SecretClient(options.vaultUrl, options.credential, clientOptions);
    // The SDK client has nothing to close: its keep-alive sockets end when idle.
    const lease = options.client ? options.client(make, () => undefined) : ownClient(make(), () => undefined);
    this.client = lease.client;
    this.release = lease.release;
  }

  /** Give a shared client back. */
  async close(): Promise<void> {
    await this.release();
  }

  // ---- reading ----

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    const wanted = new Map(names.map((n) => [n.toLowerCase(), n]));
    const listed = await this.retried('list', '', async () => {
      const out: SecretProperties[] = [];
      for await (const p of this.client.listPropertiesOfSecrets()) out.push(p);
      return out;
    });
    this.known.clear();
    const entries = new Map<string, StoredEntry>();
    const fetch: { entry: StoredEntry; known: Known }[] = [];
    for (const p of listed) {
      const lower = p.name.toLowerCase();
      const tags = { ...(p.tags ?? {}) };
      const o = ownerFromTags(tags);
      const asked = wanted.get(lower);
      if (!sameOwner(o, owner) && asked === undefined) continue;
      const enabled = p.enabled !== false;
      const key = tags[AZURE_KEY_TAG];
      const entry: StoredEntry = {
        storeName: asked ?? p.name,
        enabled,
        ...(o ? { owner: o } : {}),
        ...(key ? { key } : {}),
        kind: 'secret',
      };
      const known: Known = { name: p.name, enabled, tags };
      if (enabled) fetch.push({ entry, known }); // a disabled version's value cannot be read
      entries.set(lower, entry);
      this.known.set(lower, known);
    }
    await mapLimit(fetch, 8, async ({ entry, known }) => {
      const cur = await this.current(known.name);
      const lower = known.name.toLowerCase();
      if (cur === undefined) {
        entries.delete(lower); // deleted since it was listed
        this.known.delete(lower);
        return;
      }
      entry.enabled = known.enabled = cur.enabled;
      if (cur.value !== undefined) entry.value = known.value = cur.value;
    });
    return [...entries.values()].sort(byStoreName);
  }

  // ---- applying ----

  async apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    const known = (a: WriteAction) => this.known.get(a.storeName.toLowerCase());
    const tags = (a: WriteAction) => {
      const k = known(a);
      return ourTags(owner, this.environment, a.key ?? k?.tags[AZURE_KEY_TAG], k?.tags);
    };
    const disable = (a: WriteAction, ctx: Ctx) => this.patch(ctx, a.storeName, false, tags(a));
    try {
      return await applyActions(actions, {
        naming: azureKeyVaultNaming,
        nameKind: 'Key Vault secret name',
        handlers: {
          create: (a, ctx) =>
            this.createOrRecover(
              ctx,
              owner,
              a.storeName,
              a.value,
              a.enabled ?? known(a)?.enabled ?? true,
              tags(a),
            ),
          update: (a, ctx) => {
            const k = known(a);
            const owned = k === undefined || sameOwner(ownerFromTags(k.tags), owner);
            return this.converge(
              ctx,
              a.storeName,
              a.value,
              a.enabled ?? k?.enabled ?? true,
              tags(a),
              k,
              owned,
            );
          },
          enable: (a, ctx) =>
            a.value !== undefined
              ? this.converge(ctx, a.storeName, a.value, true, tags(a), known(a), true)
              : this.patch(ctx, a.storeName, true, tags(a)),
          disable,
          prune: (a, ctx) => (a.deletion === 'Delete' ? this.softDelete(ctx, a.storeName) : disable(a, ctx)),
        },
        failure: (e, a) =>
          e instanceof SmcError ? e.message : azureProviderError(e, a.type, a.storeName).message,
      });
    } finally {
      this.known.clear(); // values read for this plan are not kept longer than needed
    }
  }

  /** Make the secret hold `value` with `enabled`, writing as little as possible. */
  private async converge(
    ctx: Ctx,
    name: string,
    value: string,
    enabled: boolean,
    tags: Record<string, string>,
    known: Known | undefined,
    owned: boolean,
  ): Promise<void> {
    const cur: Current | undefined = known ?? (await this.current(name));
    if (cur === undefined) {
      await this.put(ctx, name, value, enabled, tags);
      return;
    }
    if (cur.value === undefined && !cur.enabled) {
      // Disabled, value unknown (Key Vault will not return it).
      if (enabled) {
        await this.patch(ctx, name, true, tags);
        const now = await this.current(name);
        if (now?.value !== value) await this.put(ctx, name, value, true, tags);
      } else if (!owned) {
        await this.put(ctx, name, value, false, tags); // adopting: record ownership with the value from Git
      }
      // Ours and staying disabled: nothing to do until it is enabled again.
      return;
    }
    if (cur.value === value) {
      if (cur.enabled !== enabled || !sameTags(cur.tags, tags)) await this.patch(ctx, name, enabled, tags);
      return;
    }
    await this.put(ctx, name, value, enabled, tags);
  }

  private async createOrRecover(
    ctx: Ctx,
    owner: Owner,
    name: string,
    value: string,
    enabled: boolean,
    tags: Record<string, string>,
  ): Promise<void> {
    try {
      await this.put(ctx, name, value, enabled, tags);
      return;
    } catch (e) {
      if (!isDeletedButRecoverable(e)) throw e;
    }
    const deleted = await this.retried('get deleted secret', name, () => this.client.getDeletedSecret(name));
    const o = ownerFromTags(deleted.properties.tags);
    if (!sameOwner(o, owner)) {
      throw new ProviderError(
        'Conflict',
        `"${name}" is soft-deleted in ${this.target} and ${
          o
            ? `belongs to SecretManagerConfig ${o.namespace}/${o.name}`
            : 'was not created by secret-manager-controller'
        }; recover or purge it in the vault, or rename the key`,
      );
    }
    await this.retried('recover', name, async () => {
      const poller = await this.client.beginRecoverDeletedSecret(name, { intervalInMs: 500 });
      ctx.wrote = true;
      await poller.pollUntilDone();
    });
    await this.converge(ctx, name, value, enabled, tags, undefined, true);
  }

  private async softDelete(ctx: Ctx, name: string): Promise<void> {
    await absentIfNotFound(async () => {
      await this.retried('delete', name, async () => {
        await this.bucket.take();
        // Starts the soft delete (DELETE); the poller is not awaited: the name is free once purged,
        // and a re-created key recovers the deleted secret instead.
        await this.client.beginDeleteSecret(name);
      });
      ctx.wrote = true;
    });
  }

  // ---- single calls (each retried as a whole by the one policy) ----

  /** The latest version: its value and tags, `enabled: false` without a value, or undefined if absent. */
  private async current(name: string): Promise<Current | undefined> {
    return this.retried('get', name, async () => {
      try {
        const s = await this.client.getSecret(name);
        return { enabled: s.properties.enabled !== false, value: s.value, tags: s.properties.tags ?? {} };
      } catch (e) {
        if (isSecretDisabled(e)) return { enabled: false };
        if (azureProviderError(e, 'get', name).reason === 'NotFound') return undefined;
        throw e;
      }
    });
  }

  /**
   * A new version. Idempotent under retries: before trying again it checks whether the lost attempt
   * already wrote the value, so a retry never adds a second version.
   */
  private async put(ctx: Ctx, name: string, value: string, enabled: boolean, tags: Record<string, string>) {
    let attempt = 0;
    await this.retried('set', name, async () => {
      // (A lost write of a *disabled* version cannot be recognised: its value cannot be read back.)
      if (++attempt > 1 && enabled) {
        const cur = await this.current(name);
        if (cur?.enabled && cur.value === value && sameTags(cur.tags, tags)) return;
      }
      await this.bucket.take();
      await this.client.setSecret(name, value, { enabled, tags });
    });
    ctx.wrote = true;
  }

  /** Attributes and tags of the latest version (no new version). */
  private async patch(ctx: Ctx, name: string, enabled: boolean, tags: Record<string, string>) {
    await this.retried('update', name, async () => {
      await this.bucket.take();
      // An empty version is the latest one (as the Azure CLI and the Python SDK send it).
      await this.client.updateSecretProperties(name, '', { enabled, tags });
    });
    ctx.wrote = true;
  }
}
