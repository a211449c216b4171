/**
 * The versions of one Secret Manager secret: find the newest and its value, add one (idempotently
 * under retries), enable and disable them. The store (`secret-manager.ts`) decides which to call.
 */
import { type SecretManagerServiceClient, protos } from '@google-cloud/secret-manager';
import { SmcError } from '../../errors.js';
import { GcpCaller, NO_GAX_RETRY, listAll, payloadText } from './calls.js';
import { UNREADABLE, lastSegment, type WriteLog } from './common.js';
import { GcpProviderError } from './errors.js';

type ISecretVersion = protos.google.cloud.secretmanager.v1.ISecretVersion;

export interface Version {
  name: string;
  number: number;
  state: string;
  etag?: string;
}

/** The newest version, its value (UNREADABLE when it is disabled) and, when they were listed, all versions. */
export interface CurrentVersion {
  newest: Version | undefined;
  value: string | undefined | typeof UNREADABLE;
  versions?: Version[];
}

export class SecretVersions {
  constructor(
    private readonly client: SecretManagerServiceClient,
    private readonly caller: GcpCaller,
  ) {}

  /**
   * The newest version and its value, in one call when it is enabled: AccessSecretVersion on
   * `latest` answers the payload and the version's number (docs/performance.md, "Store calls").
   * When `latest` cannot be read (disabled, destroyed, or no version) the versions are listed to
   * find the newest one that still holds data, and it is read only if enabled. `versions` is set
   * only when they were listed.
   */
  async current(secretName: string): Promise<CurrentVersion> {
    const latest = await this.accessLatest(secretName);
    if (latest) return { newest: latest.version, value: latest.value };
    const versions = await this.list(secretName);
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

  async list(secretName: string): Promise<Version[]> {
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
  async access(version: Version): Promise<string | typeof UNREADABLE> {
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

  /**
   * Add a version. AddSecretVersion is not idempotent: before a retry, look for a version the lost
   * attempt may have made (newer than `knownNewest`, holding this value) instead of adding another.
   */
  add(secretName: string, value: string, knownNewest: number, log: WriteLog): Promise<Version> {
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
    const newer = (await this.list(secretName)).filter((v) => v.number > knownNewest);
    const newest = newestVersion(newer);
    if (newest?.state !== 'ENABLED') return undefined;
    return (await this.access(newest)) === value ? newest : undefined;
  }

  async disableAll(versions: Version[], log: WriteLog): Promise<void> {
    for (const [i, v] of versions.entries()) {
      if (v.state === 'ENABLED') versions[i] = await this.setState(v, 'DISABLED', log);
    }
  }

  async setState(version: Version, state: 'ENABLED' | 'DISABLED', log: WriteLog): Promise<Version> {
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
export function newestVersion(versions: readonly Version[]): Version | undefined {
  let best: Version | undefined;
  for (const v of versions) {
    if ((v.state === 'ENABLED' || v.state === 'DISABLED') && (!best || v.number > best.number)) best = v;
  }
  return best;
}

export function maxNumber(versions: readonly Version[]): number {
  return versions.reduce((m, v) => Math.max(m, v.number), 0);
}
