/**
 * What both AWS stores are made of: the client and caller, the apply loop and the entry each verb
 * of `entry-verbs.ts` works on; each store supplies its service's own calls.
 */
import type { NamingRule } from '../../naming/rules.js';
import type { Action, ActionResult, PruneAction, WriteAction } from '../../plan/actions.js';
import type { Owner, SecretStore, StoreLimits, StoredEntry } from '../store.js';
import {
  applyAwsActions,
  connectAws,
  type ApplyProgress,
  type AwsCaller,
  type AwsStoreOptions,
  type TagRecord,
  type baseClientConfig,
} from './common.js';
import type { EntryCalls, EntryResult } from './entry-verbs.js';

export abstract class AwsStore<
  C extends { destroy(): void },
  I extends { tags: TagRecord },
> implements SecretStore {
  abstract readonly type: string;
  abstract readonly target: string;
  abstract readonly naming: NamingRule;
  abstract readonly limits: StoreLimits;
  protected readonly client: C;
  protected readonly caller: AwsCaller;
  protected readonly environment: string;
  protected readonly concurrency: number;
  private readonly release: () => unknown;
  /** How a refused name is described (`parameter name`). */
  protected abstract readonly nameKind: string;

  protected constructor(
    service: string,
    opts: AwsStoreOptions,
    writes: { ratePerSecond: number; burst: number },
    make: (config: ReturnType<typeof baseClientConfig>) => C,
  ) {
    this.environment = opts.environment;
    this.concurrency = opts.concurrency ?? 8;
    const connection = connectAws(service, opts, writes, make);
    this.client = connection.client;
    this.release = connection.release;
    this.caller = connection.caller;
  }

  /** Close the SDK client's sockets (or give a shared client back). */
  async close(): Promise<void> {
    await this.release();
  }

  abstract read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]>;

  apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    return applyAwsActions(actions, {
      naming: this.naming,
      limits: this.limits,
      concurrency: this.concurrency,
      nameKind: this.nameKind,
      what: (name) => this.what(name),
      write: (a, progress) => this.write(owner, a, progress),
      prune: (a, progress) => this.prune(owner, a, progress),
    });
  }

  /** What the shared verbs (entry-verbs.ts) need of entry `name`. */
  protected entry(name: string, progress: ApplyProgress): EntryCalls<I> {
    return {
      what: this.what(name),
      environment: this.environment,
      progress,
      find: () => this.find(name),
      setTags: (current, desired) => this.setTags(name, current, desired, progress),
    };
  }

  /** How messages name entry `name`: `"NAME"`, `parameter "NAME"`. */
  protected abstract what(name: string): string;
  /** The entry's tags (and what else the store reads with them); undefined when it does not exist. */
  protected abstract find(name: string): Promise<I | undefined>;
  protected abstract setTags(
    name: string,
    current: TagRecord,
    desired: TagRecord,
    progress: ApplyProgress,
  ): Promise<void>;
  protected abstract write(
    owner: Owner,
    action: Exclude<WriteAction, PruneAction>,
    progress: ApplyProgress,
  ): Promise<EntryResult>;
  protected abstract prune(owner: Owner, action: PruneAction, progress: ApplyProgress): Promise<EntryResult>;
}
