/**
 * AWS Secrets Manager store (type `aws`), with the official SDK v3 client.
 *
 * - Values are `SecretString`s. Ownership (`managed-by`, `smc-namespace`, `smc-name`) and `environment`
 *   are tags set on CreateSecret (and by TagResource when adopting).
 * - Read-compare-write: values only for the names a plan needs (BatchGetSecretValue, 20 a call, for
 *   the secrets we own; GetSecretValue for others); PutSecretValue only when the value differs. Listing what an SMC owns is one paginated ListSecrets filtered by tag.
 * - Idempotency: each create/put carries a ClientRequestToken drawn once per action and reused on every
 *   retry of that request, so a retry after a lost response is a no-op instead of a second version.
 *   (Random, not derived from the value: the token becomes the visible VersionId.)
 * - Secrets Manager has no disable: a `disabled=true` tag marks a disabled entry (value kept).
 * - Delete: DeleteSecret with a recovery window (`recoveryWindowDays`, 7–30, default 30) or
 *   `forceDelete`. A secret of ours that is scheduled for deletion is restored (RestoreSecret) when
 *   its key comes back.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { SmcError } from '../../errors.js';
import { nameProblem } from '../../naming/name.js';
import type { PruneAction, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { OWNERSHIP_TAGS, ownerFromTags } from '../ownership.js';
import { ProviderError, absentIfNotFound } from '../provider-error.js';
import { type Owner, type StoreLimits, type StoredEntry, byStoreName } from '../store.js';
import { PROVIDER_QUOTAS } from '../token-bucket.js';
import {
  applyTagChanges,
  isDisabledByTag,
  mapLimit,
  recordToTags,
  desiredTags,
  tagsToRecord,
  type ApplyProgress,
  type AwsStoreOptions,
  type TagRecord,
} from './common.js';
import { type EntryResult, pruneEntry, writeEntry } from './entry-verbs.js';
import { AwsStore } from './aws-store.js';
import { AWS_SECRET_LIMITS, awsNaming } from './naming.js';

export interface AwsSecretsManagerStoreOptions extends AwsStoreOptions {
  /** Recovery window for `deletionPolicy: Delete`, 7–30 days; default 30 (the AWS default). */
  recoveryWindowDays?: number;
  /** Delete without any recovery window (irreversible). Overrides `recoveryWindowDays`. */
  forceDelete?: boolean;
  /** KMS key for new secrets; the account's `aws/secretsmanager` key when absent. */
  kmsKeyId?: string;
  /** Build the SDK client (tests add middleware); default `new SecretsManagerClient(config)`. */
  clientFactory?: (config: SecretsManagerClientConfig) => SecretsManagerClient;
}

const SERVICE = 'secretsmanager';
/** BatchGetSecretValue takes at most 20 secret ids. */
const BATCH_SIZE = 20;

/** What Describe/List tell us about one secret. */
interface SecretInfo {
  name: string;
  tags: TagRecord;
  deleted: boolean;
}

export class AwsSecretsManagerStore extends AwsStore<SecretsManagerClient, SecretInfo> {
  readonly type = 'aws';
  readonly target: string;
  readonly naming = awsNaming;
  readonly limits: StoreLimits = AWS_SECRET_LIMITS;
  private readonly deletion: { RecoveryWindowInDays: number } | { ForceDeleteWithoutRecovery: true };
  private readonly kmsKeyId?: string;
  /** False once BatchGetSecretValue was refused (AccessDenied): values are read one by one. */
  private batchAllowed = true;

  constructor(opts: AwsSecretsManagerStoreOptions) {
    if (!opts.region) throw new SmcError('InvalidSpec', 'aws store needs a region');
    const window = opts.recoveryWindowDays ?? 30;
    if (!opts.forceDelete && (!Number.isInteger(window) || window < 7 || window > 30)) {
      throw new SmcError(
        'InvalidSpec',
        `aws recoveryWindowDays must be an integer from 7 to 30 (got ${window})`,
      );
    }
    super(SERVICE, opts, PROVIDER_QUOTAS.aws, (base) => {
      const config: SecretsManagerClientConfig = { ...base, ...specEndpointAlias(opts) };
      return opts.clientFactory ? opts.clientFactory(config) : new SecretsManagerClient(config);
    });
    this.deletion = opts.forceDelete
      ? { ForceDeleteWithoutRecovery: true }
      : { RecoveryWindowInDays: window };
    this.target = `aws:${opts.region}`;
    if (opts.kmsKeyId) this.kmsKeyId = opts.kmsKeyId;
  }

  protected readonly nameKind = 'Secrets Manager name';

  protected what(name: string): string {
    return `"${name}"`;
  }

  protected find(name: string): Promise<SecretInfo | undefined> {
    return this.describe(name);
  }

  // ---- read ----

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    const owned = await this.listOwned(owner);
    const out = new Map<string, StoredEntry>();
    for (const info of owned.values()) out.set(info.name, toStored(info));

    const wanted = [...new Set(names)].filter((n) => nameProblem(awsNaming, n) === undefined);
    // Ours: values in batches of 20 (docs/performance.md, "Store calls"); anything else one by one.
    const batched = await this.batchValues(wanted.filter((n) => owned.has(n)));
    const found = await mapLimit(wanted, this.concurrency, async (name) => {
      const info = owned.get(name) ?? (await this.describe(name));
      if (!info || info.deleted) return undefined;
      const current = batched.get(name) ?? (await this.currentValue(name));
      if (!current) return undefined; // deleted meanwhile
      return { ...toStored(info), ...current };
    });
    for (const entry of found) if (entry) out.set(entry.storeName, entry);
    return [...out.values()].sort(byStoreName);
  }

  /** Every live secret tagged as owned by `owner` (tag filters narrow; exact tags decide). */
  private async listOwned(owner: Owner): Promise<Map<string, SecretInfo>> {
    const out = new Map<string, SecretInfo>();
    let NextToken: string | undefined;
    do {
      const page = await this.caller.call('ListSecrets', false, undefined, () =>
        this.client.send(
          new ListSecretsCommand({
            MaxResults: 100,
            Filters: [
              { Key: 'tag-key', Values: [OWNERSHIP_TAGS.name] },
              { Key: 'tag-value', Values: [owner.name] },
            ],
            ...(NextToken ? { NextToken } : {}),
          }),
        ),
      );
      for (const s of page.SecretList ?? []) {
        if (!s.Name || s.DeletedDate) continue;
        const tags = tagsToRecord(s.Tags);
        if (sameOwner(ownerFromTags(tags), owner)) out.set(s.Name, { name: s.Name, tags, deleted: false });
      }
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }

  private describe(name: string): Promise<SecretInfo | undefined> {
    return absentIfNotFound(async () => {
      const d = await this.caller.call('DescribeSecret', false, name, () =>
        this.client.send(new DescribeSecretCommand({ SecretId: name })),
      );
      return { name, tags: tagsToRecord(d.Tags), deleted: d.DeletedDate !== undefined };
    });
  }

  /**
   * AWSCURRENT values and versions of `names` with BatchGetSecretValue, 20 a call. A name the batch
   * reports an error for is left out (read again one by one, which says what went wrong); so is
   * everything once the credentials may not call BatchGetSecretValue (refused as an auth failure) (then GetSecretValue per name,
   * as before, for the rest of this store's life).
   */
  private async batchValues(
    names: readonly string[],
  ): Promise<Map<string, { value?: string; version?: string }>> {
    const out = new Map<string, { value?: string; version?: string }>();
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += BATCH_SIZE) chunks.push(names.slice(i, i + BATCH_SIZE));
    const batch = async (chunk: string[]) => {
      if (!this.batchAllowed) return;
      let page;
      try {
        page = await this.caller.call('BatchGetSecretValue', false, undefined, () =>
          this.client.send(new BatchGetSecretValueCommand({ SecretIdList: chunk })),
        );
      } catch (e) {
        if (e instanceof ProviderError && e.reason === 'ProviderAuthFailed') {
          this.batchAllowed = false;
          return;
        }
        throw e;
      }
      for (const v of page.SecretValues ?? []) {
        if (!v.Name || !chunk.includes(v.Name)) continue;
        out.set(v.Name, {
          ...(v.SecretString !== undefined ? { value: v.SecretString } : {}),
          ...(v.VersionId ? { version: v.VersionId } : {}),
        });
      }
    };
    // The first batch alone: a refusal is learned once, not once per batch in flight.
    const [first, ...rest] = chunks;
    if (first) await batch(first);
    await mapLimit(rest, this.concurrency, batch);
    return out;
  }

  /** The AWSCURRENT value and version; undefined when the secret is gone. */
  private currentValue(name: string): Promise<{ value?: string; version?: string } | undefined> {
    return absentIfNotFound(async () => {
      const v = await this.caller.call('GetSecretValue', false, name, () =>
        this.client.send(new GetSecretValueCommand({ SecretId: name })),
      );
      return {
        ...(v.SecretString !== undefined ? { value: v.SecretString } : {}),
        ...(v.VersionId ? { version: v.VersionId } : {}),
      };
    });
  }

  // ---- apply ----

  protected write(
    owner: Owner,
    action: Exclude<WriteAction, PruneAction>,
    progress: ApplyProgress,
  ): Promise<EntryResult> {
    const name = action.storeName;
    return writeEntry(owner, action, {
      ...this.entry(name, progress),
      missing: `"${name}" does not exist in Secrets Manager`,
      create: (value, enabled) => this.create(owner, name, value, enabled, progress),
      converge: async (info, value) => {
        if (info.deleted) {
          await this.caller.call('RestoreSecret', true, name, () =>
            this.client.send(new RestoreSecretCommand({ SecretId: name })),
          );
          progress.wrote = true;
        }
        return value !== undefined ? this.putIfChanged(name, value, progress) : undefined;
      },
    });
  }

  /** CreateSecret; undefined when a secret of that name already exists (live or scheduled for deletion). */
  private async create(
    owner: Owner,
    name: string,
    value: string,
    enabled: boolean,
    progress: ApplyProgress,
  ): Promise<EntryResult | undefined> {
    const token = randomUUID();
    try {
      const out = await this.caller.call('CreateSecret', true, name, () =>
        this.client.send(
          new CreateSecretCommand({
            Name: name,
            SecretString: value,
            ClientRequestToken: token,
            Tags: recordToTags(desiredTags(owner, this.environment, enabled)),
            ...(this.kmsKeyId ? { KmsKeyId: this.kmsKeyId } : {}),
          }),
        ),
      );
      progress.wrote = true;
      return { ok: true, wrote: true, ...(out.VersionId ? { version: out.VersionId } : {}) };
    } catch (e) {
      // ResourceExists: a live secret (ours after a lost response, or someone's); InvalidRequest:
      // AWS refuses a name that is scheduled for deletion. Both are resolved by looking at it.
      if (e instanceof ProviderError && (e.reason === 'Conflict' || e.reason === 'InvalidRequest')) {
        const info = await this.describe(name);
        if (info) return undefined;
      }
      throw e;
    }
  }

  /** PutSecretValue when the current value differs; returns the current version either way. */
  private async putIfChanged(
    name: string,
    value: string,
    progress: ApplyProgress,
  ): Promise<string | undefined> {
    const current = await this.currentValue(name);
    if (current?.value === value) return current.version;
    const token = randomUUID();
    const out = await this.caller.call('PutSecretValue', true, name, () =>
      this.client.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: value, ClientRequestToken: token }),
      ),
    );
    progress.wrote = true;
    return out.VersionId;
  }

  protected setTags(name: string, current: TagRecord, desired: TagRecord, progress: ApplyProgress) {
    return applyTagChanges(current, desired, progress, {
      add: (set) =>
        this.caller.call('TagResource', true, name, () =>
          this.client.send(new TagResourceCommand({ SecretId: name, Tags: recordToTags(set) })),
        ),
      remove: (keys) =>
        this.caller.call('UntagResource', true, name, () =>
          this.client.send(new UntagResourceCommand({ SecretId: name, TagKeys: keys })),
        ),
    });
  }

  protected prune(owner: Owner, action: PruneAction, progress: ApplyProgress): Promise<EntryResult> {
    const name = action.storeName;
    return pruneEntry(owner, action, {
      ...this.entry(name, progress),
      gone: (info) => info.deleted,
      remove: async () => {
        await this.caller.retry(async (attempt) => {
          // A retry first checks whether the previous attempt landed (its answer may have been lost).
          if (attempt > 1) {
            const now = await this.describe(name);
            if (!now || now.deleted) return;
          }
          await this.caller.request('DeleteSecret', true, name, () =>
            this.client.send(new DeleteSecretCommand({ SecretId: name, ...this.deletion })),
          );
        });
        return true;
      },
    });
  }
}

function toStored(info: SecretInfo): StoredEntry {
  const owner = ownerFromTags(info.tags);
  return {
    storeName: info.name,
    enabled: !isDisabledByTag(info.tags),
    kind: 'secret',
    ...(owner ? { owner } : {}),
  };
}

/**
 * docs/providers.md names `AWS_ENDPOINT_URL_SECRETSMANAGER`; the SDK's own variable is
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` (service id "Secrets Manager"), which it reads itself. Honour the
 * documented spelling (docs/providers.md) too when the SDK's is unset and no endpoint was given.
 */
function specEndpointAlias(opts: AwsStoreOptions): { endpoint?: string } {
  if (opts.endpoint !== undefined || process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER) return {};
  const alias = process.env.AWS_ENDPOINT_URL_SECRETSMANAGER;
  return alias ? { endpoint: alias } : {};
}
