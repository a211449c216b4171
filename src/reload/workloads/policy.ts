/**
 * Which workload reload an SMC gets after a reconcile (`spec.hotReload.workloads`, docs/hot-reload.md):
 *
 * - `annotated` (default): the annotated workloads, through ./notifier.ts, after a sync that wrote;
 * - `auto`, provider `kubernetes`: the workloads that read a changed key, through ./auto.ts; the
 *   change-set is recorded in the SMC's status with the reconcile's own status write, and the first
 *   reconcile of each SMC in this process resumes it (a fan-out a killed controller left unfinished);
 * - `auto` with another provider: as `annotated` (pods cannot read a cloud store's values directly);
 * - `off`: nothing.
 *
 * The controller calls `changeSetOf` before its status write and `afterReconcile` after it.
 */
import { type ChangeSet, changedSecretKeys, makeChangeSet } from './change-set.js';
import type { AutoReloader } from './auto.js';
import { type SmcRef, type WorkloadNotifier, contentDigest, shouldNotify } from './notifier.js';
import type { EntryOutcome } from '../../sync.js';

export type WorkloadReloadMode = 'auto' | 'annotated' | 'off';

/** `status.hotReload.changeSet` (names only). */
export interface ChangeSetStatus {
  id: string;
  revision?: string;
  secret: string;
  keys: string[];
  at: string;
}

/** The parts of a reconcile outcome the policy reads. */
export interface ReconcileFacts {
  writes: number;
  revision?: string;
  changes: readonly Pick<EntryOutcome, 'store' | 'storeName' | 'action' | 'result'>[];
  status: {
    entries?: readonly { key?: string; storeName?: string; kind?: string; version?: string }[];
    hotReload?: { changeSet?: ChangeSetStatus };
  };
}

interface SpecFacts {
  hotReload?: { workloads?: WorkloadReloadMode };
  provider?: { kubernetes?: { secretName?: string } };
}

export function reloadMode(spec: unknown): WorkloadReloadMode {
  return (spec as SpecFacts | undefined)?.hotReload?.workloads ?? 'annotated';
}

/** The Kubernetes Secret the SMC writes (provider `kubernetes`), else undefined. */
export function writtenSecret(smc: SmcRef, spec: unknown): string | undefined {
  const k = (spec as SpecFacts | undefined)?.provider?.kubernetes;
  return k ? (k.secretName ?? smc.name) : undefined;
}

export function changeSetStatus(cs: ChangeSet): ChangeSetStatus {
  return {
    id: cs.id,
    ...(cs.revision !== undefined ? { revision: cs.revision } : {}),
    secret: cs.secret,
    keys: cs.keys,
    at: cs.at,
  };
}

export class WorkloadReloadPolicy {
  /** Per SMC (uid): the last change-set this process handed to the auto reloader. */
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly o: {
      annotated: WorkloadNotifier;
      auto: AutoReloader;
      now?: () => Date;
      log?: (fields: Record<string, unknown>, msg: string) => void;
      /** An SMC is gone (its status lines can be forgotten). */
      onForget?: (smc: SmcRef) => void;
    },
  ) {}

  /** In `auto` mode, the change-set a sync made, to record with the reconcile's status write. */
  changeSetOf(smc: SmcRef, spec: unknown, outcome: ReconcileFacts): ChangeSet | undefined {
    if (reloadMode(spec) !== 'auto' || !shouldNotify(outcome)) return undefined;
    const secret = writtenSecret(smc, spec);
    if (!secret) return undefined;
    const keys = changedSecretKeys(outcome.changes);
    if (keys.length === 0) return undefined;
    return makeChangeSet(smc, outcome.revision, secret, keys, this.o.now?.() ?? new Date());
  }

  /** After the status write: reload the workloads the mode selects. `changeSet`: `changeSetOf`'s. */
  async afterReconcile(
    smc: SmcRef,
    spec: unknown,
    outcome: ReconcileFacts,
    changeSet: ChangeSet | undefined,
  ): Promise<void> {
    const mode = reloadMode(spec);
    if (mode === 'off') return;
    const secret = writtenSecret(smc, spec);
    if (mode === 'auto' && secret) {
      const saved = outcome.status.hotReload?.changeSet;
      const cs =
        changeSet ??
        (saved && saved.secret === secret
          ? {
              id: saved.id,
              smc,
              revision: saved.revision,
              secret: saved.secret,
              keys: saved.keys,
              at: saved.at,
            }
          : undefined);
      if (!cs) return;
      const who = smc.uid ?? `${smc.namespace}/${smc.name}`;
      if (this.seen.get(who) === cs.id) return;
      this.seen.set(who, cs.id);
      if (!changeSet) this.o.log?.({ changeSet: cs.id }, 'resuming the last change-set of workload reload');
      await this.o.auto.changed(cs);
      return;
    }
    if (shouldNotify(outcome))
      await this.o.annotated.notify(smc, contentDigest(outcome.revision, outcome.status.entries));
  }

  /** An SMC is gone: forget what was resumed for it. */
  forget(smc: SmcRef): void {
    this.seen.delete(smc.uid ?? `${smc.namespace}/${smc.name}`);
    this.o.onForget?.(smc);
  }

  async stop(): Promise<void> {
    await this.o.auto.stop();
    await this.o.annotated.stop();
  }
}
