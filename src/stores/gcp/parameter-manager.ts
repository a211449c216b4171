import { randomUUID } from 'node:crypto';
import { ParameterManagerClient, type protos } from '@google-cloud/parametermanager';
import type { CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
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
import { GCP_PARAMETER_LIMITS, gcpParameterNaming } from './naming.js';
import { hasLabels, ownerLabels } from './labels.js';
import { DIGESTS, ParameterVersions, newestVersion, versionKey } from './parameter-versions.js';
import { GcpStore } from './gcp-store.js';

type IParameter = protos.google.cloud.parametermanager.v1.IParameter;
type ClientOptions = NonNullable<ConstructorParameters<typeof ParameterManagerClient>[0]>;

export interface GcpParameterManagerStoreOptions extends GcpStoreCommonOptions {
  /** `global` (default) or a region (regional parameters, regional endpoint). */
  location?: string;
}

/**
 * GCP Parameter Manager (the config store, `configs.store: ParameterManager`): one parameter per
 * entry, `UNFORMATTED`, ownership and `environment` as labels; values in versions with generated
 * ids. Same semantics as the Secret Manager store: the newest version is current; only a value that
 * differs makes a version; disable = set `disabled` on every enabled version; enable = enable the
 * newest; a disabled version's payload cannot be read (compared when it is enabled again). Delete
 * removes the versions, then the parameter (the API refuses to delete a parameter with versions).
 */
export class GcpParameterManagerStore extends GcpStore<ParameterManagerClient, IParameter> {
  readonly type = 'gcp-pm';
  readonly target: string;
  readonly naming = gcpParameterNaming;
  readonly limits: StoreLimits = GCP_PARAMETER_LIMITS;
  readonly location: string;
  protected readonly nameKind = 'GCP parameter id';
  private readonly parent: string;
  private readonly versions: ParameterVersions;

  constructor(options: GcpParameterManagerStoreOptions) {
    const location = options.location ?? 'global';
    super('parametermanager', options, location, (o) => {
      return new ParameterManagerClient(o as ClientOptions);
    });
    this.location = location;
    this.parent = `projects/${this.projectId}/locations/${this.location}`;
    this.target = `gcp-pm:${this.projectId}/${this.location}`;
    this.versions = new ParameterVersions(this.client, this.caller);
  }

  // ---- read ----

  protected listOwned(owner: Owner): Promise<IParameter[]> {
    return listOwned(this.caller, 'ListParameters', this.parent, owner, (page) =>
      this.client.listParameters(page, NO_GAX_RETRY),
    );
  }

  protected get(id: string): Promise<IParameter | undefined> {
    const name = this.resourceName(id);
    return absentIfNotFound(async () => {
      const [p] = await this.caller.call('GetParameter', false, name, () =>
        this.client.getParameter({ name }, NO_GAX_RETRY),
      );
      return p;
    });
  }

  protected async toStored(p: IParameter): Promise<StoredEntry> {
    const id = lastSegment(p.name);
    const newest = newestVersion(await this.versions.list(this.resourceName(id)));
    let value: string | undefined;
    let enabled = true; // no version yet: the next apply writes one
    // A version is immutable: one this process wrote or read is compared by digest, not read again.
    const holds = newest && !newest.disabled ? DIGESTS.holds(versionKey(newest)) : undefined;
    if (newest && !newest.disabled && !holds) {
      const v = await this.versions.payload(newest);
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

  // ---- apply ----

  protected async create(
    owner: Owner,
    action: CreateAction | UpdateAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.resourceName(id);
    const requestId = randomUUID();
    const parameter: IParameter = { labels: ownerLabels(owner, this.environment), format: 'UNFORMATTED' };
    const made = await created(
      () =>
        this.caller.call('CreateParameter', true, name, () =>
          this.client.createParameter(
            { parent: this.parent, parameterId: id, parameter, requestId },
            NO_GAX_RETRY,
          ),
        ),
      log,
      depth,
    );
    if (!made) return this.converge(owner, action, log, depth + 1);
    const v = await this.versions.add(name, action.value, action.enabled === false, log);
    return lastSegment(v.name);
  }

  protected async converge(
    owner: Owner,
    action: WriteAction,
    log: WriteLog,
    depth = 0,
  ): Promise<string | undefined> {
    const id = action.storeName;
    const name = this.resourceName(id);
    const p = await this.get(id);
    if (!p) return convergeMissing(action, depth, this.target, (a) => this.create(owner, a, log, depth + 1));
    // Only an update takes an unowned entry over (adoption, decided by the plan).
    checkOwnership(ownerFromTags(p.labels ?? undefined), owner, action, `"${id}" in ${this.target}`);
    const versions = await this.versions.list(name);

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
      await this.versions.disableAll(versions, log);
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
      else if (!newest.disabled) current = await this.versions.payload(newest);
      else if (enable) {
        newest = await this.versions.setDisabled(newest, false, log);
        current = await this.versions.payload(newest);
      } else current = UNREADABLE;
      if (current !== UNREADABLE && current !== value) {
        newest = await this.versions.add(name, value, !enable, log);
        versions.push(newest);
      }
    }
    if (enable) {
      if (newest?.disabled) newest = await this.versions.setDisabled(newest, false, log);
    } else {
      await this.versions.disableAll(versions, log);
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

  private async deleteIgnoringMissing(op: string, name: string, run: () => Promise<unknown>): Promise<void> {
    await absentIfNotFound(() => this.caller.call(op, true, name, run));
  }

  protected resourceName(id: string): string {
    return `${this.parent}/parameters/${id}`;
  }
}
