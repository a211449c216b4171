/**
 * The controller runtime: watches SecretManagerConfigs, Flux sources and Argo CD Applications, maps
 * events to work-queue keys, runs `reconcile` for each key (one at a time per object, bounded
 * overall), and writes the computed status once per reconcile through the status subresource.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname, tmpdir } from 'node:os';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION_NAME,
  KIND,
  LABELS,
  type LoggingArea,
  PLURAL,
  type SecretManagerConfigSpec,
  type SecretManagerConfigStatus,
} from '../api/index.js';
import {
  type Logger,
  type ReconcileSteps,
  type SmcLogger,
  SmcLoggerCache,
  areaOfReason,
  entryLoggingStore,
  logStep,
  stageLogHook,
} from '../observability/logger.js';
import { type ControllerMetrics, storeMetricsObserver } from '../observability/metrics.js';
import { type FluxArtifactRef, fetchFluxArtifact } from '../source/flux-artifact.js';
import { EventRecorder } from './events.js';
import {
  type WorkloadReloadPolicy,
  changeSetStatus,
  createWorkloadReload,
  reloadMode,
  writtenSecret,
} from '../reload/workloads/index.js';
import { type Collection, type ResourceType, watchCollection, watchSecretChanges } from './informers.js';
import { kmsRuntime } from '../sops/kms/index.js';
import { DEFAULT_SOPS_SECRET, SopsKeyLoader } from './keys.js';
import { WorkQueue } from './queue.js';
import { SmcError } from '../errors.js';
import { SecretPoller } from './secret-poll.js';
import {
  type ArgoWorld,
  type FluxSourceObject,
  type ReconcileOutcome,
  type ReconcileWorld,
  type SmcObject,
  type SmcStores,
  reconcile,
  requestedReconcile,
} from './reconcile.js';
import { type Settings } from './settings.js';
import { StoreFactory, credentialSecretsOf } from './stores.js';
import { FinalizerWriter, handleLifecycle, isDeleting } from './finalizer.js';
import { reportDrift } from './drift.js';
import { statusChanged } from './status.js';
import { PROGRESS_DELAY_MS } from './progress.js';
import { Notifier } from './notifications/index.js';
import { type OtelDestination, type Tracing, traceReconcile } from '../observability/tracing.js';
import { stageMetricsHook } from '../observability/stage-metrics.js';
import { withStageHook } from '../sync.js';
import { displayRepoURL, fetchArgoGit, lsRemoteRevision } from '../source/argo-git.js';
import {
  ARGO_APPLICATIONS,
  ARGO_GROUP,
  ARGO_VERSION,
  type ArgoApplicationObject,
  GitCredentialResolver,
  applicationFingerprint,
} from './argo-source.js';
import { discoverFluxSources, fluxSourceTypes } from './flux-versions.js';
import { type SuspendableSource, patchSuspend, suspendAction } from './flux-suspend.js';
import { GitPullTracker } from './git-pulls.js';

export const FLUX_SOURCE_GROUP = 'source.toolkit.fluxcd.io';

/**
 * A Git authentication failure with no credentials found: say where credentials come from (the
 * controller may not list Argo CD's repository Secrets unless granted, docs/security.md).
 */
function withoutCredentialsHint(e: unknown, credentials: unknown, appNamespace: string): unknown {
  if (credentials !== undefined || !(e instanceof SmcError) || e.code !== 'GitAuthFailed') return e;
  return new SmcError(
    e.code,
    `${e.message}; no Git credentials were found: name a Secret in spec.sourceRef.gitCredentials, or grant the controller list on Secrets in namespace ${appNamespace} to use Argo CD's repository Secrets (docs/security.md)`,
  );
}

const SMC_TYPE: ResourceType = { group: API_GROUP, version: API_VERSION_NAME, plural: PLURAL, kind: KIND };
const ARGO_APPLICATION_TYPE: ResourceType = {
  group: ARGO_GROUP,
  version: ARGO_VERSION,
  plural: ARGO_APPLICATIONS,
  kind: 'Application',
};

type SmcResource = KubernetesObject & SmcObject;
type FluxResource = KubernetesObject & FluxSourceObject & SuspendableSource;
type ApplicationResource = KubernetesObject & ArgoApplicationObject;

/** Same generation (spec) and shard label: what an update that changes only status keeps. */
function sameSpecAndShard(a: SmcResource, b: SmcResource): boolean {
  const shard = (o: SmcResource) => (o as KubernetesObject).metadata?.labels?.[LABELS.shardKey];
  return a.metadata.generation === b.metadata.generation && shard(a) === shard(b);
}

/** Which source an SMC references (kind, namespace, name). */
function sourceRefKey(smc: SmcResource): string {
  const ref = (smc.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } })?.sourceRef;
  return `${ref?.kind ?? 'GitRepository'}/${ref?.namespace ?? smc.metadata.namespace}/${ref?.name ?? ''}`;
}

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

export class Controller {
  private readonly smcs: Collection<SmcResource>;
  /** Flux sources per kind; created at start, once API discovery chose each kind's version. */
  private readonly sources = new Map<string, Collection<FluxResource>>();
  /** Argo CD Applications (optional: a missing CRD leaves the collection empty). */
  private readonly applications: Collection<ApplicationResource>;
  /** `gitRepositoryPullInterval`: each Argo SMC's last `git ls-remote`. */
  private readonly pulls = new GitPullTracker();
  /** Argo SMCs whose periodic pulls this process has announced as suspended (Events). */
  private readonly pullsSuspended = new Set<string>();
  private readonly gitCredentials: GitCredentialResolver;
  private readonly queue: WorkQueue<string>;
  private readonly custom: CustomObjectsApi;
  private readonly keys: SopsKeyLoader;
  /** Stores and their credentials (src/controller/stores.ts). */
  private storeFactory: StoreFactory | undefined;
  private readonly events: EventRecorder;
  /** Workload reload (docs/hot-reload.md): restarts or notifies workloads after a sync that changed values. */
  private readonly workloads: WorkloadReloadPolicy;
  private readonly cacheDir: string;
  /**
   * Status this process last wrote per SMC (uid-tagged): fresher than the watch cache; with the
   * revision that reconcile attempted (a retry of it is not announced as `Syncing`).
   */
  private readonly written = new Map<
    string,
    { uid: string | undefined; status: SecretManagerConfigStatus; revision?: string }
  >();
  /** When each SMC first saw a source revision (`sync_latency_seconds`). */
  private readonly revisionSeen = new Map<string, { revision: string; at: number }>();
  /** SMCs whose SOPS key Secret changed: their next reconcile runs the whole pipeline. */
  private readonly forced = new Set<string>();
  private secretWatch: { stop(): void } | undefined;
  /** Referenced Secrets outside the watch (tenant key and credentials Secrets): polled by metadata. */
  private secretPoll: SecretPoller | undefined;
  private started = false;
  /** Settings hot reload (docs/hot-reload.md): told of every SMC change. */
  private smcsChanged: ((smcs: readonly SmcResource[]) => void) | undefined;
  /** Each SMC's loggers, per `spec.logging` area (rebuilt when the spec or the root level changes). */
  private readonly smcLogs = new SmcLoggerCache();
  /** The area of the step a failed reconcile failed in (its "reconcile failed" line goes there). */
  private readonly failedIn = new Map<string, LoggingArea>();

  constructor(private readonly o: ControllerOptions) {
    const namespaces = o.settings.watch_namespaces;
    this.custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    this.keys = new SopsKeyLoader(
      o.kubeConfig.makeApiClient(CoreV1Api),
      {
        controllerNamespace: o.controllerNamespace,
        noCrossNamespaceRefs: o.settings.no_cross_namespace_refs,
        controllerKeyNamespaces: o.settings.controller_key_namespaces,
        workloadIdentityNamespaces: () => this.o.settings.sops_workload_identity_namespaces,
        keySecretCacheMs: () => this.o.settings.secret_poll_interval,
      },
      (namespace, name, rv) => this.secretPoll?.observe(namespace, name, rv),
      () => this.o.settings.max_key_file_bytes,
    );
    // Requests to SOPS key services (process-wide: every SMC's keyring shares the cache and limits).
    kmsRuntime().onCall = (call) =>
      o.metrics.sopsKmsCalls.inc({ service: call.service, result: call.result });
    this.events = new EventRecorder(o.kubeConfig, o.logger, o.instance ?? hostname());
    this.workloads = createWorkloadReload({
      ...o,
      events: this.events,
      settings: () => this.o.settings,
      syncing: (cs) => this.revisionSyncing(cs.smc, cs.revision),
    });
    this.notifier = new Notifier({ ...o, events: this.events, settings: () => this.o.settings });
    this.cacheDir = o.cacheDir ?? join(tmpdir(), 'secret-manager-controller', 'artifacts');
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
    this.smcs = watchCollection<SmcResource>({
      kubeConfig: o.kubeConfig,
      type: SMC_TYPE,
      namespaces,
      logger: o.logger,
      onEvent: (event, obj, old) => {
        this.onSmcEvent(event, obj, old);
        // Hot reload reads specs and shards only: a status write (most events) changes neither, and
        // handing it all N SMCs on each event made a fleet's sync O(N²) (docs/performance.md).
        if (event !== 'update' || !old || !sameSpecAndShard(old, obj)) this.smcsChanged?.(this.shardSmcs());
      },
    });
    // Sources may live outside the watched namespaces (the documented layout keeps them in
    // flux-system / argocd), so they are watched cluster-wide unless the settings restrict namespaces.
    this.applications = watchCollection<ApplicationResource>({
      kubeConfig: o.kubeConfig,
      type: ARGO_APPLICATION_TYPE,
      namespaces,
      logger: o.logger,
      optional: true,
      onEvent: (_event, obj, old) => this.onApplicationEvent(obj, old),
    });
    this.gitCredentials = new GitCredentialResolver(o.kubeConfig.makeApiClient(CoreV1Api), () => ({
      controllerNamespace: this.o.controllerNamespace,
      noCrossNamespaceRefs: this.o.settings.no_cross_namespace_refs,
      controllerKeyNamespaces: this.o.settings.controller_key_namespaces,
    }));
  }

  /** Watch the Flux sources, each kind at the version the API server serves (v1, else v1beta2). */
  private async startFluxSources(): Promise<void> {
    const served = await discoverFluxSources(this.o.kubeConfig, this.o.logger);
    if (!this.started) return;
    for (const type of fluxSourceTypes(served)) {
      if (this.sources.has(type.kind)) continue;
      if (type.version !== 'v1')
        this.o.logger.info({ kind: type.kind, version: type.version }, 'watching an older Flux source API');
      this.sources.set(
        type.kind,
        watchCollection<FluxResource>({
          kubeConfig: this.o.kubeConfig,
          type,
          namespaces: this.o.settings.watch_namespaces,
          logger: this.o.logger,
          optional: true,
          onEvent: (_event, obj, old) => this.onSourceEvent(type.kind, obj, old),
        }),
      );
    }
    await Promise.all([...this.sources.values()].map((s) => s.start()));
  }

  /** Start watching and reconciling. */
  async start(): Promise<void> {
    this.started = true;
    // Sources first: an SMC reconciled before its source is in the cache would report it missing.
    await Promise.all([this.startFluxSources(), this.applications.start()]);
    await this.smcs.start();
    // RBAC lets the controller watch one Secret only: the controller-wide key (docs/security.md).
    this.secretWatch = watchSecretChanges({
      kubeConfig: this.o.kubeConfig,
      namespace: this.o.controllerNamespace,
      name: DEFAULT_SOPS_SECRET,
      logger: this.o.logger,
      onChange: (namespace, name) => this.onSecretChange(namespace, name),
    });
    this.secretPoll = new SecretPoller({
      core: this.o.kubeConfig.makeApiClient(CoreV1Api),
      secrets: () => this.polledSecrets(),
      intervalMs: () => this.o.settings.secret_poll_interval,
      onChange: (namespace, name) => this.onSecretChange(namespace, name),
      logger: this.o.logger,
    });
    this.secretPoll.start();
  }

  /**
   * The Secrets this shard's SMCs reference that the watch does not cover, leaving out references
   * the settings refuse (they are never read, so their changes do not matter).
   */
  private *polledSecrets(): Generator<string> {
    const watched = `${this.o.controllerNamespace}/${DEFAULT_SOPS_SECRET}`;
    const noCross = this.o.settings.no_cross_namespace_refs;
    for (const smc of this.smcs.list()) {
      if (!this.inShard(smc)) continue;
      for (const s of [
        ...this.keySecretsOf(smc),
        ...credentialSecretsOf(smc),
        ...this.gitCredentialSecretsOf(smc),
      ]) {
        if (s === watched) continue;
        if (noCross && !s.startsWith(`${smc.metadata.namespace}/`)) continue;
        yield s;
      }
    }
  }

  /**
   * Settings hot reload (docs/hot-reload.md): `listener` gets every SMC of this replica's shard in the watched
   * namespaces after each change.
   */
  onSmcsChanged(listener: (smcs: readonly SmcObject[]) => void): void {
    this.smcsChanged = listener;
    listener(this.shardSmcs());
  }

  /** The SMCs of this replica's shard: another shard's SMCs do not turn hot reload on here. */
  private shardSmcs(): SmcResource[] {
    return this.smcs.list().filter((s) => this.inShard(s));
  }

  /** Settings hot reload: run with `next` from now on (the reconcile reads `this.o.settings` each time). */
  applySettings(next: Settings): void {
    this.o.settings = next;
    this.queue.setConcurrency(next.max_concurrent_reconciles);
    this.queue.setBackoff({ baseMs: next.backoff_base_ms, maxMs: next.backoff_max_ms });
  }

  /** Caches synced (for `/readyz`). */
  get synced(): boolean {
    return (
      this.smcs.synced &&
      this.sources.size > 0 &&
      [...this.sources.values()].every((s) => s.synced) &&
      this.applications.synced
    );
  }

  /** Stop watching; give in-flight reconciles `drainMs` to finish. */
  async stop(drainMs = 10_000): Promise<void> {
    this.started = false;
    this.secretWatch?.stop();
    this.secretPoll?.stop();
    await Promise.all([
      this.smcs.stop(),
      this.applications.stop(),
      ...[...this.sources.values()].map((s) => s.stop()),
    ]);
    const r = await this.queue.shutdown({ drainMs });
    await this.workloads.stop();
    if (r.abandoned.length)
      this.o.logger.warn({ abandoned: r.abandoned }, 'reconciles abandoned at shutdown');
  }

  // -------------------------------------------------------------------------------------------
  // Events → keys

  private inShard(obj: SmcResource): boolean {
    const shard = (obj as KubernetesObject).metadata?.labels?.[LABELS.shardKey] ?? '';
    return shard === this.o.settings.shard_key;
  }

  private onSmcEvent(
    event: 'add' | 'update' | 'delete',
    obj: SmcResource,
    old: SmcResource | undefined,
  ): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (event === 'delete' || !this.inShard(obj)) {
      this.queue.remove(key);
      this.written.delete(key);
      this.revisionSeen.delete(key);
      this.o.metrics.secretsManaged.remove({ namespace: obj.metadata.namespace, name: obj.metadata.name });
      if (event === 'delete') this.onSmcDeleted(obj);
      this.smcLogs.forget(obj.metadata.namespace, obj.metadata.name);
      this.failedIn.delete(key);
      return;
    }
    if (old && sourceRefKey(old) !== sourceRefKey(obj)) this.releaseFluxSuspend(old);
    if (
      event === 'add' ||
      !old ||
      old.metadata.generation !== obj.metadata.generation ||
      isDeleting(old) !== isDeleting(obj) ||
      requestedReconcile(old.metadata.annotations) !== requestedReconcile(obj.metadata.annotations) ||
      (old as KubernetesObject).metadata?.labels?.[LABELS.shardKey] !==
        (obj as KubernetesObject).metadata?.labels?.[LABELS.shardKey]
    ) {
      this.queue.add(key);
    }
    // A status-only update (our own write) triggers nothing.
  }

  private onSourceEvent(kind: string, obj: FluxResource, old: FluxResource | undefined): void {
    const rev = (o: FluxResource | undefined) =>
      `${o?.status?.artifact?.revision ?? ''}|${o?.status?.artifact?.digest ?? ''}|${
        o?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? ''
      }`;
    if (old && rev(old) === rev(obj)) return;
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    const now = Date.now();
    for (const smc of this.smcs.list()) {
      const ref = (smc.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } })
        ?.sourceRef;
      if (!ref || (ref.kind ?? 'GitRepository') !== kind || ref.name !== name) continue;
      if ((ref.namespace ?? smc.metadata.namespace) !== ns) continue;
      if (!this.inShard(smc)) continue;
      const key = `${smc.metadata.namespace}/${smc.metadata.name}`;
      const revision = obj.status?.artifact?.revision;
      if (revision && this.revisionSeen.get(key)?.revision !== revision) {
        this.revisionSeen.set(key, { revision, at: now });
      }
      this.queue.add(key, `${kind} ${ns}/${name}`); // the source's fair lane (src/controller/queue.ts)
    }
  }

  /**
   * Workload reload (docs/hot-reload.md): whether another `auto` SMC of `smc`'s namespace, on the same
   * Flux source still at `revision`, has yet to finish a reconcile of it (restarts then wait for it).
   */
  private revisionSyncing(smc: { namespace: string; name: string }, revision: string | undefined): boolean {
    const self = this.smcs.get(smc.namespace, smc.name);
    if (!self || revision === undefined) return false;
    const ref = (self.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } })
      ?.sourceRef;
    const current = this.sources
      .get(ref?.kind ?? 'GitRepository')
      ?.get(ref?.namespace ?? smc.namespace, ref?.name ?? '')?.status?.artifact?.revision;
    if (current !== revision) return false; // moved on (or not a Flux source): nothing more comes for it
    const source = sourceRefKey(self);
    return this.smcs.list().some((o) => {
      const { namespace, name } = o.metadata;
      if (namespace !== smc.namespace || name === smc.name || !this.inShard(o) || sourceRefKey(o) !== source)
        return false;
      if (reloadMode(o.spec) !== 'auto' || writtenSecret(o.metadata, o.spec) === undefined) return false;
      const attempted = this.written.get(`${namespace}/${name}`)?.revision ?? o.status?.lastSyncedRevision;
      return attempted !== revision;
    });
  }

  /** An SMC is gone: forget its pulls, notices and Git cache, resume a Flux source it suspended. */
  private onSmcDeleted(smc: SmcResource): void {
    const { namespace, name } = smc.metadata;
    this.pulls.forget(`${namespace}/${name}`);
    this.notifier.forget(namespace, name);
    this.workloads.forget(smc.metadata);
    this.pullsSuspended.delete(`${namespace}/${name}`);
    void rm(join(this.cacheDir, 'git', namespace, name), { recursive: true, force: true }).catch(
      () => undefined,
    );
    this.releaseFluxSuspend(smc);
  }

  /** Resume the Flux source `smc` references when this SMC suspended it (suspendGitPulls). */
  private releaseFluxSuspend(smc: SmcResource): void {
    const ref = (smc.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } })?.sourceRef;
    const collection = this.sources.get(ref?.kind ?? 'GitRepository');
    if (!ref?.name || !collection) return;
    const ns = ref.namespace ?? smc.metadata.namespace;
    const source = collection.get(ns, ref.name);
    const owner = `${smc.metadata.namespace}/${smc.metadata.name}`;
    if (!source || suspendAction(source, false, owner) !== 'resume') return;
    const shown = `${collection.type.kind} ${ns}/${ref.name}`;
    const log = this.smcLog(smc).area('git');
    patchSuspend(this.custom, collection.type, ns, ref.name, 'resume', owner).then(
      () => log.info({ source: shown }, 'Git pulls resumed: the SMC no longer uses the source'),
      (e: unknown) =>
        log.warn({ source: shown, code: (e as { code?: number }).code }, 'cannot resume the source'),
    );
  }

  /** An Application's source or synced revision changed: its SMCs pull and reconcile at once. */
  private onApplicationEvent(obj: ApplicationResource, old: ApplicationResource | undefined): void {
    if (old && applicationFingerprint(old) === applicationFingerprint(obj)) return;
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    for (const smc of this.smcs.list()) {
      const ref = (smc.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } })
        ?.sourceRef;
      if (!ref || ref.kind !== 'Application' || ref.name !== name) continue;
      if ((ref.namespace ?? smc.metadata.namespace) !== ns) continue;
      if (!this.inShard(smc)) continue;
      const key = `${smc.metadata.namespace}/${smc.metadata.name}`;
      this.pulls.forget(key);
      this.queue.add(key, `Application ${ns}/${name}`);
    }
  }

  /** `namespace/name` of an Argo SMC's `sourceRef.gitCredentials` Secret (none otherwise). */
  private gitCredentialSecretsOf(smc: SmcResource): string[] {
    const ref = (smc.spec as { sourceRef?: { gitCredentials?: { name?: string; namespace?: string } } })
      ?.sourceRef?.gitCredentials;
    return typeof ref?.name === 'string' ? [`${ref.namespace ?? smc.metadata.namespace}/${ref.name}`] : [];
  }

  /** `namespace/name` of the Secrets an SMC takes its SOPS keys from. */
  private keySecretsOf(smc: SmcResource): string[] {
    const sops = (
      smc.spec as {
        secrets?: {
          sops?: {
            ageSecretRef?: { name: string; namespace?: string };
            gpgSecretRef?: { name: string; namespace?: string };
          };
        };
      }
    )?.secrets?.sops;
    const refs = [sops?.ageSecretRef, sops?.gpgSecretRef].filter((r) => r !== undefined);
    if (refs.length === 0) return [`${this.o.controllerNamespace}/${DEFAULT_SOPS_SECRET}`];
    return refs.map((r) => `${r.namespace ?? smc.metadata.namespace}/${r.name}`);
  }

  private onSecretChange(namespace: string, name: string): void {
    const secret = `${namespace}/${name}`;
    this.keys.forget(namespace, name); // a SOPS key Secret read earlier is read again
    for (const smc of this.smcs.list()) {
      if (
        !this.inShard(smc) ||
        ![
          ...this.keySecretsOf(smc),
          ...credentialSecretsOf(smc),
          ...this.gitCredentialSecretsOf(smc),
        ].includes(secret)
      )
        continue;
      const key = `${smc.metadata.namespace}/${smc.metadata.name}`;
      const area: LoggingArea = this.keySecretsOf(smc).includes(secret)
        ? 'sops'
        : this.gitCredentialSecretsOf(smc).includes(secret)
          ? 'git'
          : 'provider';
      const what = area === 'sops' ? 'SOPS key' : area === 'git' ? 'Git credentials' : 'store credentials';
      this.smcLog(smc).area(area).info({ secret }, `${what} Secret changed: reconciling`);
      this.forced.add(key);
      this.queue.add(key, `Secret ${secret}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // One reconcile

  private async run(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    if (!this.started) return undefined;
    // Until every cache has its first list, a missing source may just not be listed yet.
    if (!this.synced) return { requeueAfterMs: 200 };
    const cached = this.smcs.get(namespace, name);
    if (!cached) return undefined;
    const uid = cached.metadata.uid;
    const mine = this.written.get(key);
    const smc: SmcObject = {
      metadata: cached.metadata,
      spec: cached.spec,
      status: mine && mine.uid === uid ? mine.status : cached.status,
    };
    const force = this.forced.delete(key);
    const smcLog = this.smcLog(cached);
    const log = smcLog.area('reconciliation');
    // Finalizer (src/controller/finalizer.ts): added on first reconcile; deletion applies deletionPolicy.
    const lifecycle = await handleLifecycle(cached, {
      writer: new FinalizerWriter(this.custom),
      openStores: (sp) => this.openStores(smc, sp),
      recordEvent: (e) => this.events.record({ namespace, name, uid }, e),
      writeStatus: (st) => this.writeStatus(namespace, name, smc.status, st),
      previousStatus: smc.status,
      generation: cached.metadata.generation,
      log,
    });
    if (lifecycle === 'done') return undefined;
    const end = this.o.metrics.reconciliationDuration.startTimer();
    let outcome: ReconcileOutcome;
    // What the status subresource holds: the status before, then the in-progress one (`Pending`,
    // `Syncing`) once written; the final write nulls keys relative to it.
    let onServer = smc.status;
    try {
      outcome = await this.tracedReconcile(smc, {
        ...this.world(smc),
        force,
        ...(mine && mine.uid === uid && mine.revision !== undefined
          ? { lastAttemptedRevision: mine.revision }
          : {}),
        progress: async (st) => {
          await this.writeStatus(namespace, name, onServer, st);
          onServer = st;
        },
        progressDelayMs: PROGRESS_DELAY_MS,
      });
    } finally {
      end();
    }
    // Workload reload, `auto` mode: the change-set is recorded with this status write (a successor resumes it).
    const changeSet = this.workloads.changeSetOf({ namespace, name, uid }, cached.spec, outcome);
    if (changeSet)
      outcome.status.hotReload = { ...outcome.status.hotReload, changeSet: changeSetStatus(changeSet) };
    await this.writeStatus(namespace, name, onServer, outcome.status);
    this.written.set(key, {
      uid,
      status: outcome.status,
      ...(outcome.revision !== undefined ? { revision: outcome.revision } : {}),
    });
    this.o.metrics.reconciliations.inc({ result: outcome.result });
    if (outcome.status.secretsCount !== undefined) {
      this.o.metrics.secretsManaged.set({ namespace, name }, outcome.status.secretsCount);
    }
    for (const [provider, n] of Object.entries(outcome.published))
      this.o.metrics.secretsPublished.inc({ provider }, n);
    for (const [provider, n] of Object.entries(outcome.skipped))
      this.o.metrics.secretsSkipped.inc({ provider, reason: 'conflict' }, n);
    const seen = this.revisionSeen.get(key);
    if (outcome.writes > 0 && seen && seen.revision === outcome.revision) {
      this.o.metrics.syncLatency.observe((Date.now() - seen.at) / 1000);
      this.revisionSeen.delete(key);
    }
    const target = { namespace, name, uid };
    await reportDrift(outcome.drift, {
      event: (e) => this.events.record(target, e),
      count: (provider, n) => this.o.metrics.secretsDiffDetected.inc({ provider }, n),
      log: smcLog.area('diffDiscovery'),
    });
    if (outcome.error) {
      await this.events.record(target, {
        type: 'Warning',
        reason: outcome.error.reason,
        message: outcome.error.message,
      });
    } else if (outcome.result === 'success') {
      this.events.forget(target);
      if (outcome.writes > 0) {
        await this.events.record(target, {
          type: 'Normal',
          reason: 'Synced',
          message: `${outcome.writes} store write(s) for revision ${outcome.revision ?? 'unknown'}: ${outcome.status.description ?? ''}`,
        });
      }
    }
    // Flux Provider / Argo CD notifications (src/controller/notifications/), in the background.
    void this.notifier.notify({ namespace, name, uid, spec: cached.spec }, outcome);
    void this.workloads
      .afterReconcile(target, cached.spec, outcome, changeSet)
      .catch((e: unknown) => log.warn({ err: String(e) }, 'workload notification failed'));
    if (outcome.error) {
      const area = this.failedIn.get(key) ?? areaOfReason(outcome.error.reason);
      this.failedIn.delete(key);
      smcLog
        .area(area)
        .warn(
          { reason: outcome.error.reason, message: outcome.error.message, revision: outcome.revision },
          'reconcile failed',
        );
    } else if (outcome.result === 'success') {
      log.info({ revision: outcome.revision, writes: outcome.writes }, 'synced');
    } else {
      log.debug({ result: outcome.result }, 'nothing to do');
    }
    if (outcome.retry) throw new RetryLater(outcome.error?.reason ?? 'Error');
    return { requeueAfterMs: outcome.requeueAfterMs };
  }

  private world(smc: SmcObject) {
    const s = this.o.settings;
    const spec = smc.spec as Partial<SecretManagerConfigSpec> | undefined;
    const ref = spec?.sourceRef;
    const source = ref
      ? this.sources.get(ref.kind ?? 'GitRepository')?.get(ref.namespace ?? smc.metadata.namespace, ref.name)
      : undefined;
    return {
      now: () => new Date(),
      source,
      fetchArtifact: async (artifact: FluxArtifactRef, sourceName: string) => {
        const end = this.o.metrics.artifactDownloadDuration.startTimer();
        try {
          return await fetchFluxArtifact({
            artifact,
            cacheDir: this.cacheDir,
            sourceName,
            limits: { maxBytes: s.artifact_max_bytes },
            resolveArtifact: async () => {
              const fresh = ref
                ? this.sources.get(ref.kind)?.get(ref.namespace ?? smc.metadata.namespace, ref.name)
                : undefined;
              return fresh?.status?.artifact;
            },
          });
        } finally {
          end();
        }
      },
      sopsKeyring: (sp: SecretManagerConfigSpec, fresh?: boolean) =>
        this.keys.keyringFor(smc.metadata.namespace, sp, fresh),
      openStores: (sp: SecretManagerConfigSpec) => this.openStores(smc, sp),
      driftCheckIntervalMs: s.drift_check_interval,
      minReconcileIntervalMs: s.min_reconcile_interval_secs * 1000,
      maxSecretsPerResource: s.max_secrets_per_resource,
      maxSecretSizeBytes: s.max_secret_size_bytes,
      inputLimits: {
        maxSourceFileBytes: s.max_source_file_bytes,
        maxKeyFileBytes: s.max_key_file_bytes,
        maxRenderedBytes: s.max_rendered_bytes,
      },
      noCrossNamespaceRefs: s.no_cross_namespace_refs,
      allowKustomizeRemote: s.allow_kustomize_remote,
      ...(ref?.kind === 'Application' ? { argo: this.argoWorld(smc) } : {}),
      suspendFluxSource: (suspend: boolean) => this.suspendFluxSource(smc, source, suspend),
    };
  }

  /** The reconciler's view of an SMC's Argo CD Application and its Git remote. */
  private argoWorld(smc: SmcObject): ArgoWorld {
    const key = `${smc.metadata.namespace}/${smc.metadata.name}`;
    const ref = (smc.spec as Partial<SecretManagerConfigSpec>).sourceRef!;
    const appNamespace = ref.namespace ?? smc.metadata.namespace;
    const log = this.smcLog(smc).area('git');
    return {
      application: this.applications.get(appNamespace, ref.name),
      lastPull: this.pulls.get(key),
      minPullIntervalMs: this.o.settings.min_git_pull_interval_secs * 1000,
      pullsSuspended: async (suspended) => {
        if (suspended === this.pullsSuspended.has(key)) return;
        if (suspended) this.pullsSuspended.add(key);
        else this.pullsSuspended.delete(key);
        const message = suspended
          ? `periodic Git pulls of Application ${appNamespace}/${ref.name} suspended (spec.suspendGitPulls)`
          : `periodic Git pulls of Application ${appNamespace}/${ref.name} resumed`;
        log.info(message);
        await this.events.record(
          { namespace: smc.metadata.namespace, name: smc.metadata.name, uid: smc.metadata.uid },
          { type: 'Normal', reason: suspended ? 'GitPullsSuspended' : 'GitPullsResumed', message },
        );
      },
      recordPull: (rec) => {
        if (this.pulls.record(key, rec) && this.revisionSeen.get(key)?.revision !== rec.revision) {
          this.revisionSeen.set(key, { revision: rec.revision, at: rec.at });
        }
      },
      credentials: async (repoURL) => {
        const found = await this.gitCredentials.resolve({
          smcNamespace: smc.metadata.namespace,
          ...(ref.gitCredentials ? { gitCredentials: ref.gitCredentials } : {}),
          applicationNamespace: appNamespace,
          repoURL,
        });
        log.debug({ repo: displayRepoURL(repoURL), found: found !== undefined }, 'Git credentials resolved');
        return found;
      },
      lsRemote: async (src, credentials) => {
        const sha = await lsRemoteRevision({
          repoURL: src.repoURL,
          targetRevision: src.targetRevision,
          ...(credentials ? { credentials } : {}),
        }).catch((e: unknown) => {
          throw withoutCredentialsHint(e, credentials, appNamespace);
        });
        log.debug({ repo: displayRepoURL(src.repoURL), revision: sha }, 'remote revision checked');
        return sha;
      },
      fetch: async (src, commit, credentials) => {
        const t0 = performance.now();
        const checkout = await fetchArgoGit({
          repoURL: src.repoURL,
          targetRevision: commit,
          path: src.path,
          cacheDir: join(this.cacheDir, 'git', smc.metadata.namespace, smc.metadata.name),
          ...(credentials ? { credentials } : {}),
        }).catch((e: unknown) => {
          throw withoutCredentialsHint(e, credentials, appNamespace);
        });
        if (checkout.fetched) this.o.metrics.gitFetchDuration.observe((performance.now() - t0) / 1000);
        const where = src.path ? `, path ${src.path}` : '';
        return {
          ...checkout,
          description: `Git ${displayRepoURL(src.repoURL)} at ${src.targetRevision} (${commit.slice(0, 12)})${where}`,
        };
      },
    };
  }

  /**
   * `suspendGitPulls` on a Flux source (src/controller/flux-suspend.ts): suspend or resume the
   * referenced source, with an Event on the SMC. Returns a note for the status description.
   */
  private async suspendFluxSource(
    smc: SmcObject,
    source: FluxResource | undefined,
    desired: boolean,
  ): Promise<string | undefined> {
    const ref = (smc.spec as Partial<SecretManagerConfigSpec>).sourceRef;
    const type = ref ? this.sources.get(ref.kind ?? 'GitRepository')?.type : undefined;
    const ns = source?.metadata?.namespace;
    const name = source?.metadata?.name;
    if (!source || !type || !ns || !name) return undefined;
    const owner = `${smc.metadata.namespace}/${smc.metadata.name}`;
    const shown = `${type.kind} ${ns}/${name}`;
    const target = { namespace: smc.metadata.namespace, name: smc.metadata.name, uid: smc.metadata.uid };
    const action = suspendAction(source, desired, owner);
    if (action === 'suspend' || action === 'resume') {
      try {
        await patchSuspend(this.custom, type, ns, name, action, owner);
      } catch (e) {
        const code = (e as { code?: number }).code;
        const message = `cannot ${action} ${shown} for spec.suspendGitPulls (HTTP ${code ?? 'error'})`;
        this.smcLog(smc).area('git').warn({ source: shown, code }, message);
        await this.events.record(target, { type: 'Warning', reason: 'GitPullsSuspendFailed', message });
        return message;
      }
      const message =
        action === 'suspend'
          ? `Git pulls suspended: set spec.suspend=true on ${shown} (spec.suspendGitPulls)`
          : `Git pulls resumed: set spec.suspend=false on ${shown}`;
      this.smcLog(smc).area('git').info({ source: shown }, message);
      await this.events.record(target, {
        type: 'Normal',
        reason: action === 'suspend' ? 'GitPullsSuspended' : 'GitPullsResumed',
        message,
      });
      return action === 'suspend' ? `Git pulls suspended (${shown} spec.suspend=true)` : undefined;
    }
    if (action === 'none' && desired) return `Git pulls suspended (${shown} spec.suspend=true)`;
    if (action === 'suspendedByOther')
      return `Git pulls suspended (${shown} was already suspended by someone else)`;
    if (action === 'leftSuspended') return `${shown} is suspended by someone else; left as it is`;
    return undefined;
  }

  /** The loggers of one SMC, at the levels its `spec.logging` sets per area. */
  private smcLog(smc: { metadata: SmcObject['metadata']; spec?: unknown }): SmcLogger {
    const logging = (smc.spec as { logging?: unknown } | undefined)?.logging;
    return this.smcLogs.get(this.o.logger, smc.metadata, logging);
  }

  /** An area logger for a queue key (the SMC's own when it is in the cache, else the controller's). */
  private keyLog(key: string, area: LoggingArea): Logger {
    const [namespace = '', name = ''] = key.split('/');
    const smc = this.smcs.get(namespace, name);
    return smc ? this.smcLog(smc).area(area) : this.o.logger.child({ smc: key, area });
  }

  /** The SMC's stores, each logging its per-entry results (`secrets` / `properties` areas). */
  private async openStores(smc: SmcObject, spec: SecretManagerConfigSpec): Promise<SmcStores> {
    const log = this.smcLog(smc);
    const { secretStore, configStore } = await this.openStoresOf(smc, spec);
    log.area('provider').debug(
      {
        secretStore: `${secretStore.type} ${secretStore.target}`,
        ...(configStore ? { configStore: `${configStore.type} ${configStore.target}` } : {}),
      },
      'stores opened',
    );
    return {
      secretStore: entryLoggingStore(secretStore, log),
      ...(configStore ? { configStore: entryLoggingStore(configStore, log) } : {}),
    };
  }

  private openStoresOf(smc: SmcObject, spec: SecretManagerConfigSpec): Promise<SmcStores> {
    this.storeFactory ??= new StoreFactory({
      core: this.o.kubeConfig.makeApiClient(CoreV1Api),
      kubeConfig: this.o.kubeConfig,
      controllerNamespace: this.o.controllerNamespace,
      policy: () => ({
        noCrossNamespaceRefs: this.o.settings.no_cross_namespace_refs,
        storeAllowlist: this.o.settings.store_allowlist,
        maxWritesPerSecond: this.o.settings.provider_max_rps,
      }),
      observer: (type) => storeMetricsObserver(this.o.metrics, type),
      onSecretRead: (namespace, name, rv) => this.secretPoll?.observe(namespace, name, rv),
    });
    return this.storeFactory.open(smc.metadata, spec);
  }

  /** One merge patch of the status subresource; keys that disappeared are nulled. Retried on conflict/5xx. */
  private async writeStatus(
    namespace: string,
    name: string,
    previous: SecretManagerConfigStatus | undefined,
    status: SecretManagerConfigStatus,
  ): Promise<void> {
    if (!statusChanged(previous, status)) return; // idle passes write nothing
    const patch: Record<string, unknown> = { ...status };
    for (const k of Object.keys(previous ?? {})) if (!(k in patch)) patch[k] = null;
    // status.hotReload.configMap is written by the settings reloader alone, lastWorkloadReload,
    // workloadsNotified and workloads by the workload reloader alone (a cached copy may be stale).
    if (patch.hotReload && typeof patch.hotReload === 'object') {
      const {
        configMap: _own,
        lastWorkloadReload: _reloaded,
        workloadsNotified: _notified,
        workloads: _results,
        ...rest
      } = patch.hotReload as Record<string, unknown>;
      patch.hotReload = rest;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.custom.patchNamespacedCustomObjectStatus(
          {
            group: API_GROUP,
            version: API_VERSION_NAME,
            namespace,
            plural: PLURAL,
            name,
            body: { status: patch },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404) return; // deleted meanwhile
        const retriable = code === 409 || code === 429 || (code !== undefined && code >= 500);
        if (!retriable || attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }
  // -------------------------------------------------------------------------------------------
  // Notifications and tracing

  /** Drift and failure notifications (Flux Provider, Argo CD Application annotations). */
  private notifier!: Notifier;
  /** Reconcile tracing (src/observability/tracing.ts); none until `useTracing`. */
  private tracing: Tracing | undefined;

  /** Trace reconciles with `tracing` (it decides, per SMC and live, whether and where spans go). */
  useTracing(tracing: Tracing): void {
    this.tracing = tracing;
  }

  /** Wait for queued notifications (at shutdown, after `stop`). */
  async notificationsIdle(): Promise<void> {
    await this.notifier.idle();
  }

  /**
   * One reconcile in a `reconcile` span with a child span per stage (`source` around the artifact
   * fetch, then the pipeline's own stages), feeding the SOPS and kustomize metrics either way.
   */
  private tracedReconcile(smc: SmcObject, world: ReconcileWorld): Promise<ReconcileOutcome> {
    const otel = (smc.spec as { otel?: OtelDestination } | undefined)?.otel;
    return traceReconcile(
      this.tracing?.tracerFor(otel),
      { 'smc.namespace': smc.metadata.namespace, 'smc.name': smc.metadata.name },
      async (span) => {
        const key = `${smc.metadata.namespace}/${smc.metadata.name}`;
        const steps: ReconcileSteps = { log: this.smcLog(smc) };
        this.failedIn.delete(key);
        const argo = world.argo;
        const traced: ReconcileWorld = {
          ...world,
          fetchArtifact: (artifact, sourceName) =>
            span('source', { 'source.name': sourceName }, () =>
              logStep(
                steps,
                'git',
                'artifact fetch',
                { source: sourceName, revision: artifact.revision },
                () => world.fetchArtifact(artifact, sourceName),
              ),
            ),
          sopsKeyring: (sp, fresh) =>
            logStep(steps, 'sops', 'SOPS key loading', {}, () => world.sopsKeyring(sp, fresh)),
          openStores: (sp) =>
            logStep(steps, 'provider', 'store opening', {}, () => Promise.resolve(world.openStores(sp))),
          ...(argo
            ? {
                argo: {
                  ...argo,
                  fetch: (src, commit, credentials) =>
                    span('source', { 'source.revision': commit }, () =>
                      logStep(
                        steps,
                        'git',
                        'Git checkout',
                        { repo: displayRepoURL(src.repoURL), revision: commit },
                        () => argo.fetch(src, commit, credentials),
                      ),
                    ),
                },
              }
            : {}),
        };
        const outcome = await withStageHook(stageMetricsHook(this.o.metrics, stageLogHook(steps, span)), () =>
          reconcile(smc, traced),
        );
        if (outcome.error && steps.failedIn) this.failedIn.set(key, steps.failedIn);
        return outcome;
      },
      (o) => ({
        attributes: {
          'smc.result': o.result,
          'smc.writes': o.writes,
          ...(o.revision ? { 'smc.revision': o.revision } : {}),
          ...(o.error ? { 'smc.error.reason': o.error.reason } : {}),
        },
        error: o.error?.reason,
      }),
    );
  }
}
