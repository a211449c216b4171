/**
 * The reconciler: a function of (object, world) → new status (docs/architecture.md). It reads nothing from the
 * cluster itself: the world hands it the source object (a Flux source, or an Argo CD Application
 * with its Git remote: ls-remote, fetch, credentials, last pull), the artifact fetcher, the SOPS
 * keys and the stores. The controller writes the returned status once; while the work runs it
 * may also be told, through `world.progress`, that the SMC is `Pending` or `Syncing` (in the
 * controller only for a pass still running after `progressDelayMs`, src/controller/progress.ts). Where the
 * files come from (a Flux artifact, an Argo CD Application's Git source) is `sources/source-plan.ts`.
 */
import type { SmcObject } from '../api/smc-object.js';
import type { InputLimits } from '../limits/input.js';
import {
  ANNOTATIONS,
  type SecretManagerConfigSpec,
  type SecretManagerConfigStatus,
  parseSpec,
  specIntervals,
} from '../api/index.js';
import { SmcError, classifyError } from '../errors.js';
import type { RenderCache } from '../render/cache.js';
import type { SopsKeyring } from '../sops/index.js';
import type { ArgoGitSource, GitCredentials } from '../source/argo-git.js';
import type { FluxArtifactRef } from '../source/flux-artifact.js';
import type { SourceCheckout } from '../source/source.js';
import type { SecretStore } from '../stores/store.js';
import { type EntryOutcome, type SyncRequest, type SyncResult, sync } from '../sync.js';
import { DriftGuard, type DriftFindings, verificationDueMs } from './drift.js';
import {
  type Progress,
  type ReconcileVerdict,
  type SyncCause,
  computeStatus,
  progressStatus,
} from './status.js';
import type { ArgoApplicationObject } from './sources/argo-source.js';
import type { PullRecord } from './sources/git-pulls.js';
import { type SourcePlan, planSource } from './sources/source-plan.js';
import { explainKeyFailure, servedFromCache } from './keys.js';
import { ProgressReporter } from './progress.js';

/** The SecretManagerConfig object the reconciler reads (as it comes from the API server). */
export type { SmcObject };

/** A Flux source object (GitRepository, OCIRepository, Bucket), as far as the reconciler cares. */
export interface FluxSourceObject {
  metadata?: { name?: string; namespace?: string; generation?: number };
  status?: {
    observedGeneration?: number;
    artifact?: FluxArtifactRef;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** The stores one SMC writes to; closed by the reconciler after use. */
export interface SmcStores {
  secretStore: SecretStore;
  configStore?: SecretStore;
}

export interface ReconcileWorld {
  now(): Date;
  /** The referenced Flux source, or undefined when it does not exist. */
  source: FluxSourceObject | undefined;
  /** Download, verify and extract an artifact (cached by digest). */
  fetchArtifact(artifact: FluxArtifactRef, sourceName: string): Promise<SourceCheckout>;
  /**
   * The SMC's SOPS keys (its `*SecretRef`s, else the controller-wide default); undefined when none.
   * Key Secrets may come from a short-lived cache; `fresh`: read them again.
   */
  sopsKeyring(spec: SecretManagerConfigSpec, fresh?: boolean): Promise<SopsKeyring | undefined>;
  /** Stores for the SMC's provider. */
  openStores(spec: SecretManagerConfigSpec): Promise<SmcStores> | SmcStores;
  /** Run the whole pipeline even when nothing seems to have changed (e.g. a SOPS key Secret changed). */
  force?: boolean;
  /** `drift_check_interval`: store verification is due this long after the last full sync. */
  driftCheckIntervalMs: number;
  /** `min_reconcile_interval_secs` in ms: floor of `spec.reconcileInterval`. */
  minReconcileIntervalMs: number;
  maxSecretsPerResource?: number;
  /** `max_secret_size_bytes`: the largest value pushed to any store (each store's own limit still applies). */
  maxSecretSizeBytes?: number;
  /** `max_source_file_bytes`, `max_key_file_bytes`, `max_rendered_bytes` (default: DEFAULT_INPUT_LIMITS). */
  inputLimits?: InputLimits;
  /** Argo CD sources (`sourceRef.kind: Application`); without it such SMCs are refused. */
  argo?: ArgoWorld;
  /**
   * `suspendGitPulls` on a Flux source: suspend/resume the referenced source as `suspend` says.
   * Returns a value-free note for the status description (undefined: nothing to say).
   */
  suspendFluxSource?(suspend: boolean): Promise<string | undefined>;
  /** `no_cross_namespace_refs`: refuse a source outside the SMC's namespace. */
  noCrossNamespaceRefs?: boolean;
  /** `allow_kustomize_remote`: let kustomize fetch remote resources and bases (refused by default). */
  allowKustomizeRemote?: boolean;
  /** Rendered entries shared between SMCs (src/render/cache.ts); without one, every pass renders. */
  renderCache?: RenderCache;
  /**
   * Write an in-progress status (`Pending`, `Syncing`; src/controller/status.ts `progressStatus`)
   * before the work starts. Called at most once per phase and never on the "nothing changed" path;
   * a failure is ignored (the final status is written anyway).
   */
  progress?(status: SecretManagerConfigStatus): Promise<void>;
  /**
   * Write in-progress statuses only for a pass still running this long after it started
   * (src/controller/progress.ts); default 0: at once, before the work goes on.
   */
  progressDelayMs?: number;
  /**
   * The revision this SMC's previous reconcile attempted, when known (the controller remembers it):
   * a retry of the same revision and generation after a failure is not announced as `Syncing`.
   */
  lastAttemptedRevision?: string;
}

/** What the reconciler needs for an Argo CD Application source. */
export interface ArgoWorld {
  /** The referenced Application, or undefined when it does not exist. */
  application: ArgoApplicationObject | undefined;
  /** Credentials for the repository (gitCredentials Secret, else Argo's repository Secrets). */
  credentials(repoURL: string): Promise<GitCredentials | undefined>;
  /** The commit `targetRevision` points to on the remote (`git ls-remote`). */
  lsRemote(src: ArgoGitSource, credentials: GitCredentials | undefined): Promise<string>;
  /** Shallow-fetch exactly `commit` and check it out (per-SMC cache); `root` is the source `path`. */
  fetch(src: ArgoGitSource, commit: string, credentials: GitCredentials | undefined): Promise<SourceCheckout>;
  /** The SMC's last pull, and where to record a new one. */
  lastPull: PullRecord | undefined;
  recordPull(rec: PullRecord): void;
  /** `min_git_pull_interval_secs` in ms: floor of `spec.gitRepositoryPullInterval`. */
  minPullIntervalMs: number;
  /** Told whether periodic pulls are suspended (`spec.suspendGitPulls`), to announce a change. */
  pullsSuspended?(suspended: boolean): Promise<void>;
}

export type ReconcileResult = 'success' | 'error' | 'skipped';

export interface ReconcileOutcome {
  status: SecretManagerConfigStatus;
  /** `skipped`: nothing was due (zero provider calls), also while suspended. */
  result: ReconcileResult;
  /** Retry with backoff (a transient failure or a partial one). */
  retry: boolean;
  /** Periodic requeue. */
  requeueAfterMs: number;
  /** The revision synced (or attempted). */
  revision?: string;
  /** Store writes made. */
  writes: number;
  /** The entries those writes changed, value-free (workload reload: which keys changed, docs/hot-reload.md). */
  changes: Pick<EntryOutcome, 'store' | 'storeName' | 'action' | 'result'>[];
  /** Per store type: entries published (created, updated, re-enabled) and skipped (conflicts). */
  published: Record<string, number>;
  skipped: Record<string, number>;
  /** The failure, value-free, for logs and Events. */
  error?: { reason: string; message: string };
  /** Store verification's findings (src/controller/drift.ts), when the stores were read. */
  drift?: DriftFindings;
}

/** How an SMC lifts the pipeline's refusals (quoted in their errors). */
const SPEC_ALLOW_SWITCHES = {
  pruneAll: 'spec.allowPruneAll: true',
  plaintext: 'spec.secrets.allowPlaintext: true',
};

/** The reconcile-request annotations' value (both honoured; recorded as handled). */
export function requestedReconcile(annotations: Record<string, string> | undefined): string | undefined {
  const values = [annotations?.[ANNOTATIONS.reconcile], annotations?.[ANNOTATIONS.fluxRequestedAt]].filter(
    (v): v is string => v !== undefined && v !== '',
  );
  return values.length ? values.join(' ').slice(0, 256) : undefined;
}

/**
 * Specs already validated, by the spec object they came from. The informer replaces an SMC's object
 * when it changes and never changes one in place, so a periodic pass over an unchanged SMC skips the
 * validation (about 70 µs each; docs/performance.md). Frozen: passes share them.
 */
const validatedSpecs = new WeakMap<object, SecretManagerConfigSpec>();

function validatedSpec(input: unknown, where: string): SecretManagerConfigSpec {
  if (typeof input !== 'object' || input === null) return parseSpec(input, where);
  let spec = validatedSpecs.get(input);
  if (!spec) {
    spec = deepFreeze(parseSpec(input, where));
    validatedSpecs.set(input, spec);
  }
  return spec;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export async function reconcile(smc: SmcObject, world: ReconcileWorld): Promise<ReconcileOutcome> {
  const progress = new ProgressReporter(
    (status) => world.progress?.(status) ?? Promise.resolve(),
    world.progressDelayMs ?? 0,
  );
  try {
    return await reconcileReporting(smc, world, progress);
  } finally {
    // Also when the pass threw: no in-progress write may land after it ended.
    await progress.settle();
  }
}

async function reconcileReporting(
  smc: SmcObject,
  world: ReconcileWorld,
  progress: ProgressReporter,
): Promise<ReconcileOutcome> {
  const now = world.now();
  const where = `${smc.metadata.namespace}/${smc.metadata.name}`;
  const previous = smc.status;
  const generation = smc.metadata.generation;
  const requested = requestedReconcile(smc.metadata.annotations);
  const requestedNow = requested !== undefined && requested !== previous?.lastHandledReconcileAt;
  const forced = world.force === true || requestedNow;
  // In-progress status writes (src/controller/progress.ts): at once, or for a pass still running after a delay.
  const report = async (p: Progress): Promise<void> => {
    if (!world.progress) return;
    // On top of the status on the server: `previous`, or the in-progress status once one was written.
    await progress.report(
      progressStatus({ previous: progress.written ?? previous, generation, progress: p, now }),
    );
  };

  /**
   * Set once the source is known: Argo's time to the next `git ls-remote` (the requeue is the
   * earlier of that and reconcileInterval), and a note for the status description.
   */
  const source: Pick<SourcePlan, 'pullInMs' | 'note'> = {};
  let spec: SecretManagerConfigSpec;
  let intervalMs = 60_000;
  try {
    spec = validatedSpec(smc.spec, where);
    intervalMs = specIntervals(spec).reconcileMs;
  } catch (e) {
    return finish({ kind: 'failed', ...classifyError(e), revision: undefined }, 0);
  }
  intervalMs = Math.max(intervalMs, world.minReconcileIntervalMs);

  async function finish(
    verdict: ReconcileVerdict,
    writes: number,
    drift?: DriftFindings,
  ): Promise<ReconcileOutcome> {
    // The status on the server: `previous`, or the in-progress status written meanwhile.
    const current = (await progress.settle()) ?? previous;
    const { pullInMs, note } = source;
    const requeueMs = pullInMs === undefined ? intervalMs : Math.min(intervalMs, pullInMs);
    const status = computeStatus({
      previous: current,
      generation,
      verdict,
      now,
      nextReconcileAt: new Date(now.getTime() + requeueMs),
      handledReconcileAt: requested,
      ...(drift ? { drift } : {}),
    });
    if (note && verdict.kind !== 'unchanged' && verdict.kind !== 'suspended') {
      status.description = `${status.description ?? ''}; ${note}`.slice(0, 4096);
    }
    const result: ReconcileResult =
      verdict.kind === 'synced'
        ? 'success'
        : verdict.kind === 'suspended' || verdict.kind === 'unchanged'
          ? 'skipped'
          : 'error';
    const retry = verdict.kind === 'partial' || (verdict.kind === 'failed' && !verdict.stalled);
    const published: Record<string, number> = {};
    const skipped: Record<string, number> = {};
    for (const o of 'outcomes' in verdict ? verdict.outcomes : []) {
      if (o.result !== 'ok') continue;
      if (o.action === 'create' || o.action === 'update' || o.action === 'enable')
        published[o.store] = (published[o.store] ?? 0) + 1;
      else if (o.action === 'conflict') skipped[o.store] = (skipped[o.store] ?? 0) + 1;
    }
    return {
      status,
      result,
      retry,
      requeueAfterMs: requeueMs,
      revision: 'revision' in verdict ? verdict.revision : undefined,
      writes,
      changes: ('outcomes' in verdict ? verdict.outcomes : [])
        .filter((o) => o.result === 'ok' && o.action !== 'noop' && o.action !== 'conflict')
        .map(({ store, storeName, action, result }) => ({ store, storeName, action, result })),
      published,
      skipped,
      ...(verdict.kind === 'failed'
        ? { error: { reason: verdict.reason, message: verdict.message } }
        : verdict.kind === 'partial'
          ? {
              error: {
                // `Throttled` when throttling is the only cause (status.ts), else `PartialFailure`.
                reason: status.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'PartialFailure',
                message: status.description ?? '',
              },
            }
          : {}),
      ...(drift ? { drift } : {}),
    };
  }

  if (spec.suspend) return finish({ kind: 'suspended' }, 0);

  // The first reconcile of a new SMC: say at once that it was taken (the source may take a while).
  if (previous?.phase === undefined) await report({ kind: 'pending' });

  const ref = spec.sourceRef;
  const refNamespace = ref.namespace ?? smc.metadata.namespace;
  const sourceName = `${ref.kind} ${refNamespace}/${ref.name}`;
  if (world.noCrossNamespaceRefs && refNamespace !== smc.metadata.namespace) {
    return finish(
      {
        kind: 'failed',
        reason: 'AccessDenied',
        message: `spec.sourceRef: ${sourceName} is outside namespace ${smc.metadata.namespace}, refused by the setting no_cross_namespace_refs`,
        stalled: true,
        sourceProblem: true,
      },
      0,
    );
  }

  const plan = await planSource(
    world,
    spec,
    sourceName,
    now.getTime(),
    forced || previous?.observedGeneration !== generation,
  );
  source.pullInMs = plan.pullInMs;
  source.note = plan.note;
  if ('failed' in plan) return finish(plan.failed, 0);
  const { revision, fetch: fetchSource } = plan;

  // Nothing changed, nothing called.
  const lastSync = previous?.lastSyncTime ? Date.parse(previous.lastSyncTime) : Number.NaN;
  const unchanged =
    !forced &&
    previous?.phase === 'Synced' &&
    previous.lastSyncedRevision === revision &&
    previous.observedGeneration === generation &&
    Number.isFinite(lastSync) &&
    now.getTime() - lastSync < verificationDueMs(world.driftCheckIntervalMs, smc.metadata.uid ?? where);
  if (unchanged) return finish({ kind: 'unchanged' }, 0);
  const cause = syncCause({
    previous,
    generation,
    revision,
    requested: requestedNow,
    forced: world.force === true,
    lastAttemptedRevision: world.lastAttemptedRevision,
  });
  if (cause !== 'retry') await report({ kind: 'syncing', revision, cause });

  let result: SyncResult;
  let stores: SmcStores | undefined;
  // Store verification (src/controller/drift.ts): the revision and spec already synced are synced
  // again, so whatever the plan still wants to change was changed outside Git.
  const verification =
    previous?.lastSyncedRevision === revision && previous.observedGeneration === generation;
  const guard = verification ? new DriftGuard(spec.driftPolicy) : undefined;
  let checkout: SourceCheckout | undefined;
  let keyring: SopsKeyring | undefined;
  try {
    const tree = (checkout = await fetchSource());
    keyring = spec.secrets.sops.enabled ? await world.sopsKeyring(spec) : undefined;
    const opened = (stores = await world.openStores(spec));
    const request = (keys: SopsKeyring | undefined): SyncRequest => ({
      source: { ...tree, revision },
      owner: { namespace: smc.metadata.namespace, name: smc.metadata.name },
      environment: spec.secrets.environment,
      render: spec.secrets.kustomizePath
        ? {
            mode: 'kustomize',
            kustomizePath: spec.secrets.kustomizePath,
            allowRemote: world.allowKustomizeRemote ?? false,
          }
        : { mode: 'raw', basePath: spec.secrets.basePath },
      prefix: spec.secrets.prefix,
      suffix: spec.secrets.suffix,
      sops: { enabled: spec.secrets.sops.enabled, keyring: keys },
      secretStore: opened.secretStore,
      configStore: opened.configStore,
      ...(guard ? { review: guard.review } : {}),
      deletionPolicy: spec.deletionPolicy,
      triggerUpdate: spec.triggerUpdate,
      adopt: smc.metadata.annotations?.[ANNOTATIONS.adopt] === 'true',
      allow: { pruneAll: spec.allowPruneAll, plaintext: spec.secrets.allowPlaintext },
      allowSwitches: SPEC_ALLOW_SWITCHES,
      maxSecretsPerResource: world.maxSecretsPerResource,
      maxSecretSizeBytes: world.maxSecretSizeBytes,
      ...(world.inputLimits ? { limits: world.inputLimits } : {}),
      ...(world.renderCache ? { renderCache: world.renderCache } : {}),
    });
    result = await sync(request(keyring)).catch(async (e: unknown) => {
      // No key opens a file (nothing is written before every file is decrypted): when the keys came
      // from the cache, the key Secret may have gained a key since; read it again, once.
      if (!(e instanceof SmcError && e.code === 'SopsNoMatchingKey' && servedFromCache(keyring))) throw e;
      keyring = await world.sopsKeyring(spec, true);
      return sync(request(keyring));
    });
  } catch (e) {
    return finish({ kind: 'failed', ...classifyError(explainKeyFailure(e, keyring)), revision }, 0);
  } finally {
    // The tree may be pruned from the source cache from now on (never while it was rendered).
    checkout?.release?.();
    await Promise.allSettled([stores?.secretStore.close?.(), stores?.configStore?.close?.()]);
  }
  const drift: DriftFindings = {
    verified: verification,
    entries: guard?.entries ?? [],
    report: spec.diffDiscovery,
    policy: spec.driftPolicy,
  };
  if (result.failed > 0) {
    return finish(
      { kind: 'partial', revision, outcomes: result.outcomes, failed: result.failed },
      result.writes,
      drift,
    );
  }
  return finish({ kind: 'synced', revision, outcomes: result.outcomes }, result.writes, drift);
}

/**
 * Why a reconcile that passed the "nothing changed" check runs the pipeline. `retry`: after a
 * failure, another attempt at the revision and generation that failed (a backoff retry, a periodic
 * re-check), with nothing new — not announced as `Syncing`: the `Error` status already says
 * `Reconciling=True … retrying` (or `Stalled=True`), and rewriting it on every retry would only churn.
 */
export function syncCause(input: {
  previous: SecretManagerConfigStatus | undefined;
  generation: number | undefined;
  revision: string;
  requested: boolean;
  forced: boolean;
  lastAttemptedRevision: string | undefined;
}): SyncCause {
  const { previous, generation, revision } = input;
  const synced = previous?.lastSyncedRevision;
  // After a failure the revision to compare with is the one attempted (when the controller knows
  // it), otherwise the one last synced.
  const attempted = previous?.phase === 'Error' ? (input.lastAttemptedRevision ?? synced) : synced;
  if (previous?.observedGeneration !== generation) return synced ? 'generation' : 'first';
  if (attempted !== revision) return synced ? 'revision' : 'first';
  if (input.requested) return 'requested';
  if (input.forced) return 'forced';
  switch (previous?.phase) {
    case 'Error':
      return 'retry';
    case 'Synced':
      return 'verification';
    default:
      // Pending, Syncing (a pass that did not finish: the controller stopped), Suspended, none.
      return synced ? 'interrupted' : 'first';
  }
}
