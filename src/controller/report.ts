/**
 * The report after a reconcile, once its status is written (docs/architecture.md, "The
 * controller", Report): metrics, drift findings, Events, Flux Provider and Argo CD notifications,
 * workload reload, and the reconcile's closing log line. All of it value-free: names, counts,
 * error codes and the reconcile's value-free messages (docs/architecture.md, Invariants).
 */
import type { LoggingArea } from '../api/index.js';
import { type SmcLogger, areaOfReason } from '../observability/logger.js';
import type { ControllerMetrics } from '../observability/metrics.js';
import type { ChangeSet, WorkloadReloadPolicy } from '../reload/workloads/index.js';
import { reportDrift } from './drift.js';
import type { Notifier } from './notifications/index.js';
import type { ReconcileOutcome } from './reconcile.js';
import type { EventRecorder, EventTarget } from './runtime/events.js';
import type { SmcMemory } from './smc-memory.js';

/** One finished reconcile, as the report needs it. */
export interface FinishedReconcile {
  target: EventTarget;
  /** The SMC's spec as the informer holds it. */
  spec: unknown;
  outcome: ReconcileOutcome;
  /** Workload reload's change-set (`auto` mode), recorded with the status. */
  changeSet: ChangeSet | undefined;
  log: SmcLogger;
  /** The area of the step the reconcile failed in, when it failed in one. */
  failedIn: LoggingArea | undefined;
}

export interface ReconcileReporterOptions {
  metrics: ControllerMetrics;
  events: EventRecorder;
  notifier: Notifier;
  workloads: WorkloadReloadPolicy;
  memory: SmcMemory;
}

export class ReconcileReporter {
  constructor(private readonly o: ReconcileReporterOptions) {}

  async report(r: FinishedReconcile): Promise<void> {
    this.count(r);
    await this.recordEvents(r);
    this.notify(r);
    this.logResult(r);
  }

  /** Reconciliations, managed/published/skipped entries, and the sync latency of a new revision. */
  private count({ target: { namespace, name }, outcome }: FinishedReconcile): void {
    const { metrics } = this.o;
    metrics.reconciliations.inc({ result: outcome.result });
    if (outcome.status.secretsCount !== undefined) {
      metrics.secretsManaged.set({ namespace, name }, outcome.status.secretsCount);
    }
    for (const [provider, n] of Object.entries(outcome.published))
      metrics.secretsPublished.inc({ provider }, n);
    for (const [provider, n] of Object.entries(outcome.skipped))
      metrics.secretsSkipped.inc({ provider, reason: 'conflict' }, n);
    const record = this.o.memory.peek(`${namespace}/${name}`);
    const seen = record?.revisionSeen;
    if (outcome.writes > 0 && seen && seen.revision === outcome.revision) {
      metrics.syncLatency.observe((Date.now() - seen.at) / 1000);
      delete record.revisionSeen;
    }
  }

  /** Drift findings, then a Warning for a failure or a Normal `Synced` for a sync that wrote. */
  private async recordEvents({ target, outcome, log }: FinishedReconcile): Promise<void> {
    const { events, metrics } = this.o;
    await reportDrift(outcome.drift, {
      event: (e) => events.record(target, e),
      count: (provider, n) => metrics.secretsDiffDetected.inc({ provider }, n),
      log: log.area('diffDiscovery'),
    });
    if (outcome.error) {
      await events.record(target, {
        type: 'Warning',
        reason: outcome.error.reason,
        message: outcome.error.message,
      });
    } else if (outcome.result === 'success') {
      events.forget(target);
      if (outcome.writes > 0) {
        await events.record(target, {
          type: 'Normal',
          reason: 'Synced',
          message: `${outcome.writes} store write(s) for revision ${outcome.revision ?? 'unknown'}: ${outcome.status.description ?? ''}`,
        });
      }
    }
  }

  /** Flux Provider / Argo CD notifications (src/controller/notifications/) and workload reload, in the background. */
  private notify({ target, spec, outcome, changeSet, log }: FinishedReconcile): void {
    void this.o.notifier.notify({ ...target, spec }, outcome);
    void this.o.workloads
      .afterReconcile(target, spec, outcome, changeSet)
      .catch((e: unknown) =>
        log.area('reconciliation').warn({ err: String(e) }, 'workload notification failed'),
      );
  }

  /** The closing line: a failure in the area it failed in, else `synced` or `nothing to do`. */
  private logResult({ outcome, log, failedIn }: FinishedReconcile): void {
    if (outcome.error) {
      log
        .area(failedIn ?? areaOfReason(outcome.error.reason))
        .warn(
          { reason: outcome.error.reason, message: outcome.error.message, revision: outcome.revision },
          'reconcile failed',
        );
    } else if (outcome.result === 'success') {
      log.area('reconciliation').info({ revision: outcome.revision, writes: outcome.writes }, 'synced');
    } else {
      log.area('reconciliation').debug({ result: outcome.result }, 'nothing to do');
    }
  }
}
