import { randomBytes, randomUUID } from 'node:crypto';
import { ParameterManagerClient, protos } from '@google-cloud/parametermanager';
import { SmcError } from '../../errors.js';
import type { Action, ActionResult, CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { checkOwnership, targetEnabled } from '../apply.js';
import { ownerFromTags } from '../ownership.js';
import type { Owner, SecretStore, StoreLimits, StoredEntry } from '../store.js';
import { GcpCaller, NO_GAX_RETRY, listAll, payloadText, projectWriteBucket } from './calls.js';
import { ownClient } from '../client-cache.js';
import { VersionDigests } from '../version-digests.js';
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
import { GCP_PARAMETER_LIMITS, gcpParameterNaming } from './naming.js';
import { checkEnvironmentLabel, hasLabels, ownerFilter, ownerLabels } from './labels.js';

type IParameter = protos.google.cloud.parametermanager.v1.IParameter;
type IParameterVersion = protos.google.cloud.parametermanager.v1.IParameterVersion;
type ClientOptions = NonNullable<ConstructorParameters<typeof ParameterManagerClient>[0]>;

export interface GcpParameterManagerStoreOptions extends GcpStoreCommonOptions {
  /** `global` (default) or a region (regional parameters, regional endpoint). */
  location?: string;
}

interface Version {
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

/**
 * GCP Parameter Manager (the config store, `configs.store: ParameterManager`): one parameter per
 * entry, `UNFORMATTED`, ownership and `environment` as labels; values in versions with generated
 * ids. Same semantics as the Secret Manager store: the newest version is current; only a value that
 * differs makes a version; disable = set `disabled` on every enabled version; enable = enable the
 * newest; a disabled version's payload cannot be read (compared when it is enabled again). Delete
 * removes the versions, then the parameter (the API refuses to delete a parameter with versions).
 */
export class GcpParameterManagerStore implements SecretStore {
  readonly type = 'gcp-pm';
  readonly target: string;
  readonly naming = gcpParameterNaming;
  readonly limits: StoreLimits = GCP_PARAMETER_LIMITS;
  readonly projectId: string;
  readonly location: string;
  private readonly environment: string;
  private readonly parent: string;
  private readonly client: ParameterManagerClient;
  private readonly release: () => unknown;
  private readonly caller: GcpCaller;
  private readonly concurrency: number;

  constructor(options: GcpParameterManagerStoreOptions) {
    checkProjectId(options.projectId);
    this.location = options.location ?? 'global';
    checkLocation(this.location);
    checkEnvironmentLabel(options.environment);
    this.projectId = options.projectId;
    this.environment = options.environment;
    this.parent = `projects/${this.projectId}/locations/${this.location}`;
    this.target = `gcp-pm:${this.projectId}/${this.location}`;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    const make = () =>
      new ParameterManagerClient(
        gcpClientOptions('parametermanager', {
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
      bucket: projectWriteBucket('parametermanager', this.projectId, options.maxWritesPerSecond),
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
      naming: this.naming,
      concurrency: this.concurrency,
      listOwned: () => this.listOwned(owner),
      get: (id) => this.getParameter(id),
      idOf: (p) => lastSegment(p.name),
      toStored: (p) => this.toStored(p),
    });
  }

  private async listOwned(owner: Owner): Promise<IParameter[]> {
    const first: protos.google.cloud.parametermanager.v1.IListParametersRequest = {
      parent: this.parent,
      filter: ownerFilter(owner),
      pageSize: 1000,
    };
    const out = await listAll(this.caller, 'ListParameters', this.parent, first, (page) =>
      this.client.listParameters(page, NO_GAX_RETRY),
    );
    return out.filter((p) => sameOwner(ownerFromTags(p.labels ?? undefined), owner));
  }

  private async getParameter(id: string): Promise<IParameter | undefined> {
    const name = this.parameterName(id);
    try {
      const [p] = await this.caller.call('GetParameter', false, name, () =>
        this.client.getParameter({ name }, NO_GAX_RETRY),
      );
      return p;
    } catch (e) {
      if (e instanceof GcpProviderError && e.reason === 'NotFound') return undefined;
      throw e;
    }
  }

  private async toStored(p: IParameter): Promise<StoredEntry> {
    const id = lastSegment(p.name);
    const newest = newestVersion(await this.listVersions(this.parameterName(id)));
    let value: string | undefined;
    let enabled = true; // no version yet: the next apply writes one
    // A version is immutable: one this process wrote or read is compared by digest, not read again.
    const holds = newest && !newest.disabled ? DIGESTS.holds(versionKey(newest)) : undefined;
    if (newest && !newest.disabled && !holds) {
      const v = await this.payload(newest);
      if (v === UNREADABLE) enabled = false;
      else {
        value = v;
        DIGESTS.remember(versionKey(newest), v);
      }
    } else if (newest?.disabled) {
      enabled = false;
    }
    const owner = ownerFromTags(p.labels ?? undefined);
    return {
      storeName: id,
      enabled,
      kind: 'config',
      ...(value !== undefined ? { value } : {}),
      ...(holds ? { holds } : {}),
      ...(owner ? { owner } : {}),
      ...(newest ? { version: lastSegment(newest.name) } : {}),
    };
  }

  private async listVersions(parameterName: string): Promise<Version[]> {
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
  private async payload(version: Version): Promise<string | typeof UNREADABLE> {
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

  // ---- apply ----

  apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    return applyGcpActions(actions, {
      naming: this.naming,
      limits: this.limits,
      concurrency: this.concurrency,
      nameKind: 'GCP parameter id',
      resourceName: (id) => this.parameterName(id),
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
    const name = this.parameterName(id);
    const requestId = randomUUID();
    const parameter: IParameter = { labels: ownerLabels(owner, this.environment), format: 'UNFORMATTED' };
    try {
      await this.caller.call('CreateParameter', true, name, () =>
        this.client.createParameter(
          { parent: this.parent, parameterId: id, parameter, requestId },
          NO_GAX_RETRY,
        ),
      );
      log.wrote = true;
    } catch (e) {
      if (e instanceof GcpProviderError && e.status === 'ALREADY_EXISTS' && depth === 0) {
        return this.converge(owner, action, log, depth + 1);
      }
      throw e;
    }
    const v = await this.addVersion(name, action.value, action.enabled === false, log);
    return lastSegment(v.name);
  }

  private async converge(
    owner: Owner,
    action: WriteAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.parameterName(id);
    const p = await this.getParameter(id);
    if (!p) {
      if (action.type === 'prune') return undefined;
      if (action.type === 'update' && depth === 0) return this.create(owner, action, log, depth + 1);
      throw new SmcError('NotFound', `"${id}" does not exist in ${this.target}`);
    }
    // Only an update takes an unowned entry over (adoption, decided by the plan).
    checkOwnership(ownerFromTags(p.labels ?? undefined), owner, action, `"${id}" in ${this.target}`);
    const versions = await this.listVersions(name);

    if (action.type === 'prune') {
      if (action.deletion === 'Delete') {
        for (const v of versions) {
          await this.deleteIgnoringMissing('DeleteParameterVersion', v.name, () =>
            this.client.deleteParameterVersion({ name: v.name, requestId: randomUUID() }, NO_GAX_RETRY),
          );
          log.wrote = true;
        }
        await this.deleteIgnoringMissing('DeleteParameter', name, () =>
          this.client.deleteParameter({ name, requestId: randomUUID() }, NO_GAX_RETRY),
        );
        log.wrote = true;
        return undefined;
      }
    }

    await this.ensureLabels(p, owner, log);
    let newest = newestVersion(versions);
    if (action.type === 'disable' || action.type === 'prune') {
      await this.disableAll(versions, log);
      return newest ? lastSegment(newest.name) : undefined;
    }

    const enable = targetEnabled(action);
    const value = 'value' in action ? action.value : undefined;
    if (value !== undefined) {
      let current: string | undefined | typeof UNREADABLE;
      if (!newest) current = undefined;
      // A value the plan found changed is written without reading it again (docs/performance.md,
      // "Store calls").
      else if (!newest.disabled && action.type === 'update' && action.cause === 'changed')
        current = undefined;
      else if (!newest.disabled) current = await this.payload(newest);
      else if (enable) {
        newest = await this.setDisabled(newest, false, log);
        current = await this.payload(newest);
      } else current = UNREADABLE;
      if (current !== UNREADABLE && current !== value) {
        newest = await this.addVersion(name, value, !enable, log);
        versions.push(newest);
      }
    }
    if (enable) {
      if (newest?.disabled) newest = await this.setDisabled(newest, false, log);
    } else {
      await this.disableAll(versions, log);
    }
    return newest ? lastSegment(newest.name) : undefined;
  }

  private async ensureLabels(p: IParameter, owner: Owner, log: WriteLog): Promise<void> {
    const wanted = ownerLabels(owner, this.environment);
    if (hasLabels(p.labels, wanted)) return;
    const name = p.name ?? '';
    const parameter = { name, labels: { ...(p.labels ?? {}), ...wanted } };
    await this.caller.call('UpdateParameter', true, name, () =>
      this.client.updateParameter(
        { parameter, updateMask: { paths: ['labels'] }, requestId: randomUUID() },
        NO_GAX_RETRY,
      ),
    );
    log.wrote = true;
  }

  /**
   * Create a version under a fresh id. Retries reuse the id and the request id, so a retry after a
   * lost response cannot make a second version: the server replays it, or answers ALREADY_EXISTS
   * for an id only this call can have made.
   */
  private addVersion(
    parameterName: string,
    value: string,
    disabled: boolean,
    log: WriteLog,
  ): Promise<Version> {
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

  private async disableAll(versions: Version[], log: WriteLog): Promise<void> {
    for (const [i, v] of versions.entries()) {
      if (!v.disabled) versions[i] = await this.setDisabled(v, true, log);
    }
  }

  private async setDisabled(version: Version, disabled: boolean, log: WriteLog): Promise<Version> {
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

  private async deleteIgnoringMissing(op: string, name: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await this.caller.call(op, true, name, run);
    } catch (e) {
      if (!(e instanceof GcpProviderError && e.reason === 'NotFound')) throw e;
    }
  }

  private parameterName(id: string): string {
    return `${this.parent}/parameters/${id}`;
  }
}

/** Digests of the versions this process wrote or read (src/stores/version-digests.ts). */
const DIGESTS = new VersionDigests();

/** A version's identity: its name and creation time (a version deleted and made again under the same id is another). */
function versionKey(v: Version): string {
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
function newestVersion(versions: readonly Version[]): Version | undefined {
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
