/**
 * Status computation (docs/crd-reference.md): from the previous status and what a reconcile found, the whole new
 * status. Pure: no I/O, the time is given. Never carries a value or a hash of one. A partial failure
 * caused only by provider throttling is reported as `Throttled` (phase Error, Ready=False), so
 * `kubectl get smc` and health checks tell it from a real failure.
 *
 * Phases: `Pending` (taken by the controller, never synced: its first reconcile has started, or
 * its source has nothing to sync yet), `Syncing` (a reconcile is doing real work: a new revision or
 * generation, a requested or forced pass, store verification), `Synced`, `Error`, `Suspended`.
 * `Pending` and `Syncing` while a reconcile runs come from `progressStatus`, written (in the
 * controller) only for a pass still running a second after it started (src/controller/progress.ts);
 * the reconcile's final status replaces them.
 */
import type { Condition, EntryState, EntryStatus, Phase, SecretManagerConfigStatus } from '../api/index.js';
import { escapeControlCharacters } from '../control-characters.js';
import { mentionsThrottling } from '../stores/provider-error.js';
import type { EntryOutcome } from '../sync.js';
import { type ConditionInput, mergeConditions, setConditions } from './runtime/conditions.js';
import { type DriftFindings, driftMessage } from './drift.js';

/** What a reconcile concluded, before it is turned into status. */
export type ReconcileVerdict =
  | { kind: 'suspended' }
  | { kind: 'unchanged' }
  | { kind: 'synced'; revision: string; outcomes: EntryOutcome[] }
  | { kind: 'partial'; revision: string; outcomes: EntryOutcome[]; failed: number }
  | {
      kind: 'failed';
      /** Error code (CamelCase), e.g. SopsMacMismatch; becomes the Ready reason. */
      reason: string;
      /** Value-free message. */
      message: string;
      /** Retrying without a change cannot help (kstatus `Stalled=True`). */
      stalled: boolean;
      /** Whether the source itself is the problem (`SourceReady=False`). */
      sourceProblem: boolean;
      revision?: string;
    };

export interface StatusInput {
  previous: SecretManagerConfigStatus | undefined;
  generation: number | undefined;
  verdict: ReconcileVerdict;
  now: Date;
  nextReconcileAt: Date;
  /** The reconcile-request annotation value handled by this reconcile (if any). */
  handledReconcileAt?: string;
  /** What store verification found (src/controller/drift.ts); only with a synced/partial verdict. */
  drift?: DriftFindings;
}

/**
 * Whether `next` differs from the status on the server, i.e. whether it must be written. An
 * unchanged periodic pass computes the status it found, so it writes nothing: zero apiserver
 * writes while nothing changes (docs/performance.md).
 */
export function statusChanged(
  onServer: SecretManagerConfigStatus | undefined,
  next: SecretManagerConfigStatus,
): boolean {
  return !sameAsJson(onServer ?? {}, next);
}

/**
 * Whether two values serialise to the same JSON: keys holding `undefined` are not sent, so they do
 * not count (an `undefined` array item is `null`). Walks the values instead of serialising both,
 * which every periodic pass of every SMC does (docs/performance.md). Anything with a `toJSON`
 * (a Date) is compared through it.
 */
function sameAsJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const x = hasToJson(a) ? a.toJSON() : a;
  const y = hasToJson(b) ? b.toJSON() : b;
  if (x !== a || y !== b) return sameAsJson(x, y);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return (a === undefined && b === null) || (a === null && b === undefined);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameAsJson(v, b[i]))
    );
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const defined = (r: Record<string, unknown>) => Object.keys(r).filter((k) => r[k] !== undefined);
  const ka = defined(ra);
  return ka.length === defined(rb).length && ka.every((k) => rb[k] !== undefined && sameAsJson(ra[k], rb[k]));
}

function hasToJson(v: unknown): v is { toJSON(): unknown } {
  return typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function';
}

/** RFC 3339 with second precision, the Kubernetes `metav1.Time` format. */
export function rfc3339(d: Date): string {
  // toISOString always gives `YYYY-MM-DDTHH:MM:SS.mmmZ` for the years a cluster sees.
  return `${d.toISOString().slice(0, 19)}Z`;
}

function entryState(o: EntryOutcome): EntryState {
  if (o.result === 'failed') return 'Failed';
  if (o.action === 'conflict') return 'Conflict';
  if (o.action === 'disable' || o.action === 'prune') return 'Disabled';
  // Any action that leaves the entry disabled: created or updated disabled (a commented-out key on
  // the first sync), or a noop on one that stays so. Otherwise the count would change between two
  // passes over the same revision (create counted as synced, the later noop as disabled).
  if (o.enabled === false) return 'Disabled';
  return 'Synced';
}

const WRITE_ACTIONS = new Set(['create', 'update', 'enable', 'disable', 'prune']);

/** Per-entry status from sync outcomes; `lastUpdateTime` moves only when the entry was written. */
export function entriesFromOutcomes(
  outcomes: readonly EntryOutcome[],
  previous: readonly EntryStatus[] | undefined,
  now: string,
): EntryStatus[] {
  const prev = new Map((previous ?? []).map((e) => [`${e.kind}/${e.storeName}`, e]));
  const out: EntryStatus[] = [];
  for (const o of outcomes) {
    const old = prev.get(`${o.kind}/${o.storeName}`);
    const wrote = o.result === 'ok' && WRITE_ACTIONS.has(o.action);
    const lastUpdateTime = wrote ? now : old?.lastUpdateTime;
    const state = entryState(o);
    out.push({
      key: o.key ?? old?.key ?? o.storeName,
      storeName: o.storeName,
      kind: o.kind,
      ...(o.version !== undefined ? { version: o.version } : old?.version ? { version: old.version } : {}),
      state,
      ...(lastUpdateTime ? { lastUpdateTime } : {}),
      ...(state !== 'Synced' && o.message
        ? { message: escapeControlCharacters(o.message).slice(0, 4096) }
        : {}),
    });
  }
  return out;
}

function countOf(entries: readonly EntryStatus[], kind: 'secret' | 'config'): number {
  return entries.filter((e) => e.kind === kind && (e.state === 'Synced' || e.state === 'Drifted')).length;
}

/** The whole new status. */
export function computeStatus(input: StatusInput): SecretManagerConfigStatus {
  const { previous, generation, verdict } = input;
  const now = rfc3339(input.now);
  const base: SecretManagerConfigStatus = {
    ...previous,
    lastAttemptTime: now,
    nextReconcileTime: rfc3339(input.nextReconcileAt),
  };
  if (input.handledReconcileAt !== undefined) base.lastHandledReconcileAt = input.handledReconcileAt;

  if (verdict.kind === 'unchanged') {
    // Nothing was called and nothing changed: the status stays as it is, so that an idle
    // controller writes nothing (statusChanged below). Only a handled request moves it.
    return {
      ...base,
      lastAttemptTime: previous?.lastAttemptTime ?? now,
      nextReconcileTime: previous?.nextReconcileTime ?? base.nextReconcileTime,
    };
  }

  let phase: Phase;
  let description: string;
  let ready: ConditionInput;
  let reconciling: ConditionInput;
  let stalled: ConditionInput;
  let sourceReady: ConditionInput | undefined;
  /** `Drifted` to set, or `null` to drop it (diffDiscovery off); undefined leaves it. */
  let driftConditions: ConditionInput | null | undefined;
  const status: SecretManagerConfigStatus = { ...base, observedGeneration: generation };

  switch (verdict.kind) {
    case 'suspended':
      phase = 'Suspended';
      description = 'reconciliation is suspended (spec.suspend: true)';
      ready = { type: 'Ready', status: 'False', reason: 'Suspended', message: description };
      reconciling = { type: 'Reconciling', status: 'False', reason: 'Suspended', message: description };
      stalled = { type: 'Stalled', status: 'False', reason: 'Suspended', message: description };
      delete status.lastAttemptTime;
      if (previous?.lastAttemptTime) status.lastAttemptTime = previous.lastAttemptTime;
      break;
    case 'synced':
    case 'partial': {
      const entries = entriesFromOutcomes(verdict.outcomes, previous?.entries, now);
      driftConditions = markDrift(entries, input.drift);
      status.entries = entries;
      status.secretsCount = countOf(entries, 'secret');
      status.configsCount = countOf(entries, 'config');
      sourceReady = {
        type: 'SourceReady',
        status: 'True',
        reason: 'Succeeded',
        message: `artifact for revision ${verdict.revision} fetched`,
      };
      if (verdict.kind === 'synced') {
        phase = 'Synced';
        description = `${status.secretsCount} secret(s), ${status.configsCount} config(s) synced from revision ${verdict.revision}`;
        status.lastSyncTime = now;
        status.lastSyncedRevision = verdict.revision;
        ready = { type: 'Ready', status: 'True', reason: 'Succeeded', message: description };
        reconciling = { type: 'Reconciling', status: 'False', reason: 'Succeeded', message: description };
        stalled = { type: 'Stalled', status: 'False', reason: 'Succeeded', message: description };
      } else {
        phase = 'Error';
        const failed = entries.filter((e) => e.state === 'Failed');
        const names = failed.map((e) => e.storeName).slice(0, 10);
        // Throttling is named: `Throttled` when it is the only cause, else counted in the message.
        const throttled = failed.filter((e) => mentionsThrottling(e.message)).length;
        const onlyThrottled = throttled > 0 && throttled === failed.length;
        const reason = onlyThrottled ? 'Throttled' : 'PartialFailure';
        description = onlyThrottled
          ? `${verdict.failed} of ${verdict.outcomes.length} entries throttled by the provider (${names.join(', ')}); retrying with backoff`
          : `${verdict.failed} of ${verdict.outcomes.length} entries failed (${names.join(', ')})${throttled ? `, ${throttled} of them throttled` : ''}; retrying`;
        ready = { type: 'Ready', status: 'False', reason, message: description };
        reconciling = { type: 'Reconciling', status: 'True', reason, message: description };
        stalled = { type: 'Stalled', status: 'False', reason, message: description };
      }
      break;
    }
    case 'failed':
      // Never synced and its source has nothing to sync yet (not created, or no artifact yet):
      // waiting, not failing. Once synced, a lost source is an Error.
      phase = waitingForSource(verdict, previous) ? 'Pending' : 'Error';
      description = verdict.message;
      ready = { type: 'Ready', status: 'False', reason: verdict.reason, message: verdict.message };
      reconciling = verdict.stalled
        ? { type: 'Reconciling', status: 'False', reason: verdict.reason, message: verdict.message }
        : {
            type: 'Reconciling',
            status: 'True',
            reason: verdict.reason,
            message: `${verdict.message}; retrying`,
          };
      stalled = {
        type: 'Stalled',
        status: verdict.stalled ? 'True' : 'False',
        reason: verdict.reason,
        message: verdict.message,
      };
      sourceReady = verdict.sourceProblem
        ? { type: 'SourceReady', status: 'False', reason: verdict.reason, message: verdict.message }
        : verdict.revision !== undefined
          ? {
              type: 'SourceReady',
              status: 'True',
              reason: 'Succeeded',
              message: `artifact for revision ${verdict.revision} fetched`,
            }
          : undefined;
      break;
  }
  status.phase = phase;
  status.description = escapeControlCharacters(description).slice(0, 4096);
  status.conditions = setConditions(
    driftConditions === null
      ? previous?.conditions?.filter((c) => c.type !== 'Drifted')
      : previous?.conditions,
    [
      ready,
      reconciling,
      stalled,
      ...(sourceReady ? [sourceReady] : []),
      ...(driftConditions ? [driftConditions] : []),
    ],
    now,
    generation,
  );
  return status;
}

export type { Condition };

/**
 * Mark entries left drifted (`driftPolicy: Report`) as `Drifted` and compute the `Drifted`
 * condition: True/DriftDetected while drift is left in the store, False/DriftCorrected when it was
 * overwritten from Git, False/NoDrift otherwise. `null` (drop the condition) when not reporting.
 */
function markDrift(
  entries: EntryStatus[],
  drift: DriftFindings | undefined,
): ConditionInput | null | undefined {
  if (!drift) return undefined;
  if (!drift.report) return null;
  if (!drift.verified || drift.entries.length === 0) {
    return {
      type: 'Drifted',
      status: 'False',
      reason: 'NoDrift',
      message: drift.verified ? 'store verification found no change outside Git' : 'store written from Git',
    };
  }
  const left = new Set(drift.entries.filter((e) => !e.corrected).map((e) => `${e.kind}/${e.storeName}`));
  for (const e of entries) {
    if (left.has(`${e.kind}/${e.storeName}`) && e.state === 'Synced') {
      e.state = 'Drifted';
      e.message = 'changed outside Git (driftPolicy Report)';
    }
  }
  const message = driftMessage(drift.entries, drift.policy);
  return left.size > 0
    ? { type: 'Drifted', status: 'True', reason: 'DriftDetected', message }
    : { type: 'Drifted', status: 'False', reason: 'DriftCorrected', message };
}

/** Source problems an SMC waits out before its first sync (phase `Pending`, not `Error`). */
const WAITING_FOR_SOURCE: ReadonlySet<string> = new Set(['SourceNotReady', 'SourceNotFound']);

function waitingForSource(
  verdict: Extract<ReconcileVerdict, { kind: 'failed' }>,
  previous: SecretManagerConfigStatus | undefined,
): boolean {
  return verdict.sourceProblem && WAITING_FOR_SOURCE.has(verdict.reason) && !previous?.lastSyncedRevision;
}

/** Why a reconcile does real work; named in the `Syncing` message. */
export type SyncCause =
  'first' | 'generation' | 'revision' | 'requested' | 'forced' | 'verification' | 'interrupted' | 'retry';

/** A reconcile in progress, before its result is known. */
export type Progress =
  /** The first reconcile of an SMC that has no phase yet has started. */
  | { kind: 'pending' }
  /** The "nothing changed" check decided to run the pipeline for `revision`. */
  | { kind: 'syncing'; revision: string; cause: SyncCause };

export interface ProgressInput {
  previous: SecretManagerConfigStatus | undefined;
  generation: number | undefined;
  progress: Progress;
  now: Date;
}

function causeText(cause: SyncCause, generation: number | undefined): string {
  switch (cause) {
    case 'first':
      return 'first sync';
    case 'generation':
      return `spec changed${generation !== undefined ? ` (generation ${generation})` : ''}`;
    case 'revision':
      return 'new source revision';
    case 'requested':
      return 'reconcile requested';
    case 'forced':
      return 'a referenced Secret changed';
    case 'verification':
      return 'store verification';
    case 'interrupted':
      return 'the previous pass did not finish';
    case 'retry':
      return 'retrying';
  }
}

/**
 * The status written while a reconcile runs (one merge patch; with no progress delay, before any
 * store call):
 *  - `Pending`: `Reconciling=True` and `Ready=Unknown` (reason `Progressing`), `Stalled=False`;
 *  - `Syncing`: `Reconciling=True` (reason `Progressing`, the message names the revision and why);
 *    `Ready` stays as it is when it was `True` (a routine re-sync of a ready SMC keeps serving the
 *    values synced before; Flux does the same), else it becomes `Unknown`/`Progressing` until the
 *    result is known; a `Stalled=True` becomes `False` (the controller is trying again).
 * `observedGeneration`, `lastSyncedRevision`, `lastSyncTime`, `lastHandledReconcileAt`, entries and
 * counts keep describing the last finished reconcile, so readers waiting for a result are not
 * misled by the in-progress write. Other conditions keep their order and transition times.
 */
export function progressStatus(input: ProgressInput): SecretManagerConfigStatus {
  const { previous, generation, progress } = input;
  const now = rfc3339(input.now);
  const ready = previous?.conditions?.find((c) => c.type === 'Ready');
  const stalled = previous?.conditions?.find((c) => c.type === 'Stalled');
  const message =
    progress.kind === 'pending'
      ? 'reconcile started; not synced yet'
      : `syncing revision ${progress.revision} (${causeText(progress.cause, generation)})`;
  const updates: ConditionInput[] = [];
  if (ready?.status !== 'True') {
    updates.push({ type: 'Ready', status: 'Unknown', reason: 'Progressing', message });
  }
  updates.push({ type: 'Reconciling', status: 'True', reason: 'Progressing', message });
  if (!stalled || stalled.status !== 'False') {
    updates.push({ type: 'Stalled', status: 'False', reason: 'Progressing', message });
  }
  return {
    ...previous,
    phase: progress.kind === 'pending' ? 'Pending' : 'Syncing',
    description: escapeControlCharacters(message).slice(0, 4096),
    lastAttemptTime: now,
    conditions: mergeConditions(previous?.conditions, updates, now, generation),
  };
}
