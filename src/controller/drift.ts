/**
 * Store verification and drift (docs/crd-reference.md `diffDiscovery`, `driftPolicy`).
 *
 * A verification is a reconcile of the revision and spec already synced (due every
 * `drift_check_interval`, or requested): whatever the plan still wants to change then was changed
 * outside Git. A managed entry that went missing is re-created (a `create` passes untouched: Git is
 * the source of truth). A changed value, or an entry enabled/disabled out of band, is drift: with
 * `driftPolicy: Correct` it is overwritten from Git; with `Report` it is left as it is. Either way it
 * is recorded, and reported (condition `Drifted`, Event, metric) when `diffDiscovery` is true.
 *
 * The guard is the pipeline's review hook between plan and apply (src/sync.ts `review`), so the
 * pipeline needs no knowledge of drift. It decides by each action's `cause`, never by its wording, and
 * never keeps a value beyond handing the action on.
 */
import type { EntryKind } from '../entry.js';
import type { Action, ActionResult } from '../plan/actions.js';
import type { PlanReview } from '../sync.js';

export interface DriftedEntry {
  storeName: string;
  key?: string;
  kind: EntryKind;
  /** Store type (`gcp`, `aws`, …): the metric's `provider` label. */
  store: string;
  /** Whether the entry was overwritten from Git. */
  corrected: boolean;
}

export interface DriftFindings {
  /** This reconcile was a store verification (drift is only judged then). */
  verified: boolean;
  entries: DriftedEntry[];
  /** `diffDiscovery`: report drift (condition, Event, metric). */
  report: boolean;
  policy: 'Report' | 'Correct';
}

/** An action that, on a verification, means the store was changed outside Git. */
export function isDriftAction(a: Action): boolean {
  if (a.type !== 'update' && a.type !== 'enable' && a.type !== 'disable') return false;
  // Adoption and stores that cannot read values are not evidence of a change outside Git.
  return a.cause === 'changed' || a.cause === 'disabled';
}

export class DriftGuard {
  readonly entries: DriftedEntry[] = [];

  constructor(private readonly policy: 'Report' | 'Correct') {}

  /**
   * The pipeline's review hook (`SyncRequest.review`, between plan and apply): records each drift
   * action; under `Correct` it is applied (reworded), under `Report` it is settled as a noop, unwritten.
   */
  readonly review: PlanReview = (store, actions) =>
    actions.map((a): Action | ActionResult => {
      if (!isDriftAction(a)) return a;
      const correct = this.policy === 'Correct';
      this.entries.push({
        storeName: a.storeName,
        ...(a.key !== undefined ? { key: a.key } : {}),
        kind: a.kind,
        store: store.type,
        corrected: correct,
      });
      if (correct) return { ...a, reason: `drift corrected from Git (${a.reason})` };
      // Reported as drift, not as the state Git wants (`enabled`): nothing was written.
      return {
        action: {
          type: 'noop',
          cause: 'drifted',
          ...(a.key !== undefined ? { key: a.key } : {}),
          storeName: a.storeName,
          kind: a.kind,
          reason: `drifted: changed outside Git (${a.reason}); driftPolicy Report`,
        },
        ok: true,
        wrote: false,
      };
    });
}

/** Value-free message naming the drifted entries (at most 10). */
export function driftMessage(entries: readonly DriftedEntry[], policy: 'Report' | 'Correct'): string {
  const names = [...new Set(entries.map((e) => e.storeName))];
  const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
  return policy === 'Correct'
    ? `${names.length} entr${names.length === 1 ? 'y' : 'ies'} changed outside Git, restored from Git: ${shown}`
    : `${names.length} entr${names.length === 1 ? 'y' : 'ies'} changed outside Git (driftPolicy Report, left as found): ${shown}`;
}

/** Report what a verification found (with `diffDiscovery`): a Warning Event and the metric. */
export async function reportDrift(
  drift: DriftFindings | undefined,
  sink: {
    event: (e: { type: 'Warning'; reason: string; message: string }) => Promise<void>;
    count: (provider: string, n: number) => void;
    log: { warn: (obj: object, msg: string) => void };
  },
): Promise<void> {
  if (!drift?.report || !drift.verified || drift.entries.length === 0) return;
  const perStore = new Map<string, number>();
  for (const e of drift.entries) perStore.set(e.store, (perStore.get(e.store) ?? 0) + 1);
  for (const [provider, n] of perStore) sink.count(provider, n);
  const message = driftMessage(drift.entries, drift.policy);
  sink.log.warn({ drifted: drift.entries.map((e) => e.storeName), policy: drift.policy }, 'drift detected');
  await sink.event({ type: 'Warning', reason: 'DriftDetected', message });
}

/**
 * When store verification is due after the last full sync: `drift_check_interval` plus a stable
 * per-SMC offset of up to 10 % of it, so a fleet synced at once does not verify all at once.
 */
export function verificationDueMs(intervalMs: number, smcId: string): number {
  let h = 2166136261;
  for (let i = 0; i < smcId.length; i++) h = Math.imul(h ^ smcId.charCodeAt(i), 16777619) >>> 0;
  return intervalMs + Math.floor((h / 2 ** 32) * intervalMs * 0.1);
}
