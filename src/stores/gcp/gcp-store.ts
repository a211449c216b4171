/**
 * What both GCP stores are made of: the checked project and environment, the client and caller,
 * and the read and apply loops of `common.ts`; each store supplies its resource's own calls.
 */
import type { NamingRule } from '../../naming/rules.js';
import type { Action, ActionResult, CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
import type { Owner, SecretStore, StoreLimits, StoredEntry } from '../store.js';
import type { GcpCaller } from './calls.js';
import type { GcpService } from './client-options.js';
import {
  applyGcpActions,
  checkLocation,
  checkProjectId,
  connectGcp,
  lastSegment,
  readResources,
  type GcpStoreCommonOptions,
  type WriteLog,
} from './common.js';
import { checkEnvironmentLabel } from './labels.js';

export abstract class GcpStore<
  C extends { close(): Promise<void> },
  R extends { name?: string | null },
> implements SecretStore {
  abstract readonly type: string;
  abstract readonly target: string;
  abstract readonly naming: NamingRule;
  abstract readonly limits: StoreLimits;
  readonly projectId: string;
  protected readonly environment: string;
  protected readonly client: C;
  protected readonly caller: GcpCaller;
  protected readonly concurrency: number;
  private readonly release: () => unknown;
  /** How a refused name is described (`GCP secret id`). */
  protected abstract readonly nameKind: string;

  protected constructor(
    api: GcpService,
    options: GcpStoreCommonOptions,
    location: string | undefined,
    construct: (clientOptions: Record<string, unknown>) => C,
  ) {
    checkProjectId(options.projectId);
    if (location !== undefined) checkLocation(location);
    checkEnvironmentLabel(options.environment);
    this.projectId = options.projectId;
    this.environment = options.environment;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    const connection = connectGcp(api, options, location, construct);
    this.client = connection.client;
    this.release = connection.release;
    this.caller = connection.caller;
  }

  /** Release the client's connections (or give a shared client back). */
  async close(): Promise<void> {
    await this.release();
  }

  read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    return readResources({
      names,
      naming: this.naming,
      concurrency: this.concurrency,
      listOwned: () => this.listOwned(owner),
      get: (id) => this.get(id),
      idOf: (r) => lastSegment(r.name),
      toStored: (r) => this.toStored(r),
    });
  }

  apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    return applyGcpActions(actions, {
      naming: this.naming,
      limits: this.limits,
      concurrency: this.concurrency,
      nameKind: this.nameKind,
      resourceName: (id) => this.resourceName(id),
      create: (a, log) => this.create(owner, a, log),
      converge: (a, log) => this.converge(owner, a, log),
    });
  }

  /** The full resource name of id `id`. */
  protected abstract resourceName(id: string): string;
  /** The resources whose labels name `owner`. */
  protected abstract listOwned(owner: Owner): Promise<R[]>;
  /** One resource by id; undefined when absent. */
  protected abstract get(id: string): Promise<R | undefined>;
  protected abstract toStored(resource: R): Promise<StoredEntry>;
  /** Make the resource and its first version; the version's id. */
  protected abstract create(
    owner: Owner,
    action: CreateAction | UpdateAction,
    log: WriteLog,
    depth?: number,
  ): Promise<string | undefined>;
  /** Bring an existing resource to what `action` asks for; the newest version's id. */
  protected abstract converge(
    owner: Owner,
    action: WriteAction,
    log: WriteLog,
    depth?: number,
  ): Promise<string | undefined>;
}
