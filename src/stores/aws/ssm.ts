/**
 * AWS Systems Manager Parameter Store (type `ssm`), with the official SDK v3 client.
 *
 * - Names `<parameterPath>/<prefix-key-suffix>` (`ssmNaming`). `SecureString` (default, optionally with
 *   a KMS key id) or `String`. An existing parameter keeps its type: Parameter Store refuses a type
 *   change on overwrite.
 * - Tier by size: a value over 4 KB is written `Advanced` (up to 8 KB); otherwise `Standard`, except
 *   that an `Advanced` parameter stays `Advanced` (AWS cannot downgrade one). With
 *   `allowAdvancedTier: false` the limit is 4 KB.
 * - Tags on create (`Tags`), AddTagsToResource / RemoveTagsFromResource afterwards (PutParameter
 *   refuses `Tags` together with `Overwrite`). No native disable: a `disabled=true` tag.
 * - PutParameter (Overwrite) only when the value differs. PutParameter has no idempotency token, so
 *   a retried overwrite first re-reads the parameter and stops if the value already landed: a lost
 *   response never makes a second version.
 * - `read(owner, [])`: DescribeParameters filtered by our tags (and the path), two paginated queries
 *   (all ours; ours and disabled). Values via GetParameters (10 names a call, decrypted).
 * - Delete: DeleteParameter (Parameter Store has no recovery window).
 */
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  RemoveTagsFromResourceCommand,
  SSMClient,
  type ParameterStringFilter,
  type SSMClientConfig,
} from '@aws-sdk/client-ssm';
import { SmcError } from '../../errors.js';
import { utf8Bytes } from '../../naming/limits.js';
import { nameProblem } from '../../naming/name.js';
import type { StoreNamingRule } from '../../naming/store-rules.js';
import type { PruneAction, WriteAction } from '../../plan/actions.js';
import { MANAGED_BY, OWNERSHIP_TAGS, ownerFromTags } from '../ownership.js';
import { ProviderError, absentIfNotFound } from '../provider-error.js';
import { type Owner, type StoreLimits, type StoredEntry, byStoreName } from '../store.js';
import {
  applyTagChanges,
  DISABLED_TAG_VALUE,
  desiredTags,
  isDisabledByTag,
  mapLimit,
  recordToTags,
  tagsToRecord,
  type ApplyProgress,
  type AwsStoreOptions,
  type TagRecord,
} from './common.js';
import { type EntryResult, pruneEntry, writeEntry } from './entry-verbs.js';
import { AwsStore } from './aws-store.js';
import { SSM_ADVANCED_LIMITS, SSM_LIMITS, ssmNaming } from './naming.js';

export type SsmParameterType = 'String' | 'SecureString';

export interface AwsSsmParameterStoreOptions extends AwsStoreOptions {
  /** `configs.parameterPath`, e.g. `/myapp/dev`; empty for flat names. */
  parameterPath: string;
  /** Type of new parameters; default `SecureString`. */
  parameterType?: SsmParameterType;
  /** KMS key for SecureString parameters; the account's `aws/ssm` key when absent. */
  kmsKeyId?: string;
  /** Allow the Advanced tier for values over 4 KB (charged by AWS); default true. */
  allowAdvancedTier?: boolean;
  /** Build the SDK client (tests add middleware); default `new SSMClient(config)`. */
  clientFactory?: (config: SSMClientConfig) => SSMClient;
}

const SERVICE = 'ssm';
const STANDARD_MAX_BYTES = SSM_LIMITS.maxValueBytes;
/**
 * Default write rate. The Parameter Store TPS quotas are on the "Systems Manager endpoints and quotas"
 * page, not verified here (research/anchors.md); this is deliberately conservative. Configurable.
 */
export const SSM_DEFAULT_WRITES = { ratePerSecond: 3, burst: 10 } as const;

interface ParamInfo {
  name: string;
  tags: TagRecord;
}

export class AwsSsmParameterStore extends AwsStore<SSMClient, ParamInfo> {
  readonly type = 'ssm';
  readonly target: string;
  readonly naming: StoreNamingRule;
  readonly limits: StoreLimits;
  private readonly path: string;
  private readonly parameterType: SsmParameterType;
  private readonly kmsKeyId?: string;
  private readonly allowAdvanced: boolean;

  constructor(opts: AwsSsmParameterStoreOptions) {
    if (!opts.region) throw new SmcError('InvalidSpec', 'ssm store needs a region');
    const naming = ssmNaming(opts.parameterPath);
    super(SERVICE, opts, SSM_DEFAULT_WRITES, (config: SSMClientConfig) =>
      opts.clientFactory ? opts.clientFactory(config) : new SSMClient(config),
    );
    this.naming = naming;
    const trimmed = opts.parameterPath.trim().replace(/\/+$/, '');
    this.path = trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
    this.parameterType = opts.parameterType ?? 'SecureString';
    if (opts.kmsKeyId) this.kmsKeyId = opts.kmsKeyId;
    this.allowAdvanced = opts.allowAdvancedTier ?? true;
    this.limits = this.allowAdvanced ? SSM_ADVANCED_LIMITS : SSM_LIMITS;
    this.target = `ssm:${opts.region}${this.path}`;
  }

  protected readonly nameKind = 'parameter name';

  protected what(name: string): string {
    return `parameter "${name}"`;
  }

  protected find(name: string): Promise<ParamInfo | undefined> {
    return this.tagsOf(name);
  }

  // ---- read ----

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    // Both queries settle before a failure is reported, so no request is left in flight.
    const [ownedQ, disabledQ] = await Promise.allSettled([
      this.describeOwned(owner, false),
      this.describeOwned(owner, true),
    ]);
    if (ownedQ.status === 'rejected') throw ownedQ.reason;
    if (disabledQ.status === 'rejected') throw disabledQ.reason;
    const owned = ownedQ.value;
    const disabled = disabledQ.value;
    const out = new Map<string, StoredEntry>();
    for (const name of owned) {
      out.set(name, { storeName: name, enabled: !disabled.has(name), owner: { ...owner } });
    }

    const wanted = [...new Set(names)].filter((n) => nameProblem(this.naming, n) === undefined);
    const chunks: string[][] = [];
    for (let i = 0; i < wanted.length; i += 10) chunks.push(wanted.slice(i, i + 10));
    const values = new Map<string, { value?: string; version?: string }>();
    await mapLimit(chunks, this.concurrency, async (chunk) => {
      const got = await this.caller.call('GetParameters', false, undefined, () =>
        this.client.send(new GetParametersCommand({ Names: chunk, WithDecryption: true })),
      );
      for (const p of got.Parameters ?? []) {
        if (!p.Name) continue;
        values.set(p.Name, {
          ...(p.Value !== undefined ? { value: p.Value } : {}),
          ...(p.Version !== undefined ? { version: String(p.Version) } : {}),
        });
      }
    });

    const entries = await mapLimit([...values.keys()], this.concurrency, async (name) => {
      const v = values.get(name) ?? {};
      const known = out.get(name);
      if (known) return { ...known, ...v };
      const info = await this.tagsOf(name);
      if (!info) return undefined;
      const holder = ownerFromTags(info.tags);
      const entry: StoredEntry = { storeName: name, enabled: !isDisabledByTag(info.tags), ...v };
      if (holder) entry.owner = holder;
      return entry;
    });
    for (const e of entries) if (e) out.set(e.storeName, e);
    return [...out.values()].sort(byStoreName);
  }

  /** Names of parameters tagged as `owner`'s (under our path), optionally only the disabled ones. */
  private async describeOwned(owner: Owner, onlyDisabled: boolean): Promise<Set<string>> {
    const filters: ParameterStringFilter[] = [
      { Key: `tag:${OWNERSHIP_TAGS.managedBy}`, Values: [MANAGED_BY] },
      { Key: `tag:${OWNERSHIP_TAGS.namespace}`, Values: [owner.namespace] },
      { Key: `tag:${OWNERSHIP_TAGS.name}`, Values: [owner.name] },
    ];
    if (onlyDisabled) filters.push({ Key: `tag:${OWNERSHIP_TAGS.disabled}`, Values: [DISABLED_TAG_VALUE] });
    if (this.path !== '') filters.push({ Key: 'Path', Option: 'OneLevel', Values: [this.path] });
    const out = new Set<string>();
    let NextToken: string | undefined;
    do {
      const page = await this.caller.call('DescribeParameters', false, undefined, () =>
        this.client.send(
          new DescribeParametersCommand({
            ParameterFilters: filters,
            MaxResults: 50,
            ...(NextToken ? { NextToken } : {}),
          }),
        ),
      );
      for (const p of page.Parameters ?? []) if (p.Name) out.add(p.Name);
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }

  private async tagsOf(name: string): Promise<ParamInfo | undefined> {
    try {
      const t = await this.caller.call('ListTagsForResource', false, name, () =>
        this.client.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name })),
      );
      return { name, tags: tagsToRecord(t.TagList) };
    } catch (e) {
      if (e instanceof ProviderError && (e.reason === 'NotFound' || isMissingResource(e))) return undefined;
      throw e;
    }
  }

  private getParameter(
    name: string,
  ): Promise<{ value?: string; version?: string; type?: string } | undefined> {
    return absentIfNotFound(async () => {
      const got = await this.caller.call('GetParameter', false, name, () =>
        this.client.send(new GetParameterCommand({ Name: name, WithDecryption: true })),
      );
      const p = got.Parameter;
      if (!p) return undefined;
      return {
        ...(p.Value !== undefined ? { value: p.Value } : {}),
        ...(p.Version !== undefined ? { version: String(p.Version) } : {}),
        ...(p.Type !== undefined ? { type: p.Type } : {}),
      };
    });
  }

  /** The parameter's tier and type (DescribeParameters answers both, GetParameter neither's tier). */
  private async describeOne(name: string): Promise<{ tier?: string; type?: string }> {
    const page = await this.caller.call('DescribeParameters', false, name, () =>
      this.client.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }],
        }),
      ),
    );
    const p = page.Parameters?.find((x) => x.Name === name);
    return { ...(p?.Tier ? { tier: p.Tier } : {}), ...(p?.Type ? { type: p.Type } : {}) };
  }

  // ---- apply ----

  protected write(
    owner: Owner,
    action: Exclude<WriteAction, PruneAction>,
    progress: ApplyProgress,
  ): Promise<EntryResult> {
    const name = action.storeName;
    // A value the plan found changed is written without reading it again (docs/performance.md, "Store calls").
    const compare = !(action.type === 'update' && action.cause === 'changed');
    return writeEntry(owner, action, {
      ...this.entry(name, progress),
      missing: `parameter "${name}" does not exist`,
      create: (value, enabled) => this.create(owner, name, value, enabled, progress),
      converge: (_info, value) =>
        value !== undefined
          ? this.overwriteIfChanged(name, value, compare, progress)
          : Promise.resolve(undefined),
    });
  }

  private tierFor(value: string, current?: string): 'Standard' | 'Advanced' {
    return utf8Bytes(value) > STANDARD_MAX_BYTES || current === 'Advanced' ? 'Advanced' : 'Standard';
  }

  /** PutParameter without Overwrite; undefined when the parameter already exists. */
  private async create(
    owner: Owner,
    name: string,
    value: string,
    enabled: boolean,
    progress: ApplyProgress,
  ): Promise<EntryResult | undefined> {
    try {
      const out = await this.caller.call('PutParameter', true, name, () =>
        this.client.send(
          new PutParameterCommand({
            Name: name,
            Value: value,
            Type: this.parameterType,
            ...(this.parameterType === 'SecureString' && this.kmsKeyId ? { KeyId: this.kmsKeyId } : {}),
            Tier: this.tierFor(value),
            Tags: recordToTags(desiredTags(owner, this.environment, enabled)),
          }),
        ),
      );
      progress.wrote = true;
      return {
        ok: true,
        wrote: true,
        ...(out.Version !== undefined ? { version: String(out.Version) } : {}),
      };
    } catch (e) {
      // Exists: someone's parameter, or ours after a lost response (then its tags say so).
      if (e instanceof ProviderError && e.reason === 'Conflict') return undefined;
      throw e;
    }
  }

  /**
   * Overwrite when the value differs (`compare`: read it first; otherwise the caller knows it
   * does); a retry first checks whether the previous attempt landed.
   */
  private async overwriteIfChanged(
    name: string,
    value: string,
    compare: boolean,
    progress: ApplyProgress,
  ): Promise<string | undefined> {
    if (compare) {
      const current = await this.getParameter(name);
      if (current?.value === value) return current.version;
    }
    const described = await this.describeOne(name);
    const tier = this.tierFor(value, described.tier);
    const type =
      described.type === 'String' || described.type === 'SecureString' ? described.type : this.parameterType;
    return this.caller.retry(async (attempt) => {
      if (attempt > 1) {
        const now = await this.getParameter(name);
        if (now?.value === value) {
          progress.wrote = true; // the earlier attempt landed; its answer was lost
          return now.version;
        }
      }
      const out = await this.caller.request('PutParameter', true, name, () =>
        this.client.send(
          new PutParameterCommand({
            Name: name,
            Value: value,
            Type: type,
            ...(type === 'SecureString' && this.kmsKeyId ? { KeyId: this.kmsKeyId } : {}),
            Tier: tier,
            Overwrite: true,
          }),
        ),
      );
      progress.wrote = true;
      return out.Version !== undefined ? String(out.Version) : undefined;
    });
  }

  protected setTags(name: string, current: TagRecord, desired: TagRecord, progress: ApplyProgress) {
    return applyTagChanges(current, desired, progress, {
      add: (set) =>
        this.caller.call('AddTagsToResource', true, name, () =>
          this.client.send(
            new AddTagsToResourceCommand({
              ResourceType: 'Parameter',
              ResourceId: name,
              Tags: recordToTags(set),
            }),
          ),
        ),
      remove: (keys) =>
        this.caller.call('RemoveTagsFromResource', true, name, () =>
          this.client.send(
            new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: name, TagKeys: keys }),
          ),
        ),
    });
  }

  protected prune(owner: Owner, action: PruneAction, progress: ApplyProgress): Promise<EntryResult> {
    const name = action.storeName;
    return pruneEntry(owner, action, {
      ...this.entry(name, progress),
      remove: () =>
        this.caller.retry(async (attempt) => {
          try {
            await this.caller.request('DeleteParameter', true, name, () =>
              this.client.send(new DeleteParameterCommand({ Name: name })),
            );
            return true;
          } catch (e) {
            // Gone: deleted by an earlier attempt whose answer was lost (or by someone else).
            if (e instanceof ProviderError && e.reason === 'NotFound') return attempt > 1;
            throw e;
          }
        }),
    });
  }
}

/** ListTagsForResource on a missing parameter answers InvalidResourceId. */
function isMissingResource(e: ProviderError): boolean {
  return e.reason === 'InvalidRequest' && /InvalidResourceId/.test(e.message);
}
