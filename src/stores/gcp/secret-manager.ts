import { SecretManagerServiceClient, type protos } from '@google-cloud/secret-manager';
import type { EntryKind } from '../../entry.js';
import type { Action, CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
import { checkOwnership, targetEnabled } from '../apply.js';
import { ownerFromTags } from '../ownership.js';
import { absentIfNotFound } from '../provider-error.js';
import type { Owner, StoreLimits, StoredEntry } from '../store.js';
import { NO_GAX_RETRY } from './calls.js';
import {
  UNREADABLE,
  convergeMissing,
  created,
  lastSegment,
  listOwned,
  type GcpStoreCommonOptions,
  type WriteLog,
} from './common.js';
import { GcpProviderError } from './errors.js';
import { GCP_SECRET_LIMITS, gcpNaming } from './naming.js';
import { hasLabels, ownerLabels } from './labels.js';
import { SecretVersions, maxNumber, newestVersion } from './secret-versions.js';
import { GcpStore } from './gcp-store.js';

type ISecret = protos.google.cloud.secretmanager.v1.ISecret;
type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;

/** Annotations (not labels: keys may hold uppercase letters and dots) recording what an entry is. */
export const GCP_ANNOTATIONS = { key: 'smc-key', kind: 'smc-kind' } as const;

export interface GcpSecretManagerStoreOptions extends GcpStoreCommonOptions {
  /** Regional secrets in this location; automatic replication when absent. */
  location?: string;
}

/**
 * GCP Secret Manager: one secret per entry, the value in versions.
 *
 * - Created with automatic replication, or as a regional secret when `location` is set (regional
 *   endpoint `secretmanager.LOCATION.rep.googleapis.com`, no replication policy).
 * - Ownership and `environment` as labels; the source key and kind as annotations.
 * - A secret is *enabled* when its newest version is; its value is that version's payload. Only a
 *   value that differs adds a version. Disable = disable every enabled version; enable = enable the
 *   newest version (then add one if the value also changed). A disabled version cannot be read, so
 *   a disabled entry reports no value; its value is compared when it is enabled again.
 * - Label updates and deletes carry the etag read just before, so a concurrent change is a Conflict.
 */
export class GcpSecretManagerStore extends GcpStore<SecretManagerServiceClient, ISecret> {
  readonly type = 'gcp';
  readonly target: string;
  readonly naming = gcpNaming;
  readonly limits: StoreLimits = GCP_SECRET_LIMITS;
  readonly location?: string;
  protected readonly nameKind = 'GCP secret id';
  private readonly parent: string;
  private readonly versions: SecretVersions;

  constructor(options: GcpSecretManagerStoreOptions) {
    super('secretmanager', options, options.location, (o) => {
      return new SecretManagerServiceClient(o as ClientOptions);
    });
    if (options.location !== undefined) this.location = options.location;
    this.parent = this.location
      ? `projects/${this.projectId}/locations/${this.location}`
      : `projects/${this.projectId}`;
    this.target = this.location ? `gcp:${this.projectId}/${this.location}` : `gcp:${this.projectId}`;
    this.versions = new SecretVersions(this.client, this.caller);
  }

  // ---- read ----

  protected listOwned(owner: Owner): Promise<ISecret[]> {
    return listOwned(this.caller, 'ListSecrets', this.parent, owner, (page) =>
      this.client.listSecrets(page, NO_GAX_RETRY),
    );
  }

  protected get(id: string): Promise<ISecret | undefined> {
    const name = this.resourceName(id);
    return absentIfNotFound(async () => {
      const [secret] = await this.caller.call('GetSecret', false, name, () =>
        this.client.getSecret({ name }, NO_GAX_RETRY),
      );
      return secret;
    });
  }

  protected async toStored(secret: ISecret): Promise<StoredEntry> {
    const id = lastSegment(secret.name);
    const { newest, value } = await this.versions.current(secret.name ?? this.resourceName(id));
    // A secret with no readable version yet is enabled: rewritten by the next apply.
    const enabled = newest ? newest.state === 'ENABLED' && value !== UNREADABLE : true;
    const annotations = secret.annotations ?? {};
    const kind = annotations[GCP_ANNOTATIONS.kind];
    const owner = ownerFromTags(secret.labels ?? undefined);
    return {
      storeName: id,
      enabled,
      ...(typeof value === 'string' ? { value } : {}),
      ...(owner ? { owner } : {}),
      ...(annotations[GCP_ANNOTATIONS.key] ? { key: annotations[GCP_ANNOTATIONS.key] } : {}),
      ...(kind === 'secret' || kind === 'config' ? { kind: kind as EntryKind } : {}),
      ...(newest ? { version: String(newest.number) } : {}),
    };
  }

  // ---- apply ----

  protected async create(
    owner: Owner,
    action: CreateAction | UpdateAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.resourceName(id);
    const secret: ISecret = {
      labels: ownerLabels(owner, this.environment),
      annotations: this.annotationsFor(action),
      // Regional secrets take no replication policy: they live in their location.
      ...(this.location ? {} : { replication: { automatic: {} } }),
    };
    const made = await created(
      () =>
        this.caller.call('CreateSecret', true, name, () =>
          this.client.createSecret({ parent: this.parent, secretId: id, secret }, NO_GAX_RETRY),
        ),
      log,
      depth,
    );
    if (!made) return this.converge(owner, action, log, depth + 1);
    let version = await this.versions.add(name, action.value, 0, log);
    if (action.enabled === false) version = await this.versions.setState(version, 'DISABLED', log);
    return String(version.number);
  }

  /** Bring an existing secret to what `action` asks for. */
  protected async converge(
    owner: Owner,
    action: WriteAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.resourceName(id);
    const secret = await this.get(id);
    if (!secret) {
      return convergeMissing(action, depth, this.target, (a) => this.create(owner, a, log, depth + 1));
    }
    // Only an update takes an unowned entry over (adoption, decided by the plan).
    checkOwnership(ownerFromTags(secret.labels ?? undefined), owner, action, `"${id}" in ${this.target}`);

    if (action.type === 'prune') {
      if (action.deletion === 'Delete') {
        await this.caller.call('DeleteSecret', true, name, () =>
          this.client.deleteSecret({ name, etag: secret.etag ?? '' }, NO_GAX_RETRY),
        );
        log.wrote = true;
        return undefined;
      }
    }

    await this.ensureLabels(secret, owner, action, log);

    if (action.type === 'disable' || action.type === 'prune') {
      const versions = await this.versions.list(name);
      await this.versions.disableAll(versions, log);
      const newest = newestVersion(versions);
      return newest ? String(newest.number) : undefined;
    }

    // The newest version (and its value when enabled): one call unless `latest` is unreadable.
    const found = await this.versions.current(name);
    let newest = found.newest;
    const enable = targetEnabled(action);
    const value = 'value' in action ? action.value : undefined;
    let added = false;
    if (value !== undefined) {
      let current = found.value;
      if (newest && newest.state !== 'ENABLED' && enable) {
        newest = await this.versions.setState(newest, 'ENABLED', log);
        current = await this.versions.access(newest);
      }
      // Disabled and staying so: compared when it is enabled again.
      if (current !== UNREADABLE && current !== value) {
        newest = await this.versions.add(
          name,
          value,
          maxNumber(found.versions ?? (newest ? [newest] : [])),
          log,
        );
        added = true;
      }
    }
    if (enable) {
      if (newest && newest.state !== 'ENABLED') newest = await this.versions.setState(newest, 'ENABLED', log);
    } else {
      const versions = found.versions ?? (await this.versions.list(name));
      if (added && newest && !versions.some((v) => v.number === newest?.number)) versions.push(newest);
      await this.versions.disableAll(versions, log);
    }
    return newest ? String(newest.number) : undefined;
  }

  /** Ownership and environment labels (and our annotations with them), etag-guarded. */
  private async ensureLabels(secret: ISecret, owner: Owner, action: Action, log: WriteLog): Promise<void> {
    const wanted = ownerLabels(owner, this.environment);
    if (hasLabels(secret.labels, wanted)) return;
    const name = secret.name ?? this.resourceName(action.storeName);
    const update = {
      secret: {
        name,
        labels: { ...(secret.labels ?? {}), ...wanted },
        annotations: { ...(secret.annotations ?? {}), ...this.annotationsFor(action) },
        etag: secret.etag ?? '',
      },
      updateMask: { paths: ['labels', 'annotations'] },
    };
    try {
      await this.caller.call('UpdateSecret', true, name, () =>
        this.client.updateSecret(update, NO_GAX_RETRY),
      );
      log.wrote = true;
    } catch (e) {
      // A retry after a lost response meets its own new etag: fine if the labels are in place.
      if (e instanceof GcpProviderError && e.status === 'ABORTED') {
        const now = await this.get(action.storeName);
        if (now && hasLabels(now.labels, wanted)) {
          log.wrote = true;
          return;
        }
      }
      throw e;
    }
  }

  private annotationsFor(action: Action): Record<string, string> {
    return {
      ...(action.key !== undefined ? { [GCP_ANNOTATIONS.key]: action.key } : {}),
      [GCP_ANNOTATIONS.kind]: action.kind,
    };
  }

  protected resourceName(id: string): string {
    return `${this.parent}/secrets/${id}`;
  }
}
