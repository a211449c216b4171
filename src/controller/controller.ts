/**
 * The controller (docs/architecture.md, "The controller"): wires the watches, the Flux and Argo CD
 * sources, the work queue, the SOPS keys, the stores and the report together, and runs one
 * reconcile per queue key (one at a time per object, bounded overall) in stages: snapshot,
 * lifecycle (finalizer), reconcile, status write, report. Each stage's work lives in its own file:
 * `watches.ts`, `sources/`, `finalizer.ts`, `reconcile.ts` (observed by `traced-reconcile.ts`),
 * `status-writer.ts`, `report.ts`; what it remembers per SMC is `smc-memory.ts`.
 */
import { join } from 'node:path';
import { hostname, tmpdir } from 'node:os';
import { CustomObjectsApi, type KubeConfig } from '../kube/client-node.js';
import type { LoggingArea } from '../api/index.js';
import type { Logger, SmcLogger } from '../observability/logger.js';
import type { ControllerMetrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import {
  type ChangeSet,
  type WorkloadReloadPolicy,
  changeSetStatus,
  createWorkloadReload,
} from '../reload/workloads/index.js';
import { kmsRuntime } from '../sops/kms/index.js';
import { FinalizerWriter, handleLifecycle } from './finalizer.js';
import { Notifier } from './notifications/index.js';
import type { ReconcileOutcome, SmcObject } from './reconcile.js';
import { PROGRESS_DELAY_MS } from './progress.js';
import { ReconcileReporter } from './report.js';
import { EventRecorder } from './runtime/events.js';
import { WorkQueue } from './runtime/queue.js';
import type { Settings } from './settings.js';
import { SmcMemory, type WrittenStatus } from './smc-memory.js';
import type { SmcResource, SmcView } from './smc-view.js';
import { ArgoSources } from './sources/argo.js';
import { FluxSources } from './sources/flux.js';
import { StatusWriter } from './status-writer.js';
import { type TracedReconcile, tracedReconcile } from './traced-reconcile.js';
import { Watches } from './watches.js';
import { ReconcileWorlds, type WorldSubject } from './world.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  settings: Settings;
  logger: Logger;
  metrics: ControllerMetrics;
  /** Namespace the controller runs in (default `sops-keys`, leases). */
  controllerNamespace: string;
  /** Artifact cache; default a directory under the OS temp dir. */
  cacheDir?: string;
  /** This replica's name on Events (`reportingInstance`); default the host name. */
  instance?: string;
}

/** Marks a reconcile whose status was written but which must be retried with backoff. */
class RetryLater extends Error {
  constructor(readonly reason: string) {
    super(`reconcile failed (${reason}); retrying with backoff`);
    this.name = 'RetryLater';
  }
}

/** One queue key's SMC as a reconcile starts. */
interface Snapshot extends WorldSubject {
  key: string;
  namespace: string;
  name: string;
  uid: string | undefined;
  /** The informer's object (`smc` is it with the freshest status: ours when we wrote last). */
  cached: SmcResource;
  /** What this process last wrote for this very object (same uid). */
  written: WrittenStatus | undefined;
  /** Run the whole pipeline (a Secret it reads changed). */
  force: boolean;
}

export class Controller {
  private readonly memory = new SmcMemory();
  private readonly watches: Watches;
  private readonly flux: FluxSources;
  private readonly argo: ArgoSources;
  private readonly queue: WorkQueue<string>;
  private readonly custom: CustomObjectsApi;
  /** The source, SOPS keys and stores each reconcile sees. */
  private readonly worlds: ReconcileWorlds;
  private readonly events: EventRecorder;
  /** Workload reload (docs/hot-reload.md): restarts or notifies workloads after a sync that changed values. */
  private readonly workloads: WorkloadReloadPolicy;
  /** Drift and failure notifications (Flux Provider, Argo CD Application annotations). */
  private readonly notifier: Notifier;
  private readonly statusWriter: StatusWriter;
  private readonly reporter: ReconcileReporter;
  private started = false;
  /** Settings hot reload (docs/hot-reload.md): told of every SMC change. */
  private smcsChanged: ((smcs: readonly SmcResource[]) => void) | undefined;
  /** An announcement to `smcsChanged` is scheduled (`announceSmcs`). */
  private smcsAnnouncing = false;
  /** Reconcile tracing (src/observability/tracing.ts); none until `useTracing`. */
  private tracing: Tracing | undefined;

  constructor(private readonly o: ControllerOptions) {
    const settings = () => this.o.settings;
    this.custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    // Requests to SOPS key services (process-wide: every SMC's keyring shares the cache and limits).
    kmsRuntime().onCall = (call) =>
      o.metrics.sopsKmsCalls.inc({ service: call.service, result: call.result });
    this.events = new EventRecorder(o.kubeConfig, o.logger, o.instance ?? hostname());
    this.workloads = createWorkloadReload({
      ...o,
      events: this.events,
      settings,
      syncing: (cs) => this.watches.revisionSyncing(cs.smc, cs.revision),
    });
    this.notifier = new Notifier({ ...o, events: this.events, settings });
    const cacheDir = o.cacheDir ?? join(tmpdir(), 'secret-manager-controller', 'artifacts');
    this.statusWriter = new StatusWriter(this.custom);
    this.reporter = new ReconcileReporter({
      metrics: o.metrics,
      events: this.events,
      notifier: this.notifier,
      workloads: this.workloads,
      memory: this.memory,
    });
    this.queue = new WorkQueue<string>({
      handler: (key) => this.run(key),
      concurrency: o.settings.max_concurrent_reconciles,
      backoff: { baseMs: o.settings.backoff_base_ms, maxMs: o.settings.backoff_max_ms },
      onDepth: (d) => o.metrics.queueDepth.set(d),
      onError: (key, error, retryInMs) => {
        const reason = error instanceof RetryLater ? error.reason : (error as Error)?.name;
        this.keyLog(key, 'reconciliation').warn({ reason, retryInMs }, 'reconcile will be retried');
      },
    });
    this.watches = new Watches({
      kubeConfig: o.kubeConfig,
      logger: o.logger,
      settings,
      controllerNamespace: o.controllerNamespace,
      queue: this.queue,
      memory: this.memory,
      log: (smc, view) => this.smcLog(smc, view),
      gone: (smc, view, deleted) => this.forget(smc, view, deleted),
      sourceChanged: (old, view) => this.flux.release(view, () => this.smcLog(old, view)),
      changed: () => this.announceSmcs(),
      secretChanged: (namespace, name) => this.worlds.forgetKeySecret(namespace, name),
      fluxRevision: (view) => this.flux.sourceOf(view)?.status?.artifact?.revision,
    });
    const sources = { kubeConfig: o.kubeConfig, logger: o.logger, metrics: o.metrics, events: this.events };
    this.flux = new FluxSources({
      ...sources,
      custom: this.custom,
      namespaces: () => this.o.settings.watch_namespaces,
      cacheDir,
      onEvent: (kind, obj, old) => this.watches.onFluxSourceEvent(kind, obj, old),
    });
    this.argo = new ArgoSources({
      ...sources,
      memory: this.memory,
      settings,
      controllerNamespace: o.controllerNamespace,
      cacheDir,
      onEvent: (obj, old) => this.watches.onApplicationEvent(obj, old),
    });
    this.worlds = new ReconcileWorlds({
      kubeConfig: o.kubeConfig,
      metrics: o.metrics,
      controllerNamespace: o.controllerNamespace,
      settings,
      flux: this.flux,
      argo: this.argo,
      observeSecret: (namespace, name, rv) => this.watches.observeSecret(namespace, name, rv),
    });
  }

  /** Start watching and reconciling. */
  async start(): Promise<void> {
    this.started = true;
    // Sources first: an SMC reconciled before its source is in the cache would report it missing.
    await Promise.all([this.flux.start(), this.argo.start()]);
    await this.watches.smcs.start();
    this.watches.startSecrets();
  }

  /**
   * Settings hot reload (docs/hot-reload.md): `listener` gets every SMC of this replica's shard in the watched
   * namespaces after each change.
   */
  onSmcsChanged(listener: (smcs: readonly SmcObject[]) => void): void {
    this.smcsChanged = listener;
    listener(this.watches.shardSmcs());
  }

  /**
   * Tell the settings reloader the shard's SMCs, once per turn of the event loop however many SMC
   * events arrived in it: a watch delivers a fleet's creations in batches, and announcing all N SMCs
   * per event made a fleet's creation O(N²) (2–3 s of CPU at N = 1000, docs/performance.md).
   */
  private announceSmcs(): void {
    if (!this.smcsChanged || this.smcsAnnouncing) return;
    this.smcsAnnouncing = true;
    setImmediate(() => {
      this.smcsAnnouncing = false;
      this.smcsChanged?.(this.watches.shardSmcs());
    });
  }

  /** Settings hot reload: run with `next` from now on (the reconcile reads `this.o.settings` each time). */
  applySettings(next: Settings): void {
    this.o.settings = next;
    this.queue.setConcurrency(next.max_concurrent_reconciles);
    this.queue.setBackoff({ baseMs: next.backoff_base_ms, maxMs: next.backoff_max_ms });
  }

  /** Trace reconciles with `tracing` (it decides, per SMC and live, whether and where spans go). */
  useTracing(tracing: Tracing): void {
    this.tracing = tracing;
  }

  /** Caches synced (for `/readyz`). */
  get synced(): boolean {
    return this.watches.smcs.synced && this.flux.synced && this.argo.synced;
  }

  /** Stop watching; give in-flight reconciles `drainMs` to finish. */
  async stop(drainMs = 10_000): Promise<void> {
    this.started = false;
    this.watches.stopSecrets();
    await Promise.all([this.watches.smcs.stop(), this.argo.stop(), this.flux.stop()]);
    const r = await this.queue.shutdown({ drainMs });
    await this.workloads.stop();
    this.worlds.close();
    if (r.abandoned.length)
      this.o.logger.warn({ abandoned: r.abandoned }, 'reconciles abandoned at shutdown');
  }

  /** Wait for queued notifications (at shutdown, after `stop`). */
  async notificationsIdle(): Promise<void> {
    await this.notifier.idle();
  }

  /**
   * An SMC was deleted (`deleted`) or left this shard: forget what this process keeps of it; when
   * deleted also its notices and Git checkouts, and resume a Flux source it suspended.
   */
  private forget(smc: SmcResource, view: SmcView, deleted: boolean): void {
    const { namespace, name } = smc.metadata;
    this.queue.remove(view.key);
    this.o.metrics.secretsManaged.remove({ namespace, name });
    if (deleted) {
      this.notifier.forget(namespace, name);
      this.workloads.forget(smc.metadata);
      this.argo.forget(smc.metadata);
      this.worlds.forget(smc);
      this.flux.release(view, () => this.smcLog(smc, view));
    }
    this.memory.forget(view.key);
  }

  // -------------------------------------------------------------------------------------------
  // One reconcile, in stages

  private async run(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    if (!this.started) return undefined;
    // Until every cache has its first list, a missing source may just not be listed yet.
    if (!this.synced) return { requeueAfterMs: 200 };
    const s = this.snapshot(key);
    if (!s) return undefined;
    if ((await this.lifecycle(s)) === 'done') return undefined;
    const { outcome, failedIn, onServer } = await this.reconcile(s);
    const changeSet = await this.recordStatus(s, outcome, onServer);
    await this.reporter.report({
      target: { namespace: s.namespace, name: s.name, uid: s.uid },
      spec: s.cached.spec,
      outcome,
      changeSet,
      log: s.log,
      failedIn,
    });
    if (outcome.retry) throw new RetryLater(outcome.error?.reason ?? 'Error');
    return { requeueAfterMs: outcome.requeueAfterMs };
  }

  /** The SMC behind `key` as the cache holds it (undefined when it is gone), and what we remember of it. */
  private snapshot(key: string): Snapshot | undefined {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.watches.smcs.get(namespace, name);
    if (!cached) return undefined;
    const view = this.watches.views.of(cached);
    const uid = cached.metadata.uid;
    const mine = this.memory.peek(key)?.written;
    const written = mine && mine.uid === uid ? mine : undefined;
    return {
      key,
      namespace,
      name,
      uid,
      cached,
      view,
      smc: { metadata: cached.metadata, spec: cached.spec, status: written ? written.status : cached.status },
      written,
      force: this.memory.takeForced(key),
      log: this.smcLog(cached, view),
    };
  }

  /** Finalizer (src/controller/finalizer.ts): kept as deletionPolicy needs it; deletion applies the policy. */
  private lifecycle(s: Snapshot): Promise<'done' | 'continue'> {
    const { namespace, name, uid, smc } = s;
    return handleLifecycle(s.cached, {
      writer: new FinalizerWriter(this.custom),
      openStores: (sp) => this.worlds.openStores(s, sp),
      recordEvent: (e) => this.events.record({ namespace, name, uid }, e),
      writeStatus: (st) => this.statusWriter.write(namespace, name, smc.status, st),
      previousStatus: smc.status,
      generation: s.cached.metadata.generation,
      log: s.log.area('reconciliation'),
    });
  }

  /**
   * The reconcile itself, traced and timed. `onServer`: what the status subresource holds — the
   * status before, then the in-progress one (`Pending`, `Syncing`) once written; the final write
   * nulls keys relative to it.
   */
  private async reconcile(s: Snapshot): Promise<TracedReconcile & { onServer: SmcObject['status'] }> {
    const end = this.o.metrics.reconciliationDuration.startTimer();
    let onServer = s.smc.status;
    try {
      const traced = await tracedReconcile(
        s.smc,
        {
          ...this.worlds.of(s),
          force: s.force,
          ...(s.written?.revision !== undefined ? { lastAttemptedRevision: s.written.revision } : {}),
          progressDelayMs: PROGRESS_DELAY_MS,
          progress: async (st) => {
            await this.statusWriter.write(s.namespace, s.name, onServer, st);
            onServer = st;
          },
        },
        { tracer: this.tracing?.tracerFor(s.view.otel), metrics: this.o.metrics, log: s.log },
      );
      return { ...traced, onServer };
    } finally {
      end();
    }
  }

  /** Write the reconcile's status once, with workload reload's change-set, and remember it. */
  private async recordStatus(
    s: Snapshot,
    outcome: ReconcileOutcome,
    onServer: SmcObject['status'],
  ): Promise<ChangeSet | undefined> {
    // Workload reload, `auto` mode: the change-set is recorded with this status write (a successor resumes it).
    const changeSet = this.workloads.changeSetOf(
      { namespace: s.namespace, name: s.name, uid: s.uid },
      s.cached.spec,
      outcome,
    );
    if (changeSet)
      outcome.status.hotReload = { ...outcome.status.hotReload, changeSet: changeSetStatus(changeSet) };
    await this.statusWriter.write(s.namespace, s.name, onServer, outcome.status);
    this.memory.of(s.key).written = {
      uid: s.uid,
      status: outcome.status,
      ...(outcome.revision !== undefined ? { revision: outcome.revision } : {}),
    };
    return changeSet;
  }

  /** The loggers of one SMC, at the levels its `spec.logging` sets per area. */
  private smcLog(smc: SmcResource, view: SmcView): SmcLogger {
    return this.memory.log(this.o.logger, smc.metadata, view.logging);
  }

  /** An area logger for a queue key (the SMC's own when it is in the cache, else the controller's). */
  private keyLog(key: string, area: LoggingArea): Logger {
    const [namespace = '', name = ''] = key.split('/');
    const smc = this.watches.smcs.get(namespace, name);
    return smc
      ? this.smcLog(smc, this.watches.views.of(smc)).area(area)
      : this.o.logger.child({ smc: key, area });
  }
}
