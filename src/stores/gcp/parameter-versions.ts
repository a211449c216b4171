/**
 * The versions of one Parameter Manager parameter: their ids, list them, read a payload, create one
 * (idempotently under retries), enable and disable them. The store (`parameter-manager.ts`) decides
 * which to call.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type ParameterManagerClient, type protos } from '@google-cloud/parametermanager';
import { VersionDigests } from '../version-digests.js';
import { GcpCaller, NO_GAX_RETRY, listAll, payloadText } from './calls.js';
import { UNREADABLE, type WriteLog } from './common.js';
import { GcpProviderError } from './errors.js';

type IParameterVersion = protos.google.cloud.parametermanager.v1.IParameterVersion;

export interface Version {
  name: string;
  disabled: boolean;
  /** createTime as [seconds, nanos], for ordering. */
  created: [number, number];
}

let versionCounter = 0;

/**
 * A new parameter version id: `v` + UTC time to the millisecond + a per-process counter + random
 * hex, e.g. `v20250102t030405678z-0001-9f3a1c`. Only `[a-z0-9-]`, 31 characters (ids may have 63),
 * sortable by time, and unique even for many writes in one millisecond or from several processes.
 */
export function newParameterVersionId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '').toLowerCase(); // 20250102t030405678z
  versionCounter = (versionCounter + 1) % 36 ** 4;
  return `v${stamp}-${versionCounter.toString(36).padStart(4, '0')}-${randomBytes(3).toString('hex')}`;
}

export class ParameterVersions {
  constructor(
    private readonly client: ParameterManagerClient,
    private readonly caller: GcpCaller,
  ) {}

  async list(parameterName: string): Promise<Version[]> {
    const first: protos.google.cloud.parametermanager.v1.IListParameterVersionsRequest = {
      parent: parameterName,
      pageSize: 1000,
    };
    const versions = await listAll(this.caller, 'ListParameterVersions', parameterName, first, (page) =>
      this.client.listParameterVersions(page, NO_GAX_RETRY),
    );
    return versions.map(toVersion).filter((v) => v !== undefined);
  }

  /** The payload of an enabled version (view FULL); UNREADABLE once it is disabled. */
  async payload(version: Version): Promise<string | typeof UNREADABLE> {
    try {
      const [v] = await this.caller.call('GetParameterVersion', false, version.name, () =>
        this.client.getParameterVersion({ name: version.name, view: 'FULL' }, NO_GAX_RETRY),
      );
      if (v.disabled) return UNREADABLE;
      return payloadText(v.payload?.data) ?? '';
    } catch (e) {
      if (e instanceof GcpProviderError && e.reason === 'NotFound') return UNREADABLE;
      throw e;
    }
  }

  /**
   * Create a version under a fresh id. Retries reuse the id and the request id, so a retry after a
   * lost response cannot make a second version: the server replays it, or answers ALREADY_EXISTS
   * for an id only this call can have made.
   */
  add(parameterName: string, value: string, disabled: boolean, log: WriteLog): Promise<Version> {
    const parameterVersionId = newParameterVersionId();
    const requestId = randomUUID();
    const versionName = `${parameterName}/versions/${parameterVersionId}`;
    let attempted = false;
    return this.caller.retrying('CreateParameterVersion', parameterName, async () => {
      const retry = attempted;
      attempted = true;
      try {
        const [v] = await this.caller.once('CreateParameterVersion', true, parameterName, () =>
          this.client.createParameterVersion(
            {
              parent: parameterName,
              parameterVersionId,
              parameterVersion: { payload: { data: Buffer.from(value, 'utf8') }, disabled },
              requestId,
            },
            NO_GAX_RETRY,
          ),
        );
        log.wrote = true;
        const made = toVersion(v);
        if (made) DIGESTS.remember(versionKey(made), value);
        return made ?? { name: versionName, disabled, created: [Date.now() / 1000, 0] };
      } catch (e) {
        if (retry && e instanceof GcpProviderError && e.status === 'ALREADY_EXISTS') {
          log.wrote = true;
          return { name: versionName, disabled, created: [Date.now() / 1000, 0] };
        }
        throw e;
      }
    });
  }

  async disableAll(versions: Version[], log: WriteLog): Promise<void> {
    for (const [i, v] of versions.entries()) {
      if (!v.disabled) versions[i] = await this.setDisabled(v, true, log);
    }
  }

  async setDisabled(version: Version, disabled: boolean, log: WriteLog): Promise<Version> {
    const [v] = await this.caller.call('UpdateParameterVersion', true, version.name, () =>
      this.client.updateParameterVersion(
        {
          parameterVersion: { name: version.name, disabled },
          updateMask: { paths: ['disabled'] },
          requestId: randomUUID(),
        },
        NO_GAX_RETRY,
      ),
    );
    log.wrote = true;
    return { ...version, ...toVersion(v), disabled };
  }
}

/** Digests of the versions this process wrote or read (src/stores/version-digests.ts). */
export const DIGESTS = new VersionDigests();

/** A version's identity: its name and creation time (a version deleted and made again under the same id is another). */
export function versionKey(v: Version): string {
  return `${v.name}@${v.created[0]}.${v.created[1]}`;
}

function toVersion(v: IParameterVersion | null | undefined): Version | undefined {
  if (!v?.name) return undefined;
  const t = v.createTime;
  const seconds = Number(
    typeof t?.seconds === 'object' && t.seconds !== null ? String(t.seconds) : (t?.seconds ?? 0),
  );
  return { name: v.name, disabled: v.disabled === true, created: [seconds, t?.nanos ?? 0] };
}

/** The newest version: latest createTime; ties (one clock tick) broken by id, which ours make time-ordered. */
export function newestVersion(versions: readonly Version[]): Version | undefined {
  let best: Version | undefined;
  for (const v of versions) {
    if (!best || compareVersions(v, best) > 0) best = v;
  }
  return best;
}

function compareVersions(a: Version, b: Version): number {
  return (
    a.created[0] - b.created[0] ||
    a.created[1] - b.created[1] ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}
