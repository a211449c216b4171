/**
 * What this process remembers of each SMC between reconciles: one record per SMC (`namespace/name`),
 * and its loggers, all dropped by one `forget` when the SMC is deleted or leaves this replica's
 * shard. In memory only: after a restart every SMC starts afresh, and what must survive is in its
 * status on the server (docs/architecture.md, "The controller").
 */
import type { SecretManagerConfigStatus } from '../api/index.js';
import { type Logger, type SmcLogger, SmcLoggerCache } from '../observability/logger.js';
import type { PullRecord } from './sources/git-pulls.js';

/** The status this process last wrote, with the revision that reconcile attempted. */
export interface WrittenStatus {
  /** The SMC's uid then: a status written for an earlier object of that name does not count. */
  uid: string | undefined;
  status: SecretManagerConfigStatus;
  /** A retry of this revision is not announced as `Syncing`. */
  revision?: string;
}

export interface SmcRecord {
  /** Fresher than the watch cache, which may not have seen our own write yet. */
  written?: WrittenStatus;
  /** When the SMC first saw the source revision it has yet to sync (`sync_latency_seconds`). */
  revisionSeen?: { revision: string; at: number };
  /** A Secret it reads changed: its next reconcile runs the whole pipeline. */
  forced?: boolean;
  /** `gitRepositoryPullInterval` (Argo CD sources): the last `git ls-remote`. */
  lastPull?: PullRecord;
  /** Its periodic Git pulls were announced as suspended (an Event on each change). */
  pullsSuspended?: boolean;
}

export class SmcMemory {
  private readonly records = new Map<string, SmcRecord>();
  /** Each SMC's loggers, per `spec.logging` area (rebuilt when the spec or the root level changes). */
  private readonly loggers = new SmcLoggerCache();

  /** The record of `key`, created empty when there is none. */
  of(key: string): SmcRecord {
    let record = this.records.get(key);
    if (!record) {
      record = {};
      this.records.set(key, record);
    }
    return record;
  }

  /** The record of `key`, if there is one (never creates it). */
  peek(key: string): SmcRecord | undefined {
    return this.records.get(key);
  }

  /** The loggers of one SMC, at the levels its `spec.logging` sets per area. */
  log(root: Logger, smc: { namespace: string; name: string; uid?: string }, logging: unknown): SmcLogger {
    return this.loggers.get(root, smc, logging);
  }

  /** The SMC's source is at `revision`: the latency clock starts unless it already runs for it. */
  sawRevision(key: string, revision: string, at: number): void {
    const record = this.of(key);
    if (record.revisionSeen?.revision !== revision) record.revisionSeen = { revision, at };
  }

  /** A `git ls-remote` answered: remember it; a new revision starts the latency clock. */
  recordPull(key: string, pull: PullRecord): void {
    const record = this.of(key);
    const changed = record.lastPull?.revision !== pull.revision;
    record.lastPull = pull;
    if (changed) this.sawRevision(key, pull.revision, pull.at);
  }

  /** Its Application changed: the next reconcile asks the remote again. */
  forgetPull(key: string): void {
    delete this.records.get(key)?.lastPull;
  }

  /** Whether the next reconcile must run the whole pipeline; answers true once per `forced = true`. */
  takeForced(key: string): boolean {
    const record = this.records.get(key);
    if (!record?.forced) return false;
    delete record.forced;
    return true;
  }

  /** Forget everything about an SMC. */
  forget(key: string): void {
    this.records.delete(key);
    const [namespace = '', name = ''] = key.split('/');
    this.loggers.forget(namespace, name);
  }
}
