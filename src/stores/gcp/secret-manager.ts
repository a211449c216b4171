import { SecretManagerServiceClient, protos } from '@google-cloud/secret-manager';
import type { EntryKind } from '../../entry.js';
import { SmcError } from '../../errors.js';
import type { Action, ActionResult, CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { checkOwnership, targetEnabled } from '../apply.js';
import { ownerFromTags } from '../ownership.js';
import type { Owner, SecretStore, StoreLimits, StoredEntry } from '../store.js';
import { GcpCaller, NO_GAX_RETRY, listAll, payloadText, projectWriteBucket } from './calls.js';
import { ownClient } from '../client-cache.js';
import { gcpClientOptions } from './client-options.js';
import {
  UNREADABLE,
  checkLocation,
  checkProjectId,
  lastSegment,
  applyGcpActions,
  readResources,
  type GcpStoreCommonOptions,
  type WriteLog,
} from './common.js';
import { GcpProviderError } from './errors.js';
import { GCP_SECRET_LIMITS, gcpNaming } from './naming.js';
import { checkEnvironmentLabel, hasLabels, ownerFilter, ownerLabels } from './labels.js';

type ISecret = protos.google.cloud.secretmanager.v1.ISecret;
type ISecretVersion = protos.google.cloud.secretmanager.v1.ISecretVersion;
type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;

/** Annotations (not labels: keys may hold uppercase letters and dots) recording what an entry is. */
export const GCP_ANNOTATIONS = { key: 'smc-key', kind: 'smc-kind' } as const;

export interface GcpSecretManagerStoreOptions extends GcpStoreCommonOptions {
  /** Regional secrets in this location; automatic replication when absent. */
  location?: string;
}

interface Version {
  name: string;
  number: number;
  state: string;
  etag?: string;
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
export class GcpSecretManagerStore implements SecretStore {
  readonly type = 'gcp';
  readonly target: string;
  readonly naming = gcpNaming;
  readonly limits: StoreLimits = GCP_SECRET_LIMITS;
  readonly projectId: string;
  readonly location?: string;
  private readonly environment: string;
  private readonly parent: string;
  private readonly client: SecretManagerServiceClient;
  private readonly release: () => unknown;
  private readonly caller: GcpCaller;
  private readonly concurrency: number;

  constructor(options: GcpSecretManagerStoreOptions) {
    checkProjectId(options.projectId);
    if (options.location !== undefined) checkLocation(options.location);
    checkEnvironmentLabel(options.environment);
    this.projectId = options.projectId;
    if (options.location !== undefined) this.location = options.location;
    this.environment = options.environment;
    this.parent = this.location
      ? `projects/${this.projectId}/locations/${this.location}`
      : `projects/${this.projectId}`;
    this.target = this.location ? `gcp:${this.projectId}/${this.location}` : `gcp:${this.projectId}`;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    const make = () =>
      new SecretManagerServiceClient(
        gcpClientOptions('secretmanager', {
          location: this.location,
          endpoint: options.endpoint,
          credentials: options.credentials,
          clientOptions: options.clientOptions,
        }) as ClientOptions,
      );
    const lease = options.client
      ? options.client(make, (c) => c.close())
      : ownClient(make(), (c) => c.close());
    this.client = lease.client;
    this.release = lease.release;
    this.caller = new GcpCaller({
      observer: options.observer,
      retryPolicy: options.retryPolicy,
      bucket: projectWriteBucket('secretmanager', this.projectId, options.maxWritesPerSecond),
    });
  }

  /** Release the client's connections (or give a shared client back). */
  async close(): Promise<void> {
    await this.release();
  }

  // ---- read ----

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    return readResources({
      names,
      naming: gcpNaming,
      concurrency: this.concurrency,
      listOwned: () => this.listOwned(owner),
      get: (id) => this.getSecret(id),
      idOf,
      toStored: (secret) => this.toStored(secret),
    });
  }

  private async listOwned(owner: Owner): Promise<ISecret[]> {
    const first: protos.google.cloud.secretmanager.v1.IListSecretsRequest = {
      parent: this.parent,
      filter: ownerFilter(owner),
      pageSize: 1000,
    };
    const out = await listAll(this.caller, 'ListSecrets', this.parent, first, (page) =>
      this.client.listSecrets(page, NO_GAX_RETRY),
    );
    // Filtered again here: emulators ignore the filter, and it must be exact.
    return out.filter((s) => sameOwner(ownerFromTags(s.labels ?? undefined), owner));
  }

  private async getSecret(id: string): Promise<ISecret | undefined> {
    const name = this.secretName(id);
    try {
      const [secret] = await this.caller.call('GetSecret', false, name, () =>
        this.client.getSecret({ name }, NO_GAX_RETRY),
      );
      return secret;
    } catch (e) {
      if (e instanceof GcpProviderError && e.reason === 'NotFound') return undefined;
      throw e;
    }
  }

  private async toStored(secret: ISecret): Promise<StoredEntry> {
    const id = idOf(secret);
    const { newest, value } = await this.current(secret.name ?? this.secretName(id));
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

  /**
   * The newest version and its value, in one call when it is enabled: AccessSecretVersion on
   * `latest` answers the payload and the version's number (docs/performance.md, "Store calls").
   * When `latest` cannot be read (disabled, destroyed, or no version) the versions are listed to
   * find the newest one that still holds data, and it is read only if enabled. `versions` is set
   * only when they were listed.
   */
  private async current(secretName: string): Promise<{
    newest: Version | undefined;
    value: string | undefined | typeof UNREADABLE;
    versions?: Version[];
  }> {
    const latest = await this.accessLatest(secretName);
    if (latest) return { newest: latest.version, value: latest.value };
    const versions = await this.listVersions(secretName);
    const newest = newestVersion(versions);
    if (newest?.state !== 'ENABLED') return { newest, value: newest ? UNREADABLE : undefined, versions };
    return { newest, value: await this.access(newest), versions };
  }

  /** The `latest` version's payload and number; undefined when it cannot be read. */
  private async accessLatest(secretName: string): Promise<{ version: Version; value: string } | undefined> {
    const name = `${secretName}/versions/latest`;
    try {
      const [res] = await this.caller.call('AccessSecretVersion', false, name, () =>
        this.client.accessSecretVersion({ name }, NO_GAX_RETRY),
      );
      const version = toVersion({ name: res.name, state: 'ENABLED' });
      if (!version) return undefined;
      return { version, value: payloadText(res.payload?.data) ?? '' };
    } catch (e) {
      if (e instanceof GcpProviderError && (e.status === 'FAILED_PRECONDITION' || e.reason === 'NotFound')) {
        return undefined;
      }
      throw e;
    }
  }

  private async listVersions(secretName: string): Promise<Version[]> {
    const first: protos.google.cloud.secretmanager.v1.IListSecretVersionsRequest = {
      parent: secretName,
      pageSize: 1000,
    };
    const versions = await listAll(this.caller, 'ListSecretVersions', secretName, first, (page) =>
      this.client.listSecretVersions(page, NO_GAX_RETRY),
    );
    return versions.map(toVersion).filter((v) => v !== undefined);
  }

  /** The payload of an enabled version; UNREADABLE if it was disabled or destroyed meanwhile. */
  private async access(version: Version): Promise<string | typeof UNREADABLE> {
    try {
      const [res] = await this.caller.call('AccessSecretVersion', false, version.name, () =>
        this.client.accessSecretVersion({ name: version.name }, NO_GAX_RETRY),
      );
      return payloadText(res.payload?.data) ?? '';
    } catch (e) {
      if (e instanceof GcpProviderError && (e.status === 'FAILED_PRECONDITION' || e.reason === 'NotFound')) {
        return UNREADABLE;
      }
      throw e;
    }
  }

  // ---- apply ----

  apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    return applyGcpActions(actions, {
      naming: this.naming,
      limits: this.limits,
      concurrency: this.concurrency,
      nameKind: 'GCP secret id',
      resourceName: (id) => this.secretName(id),
      create: (a, log) => this.create(owner, a, log),
      converge: (a, log) => this.converge(owner, a, log),
    });
  }

  private async create(
    owner: Owner,
    action: CreateAction | UpdateAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.secretName(id);
    const secret: ISecret = {
      labels: ownerLabels(owner, this.environment),
      annotations: this.annotationsFor(action),
      // Regional secrets take no replication policy: they live in their location.
      ...(this.location ? {} : { replication: { automatic: {} } }),
    };
    try {
      await this.caller.call('CreateSecret', true, name, () =>
        this.client.createSecret({ parent: this.parent, secretId: id, secret }, NO_GAX_RETRY),
      );
      log.wrote = true;
    } catch (e) {
      // Already there: ours from a retried or concurrent create (carry on), or someone else's (refused).
      if (e instanceof GcpProviderError && e.status === 'ALREADY_EXISTS' && depth === 0) {
        return this.converge(owner, action, log, depth + 1);
      }
      throw e;
    }
    let version = await this.addVersion(name, action.value, 0, log);
    if (action.enabled === false) version = await this.setState(version, 'DISABLED', log);
    return String(version.number);
  }

  /** Bring an existing secret to what `action` asks for. */
  private async converge(
    owner: Owner,
    action: WriteAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.secretName(id);
    const secret = await this.getSecret(id);
    if (!secret) {
      if (action.type === 'prune') return undefined; // already gone
      if (action.type === 'update' && depth === 0) return this.create(owner, action, log, depth + 1);
      throw new SmcError('NotFound', `"${id}" does not exist in ${this.target}`);
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
      const versions = await this.listVersions(name);
      await this.disableAll(versions, log);
      const newest = newestVersion(versions);
      return newest ? String(newest.number) : undefined;
    }

    // The newest version (and its value when enabled): one call unless `latest` is unreadable.
    const found = await this.current(name);
    let newest = found.newest;
    const enable = targetEnabled(action);
    const value = 'value' in action ? action.value : undefined;
    let added = false;
    if (value !== undefined) {
      let current = found.value;
      if (newest && newest.state !== 'ENABLED' && enable) {
        newest = await this.setState(newest, 'ENABLED', log);
        current = await this.access(newest);
      }
      // Disabled and staying so: compared when it is enabled again.
      if (current !== UNREADABLE && current !== value) {
        newest = await this.addVersion(
          name,
          value,
          maxNumber(found.versions ?? (newest ? [newest] : [])),
          log,
        );
        added = true;
      }
    }
    if (enable) {
      if (newest && newest.state !== 'ENABLED') newest = await this.setState(newest, 'ENABLED', log);
    } else {
      const versions = found.versions ?? (await this.listVersions(name));
      if (added && newest && !versions.some((v) => v.number === newest?.number)) versions.push(newest);
      await this.disableAll(versions, log);
    }
    return newest ? String(newest.number) : undefined;
  }

  /** Ownership and environment labels (and our annotations with them), etag-guarded. */
  private async ensureLabels(secret: ISecret, owner: Owner, action: Action, log: WriteLog): Promise<void> {
    const wanted = ownerLabels(owner, this.environment);
    if (hasLabels(secret.labels, wanted)) return;
    const name = secret.name ?? this.secretName(action.storeName);
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
        const now = await this.getSecret(action.storeName);
        if (now && hasLabels(now.labels, wanted)) {
          log.wrote = true;
          return;
        }
      }
      throw e;
    }
  }

  /**
   * Add a version. AddSecretVersion is not idempotent: before a retry, look for a version the lost
   * attempt may have made (newer than `knownNewest`, holding this value) instead of adding another.
   */
  private addVersion(
    secretName: string,
    value: string,
    knownNewest: number,
    log: WriteLog,
  ): Promise<Version> {
    let attempted = false;
    return this.caller.retrying('AddSecretVersion', secretName, async () => {
      if (attempted) {
        const made = await this.findAdded(secretName, value, knownNewest);
        if (made) {
          log.wrote = true;
          return made;
        }
      }
      attempted = true;
      const [v] = await this.caller.once('AddSecretVersion', true, secretName, () =>
        this.client.addSecretVersion(
          { parent: secretName, payload: { data: Buffer.from(value, 'utf8') } },
          NO_GAX_RETRY,
        ),
      );
      log.wrote = true;
      const version = toVersion(v);
      if (!version)
        throw new SmcError('StoreError', `AddSecretVersion on ${secretName} returned no version name`);
      return version;
    });
  }

  private async findAdded(
    secretName: string,
    value: string,
    knownNewest: number,
  ): Promise<Version | undefined> {
    const newer = (await this.listVersions(secretName)).filter((v) => v.number > knownNewest);
    const newest = newestVersion(newer);
    if (newest?.state !== 'ENABLED') return undefined;
    return (await this.access(newest)) === value ? newest : undefined;
  }

  private async disableAll(versions: Version[], log: WriteLog): Promise<void> {
    for (const [i, v] of versions.entries()) {
      if (v.state === 'ENABLED') versions[i] = await this.setState(v, 'DISABLED', log);
    }
  }

  private async setState(version: Version, state: 'ENABLED' | 'DISABLED', log: WriteLog): Promise<Version> {
    const op = state === 'ENABLED' ? 'EnableSecretVersion' : 'DisableSecretVersion';
    const request = { name: version.name, ...(version.etag ? { etag: version.etag } : {}) };
    const [v] = await this.caller.call(op, true, version.name, () =>
      state === 'ENABLED'
        ? this.client.enableSecretVersion(request, NO_GAX_RETRY)
        : this.client.disableSecretVersion(request, NO_GAX_RETRY),
    );
    log.wrote = true;
    return toVersion(v) ?? { ...version, state };
  }

  private annotationsFor(action: Action): Record<string, string> {
    return {
      ...(action.key !== undefined ? { [GCP_ANNOTATIONS.key]: action.key } : {}),
      [GCP_ANNOTATIONS.kind]: action.kind,
    };
  }

  private secretName(id: string): string {
    return `${this.parent}/secrets/${id}`;
  }
}

function idOf(secret: ISecret): string {
  return lastSegment(secret.name);
}

function toVersion(v: ISecretVersion | null | undefined): Version | undefined {
  const name = v?.name;
  if (!name) return undefined;
  const number = Number(lastSegment(name));
  if (!Number.isInteger(number)) return undefined;
  const state = typeof v.state === 'string' ? v.state : stateName(v.state);
  return { name, number, state, ...(v.etag ? { etag: v.etag } : {}) };
}

function stateName(state: number | null | undefined): string {
  const S = protos.google.cloud.secretmanager.v1.SecretVersion.State;
  return state === S.ENABLED
    ? 'ENABLED'
    : state === S.DISABLED
      ? 'DISABLED'
      : state === S.DESTROYED
        ? 'DESTROYED'
        : 'UNKNOWN';
}

/** The newest version that still holds data (destroyed versions can be neither read nor enabled). */
function newestVersion(versions: readonly Version[]): Version | undefined {
  let best: Version | undefined;
  for (const v of versions) {
    if ((v.state === 'ENABLED' || v.state === 'DISABLED') && (!best || v.number > best.number)) best = v;
  }
  return best;
}

function maxNumber(versions: readonly Version[]): number {
  return versions.reduce((m, v) => Math.max(m, v.number), 0);
}
