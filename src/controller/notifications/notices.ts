/**
 * What a reconcile has to tell the notification sinks (Flux Provider, Argo CD Application), once.
 *
 * A failure is noticed when a reconcile fails; the same failure again (a backoff retry: same
 * reason, same message) is not noticed again until it changes, or clears (a successful sync).
 * Drift is noticed when a store verification reports it (`diffDiscovery`); the same drifted entries
 * found again by the next verification are not noticed again until a verification finds none.
 * Messages are the value-free status messages.
 */
import { type DriftFindings, driftMessage } from '../drift.js';

/** The parts of a reconcile outcome notifications read. */
export interface NotifiableOutcome {
  result: 'success' | 'error' | 'skipped';
  error?: { reason: string; message: string };
  revision?: string;
  drift?: DriftFindings;
}

export type Notice =
  | { kind: 'failure'; severity: 'error'; reason: string; message: string; revision?: string }
  | {
      kind: 'drift';
      /** `error` when left as found (`driftPolicy: Report`), `info` when restored from Git. */
      severity: 'error' | 'info';
      reason: 'DriftDetected';
      message: string;
      revision?: string;
      entries: number;
    };

export interface NoticeChanges {
  /** New notices to send. */
  send: Notice[];
  /** Kinds whose condition cleared since it was noticed. */
  cleared: Notice['kind'][];
}

export class NoticeTracker {
  private readonly last = new Map<string, { failure?: string; drift?: string }>();

  /** The notices `outcome` gives for the SMC `key`, given what was noticed before. */
  next(key: string, outcome: NotifiableOutcome): NoticeChanges {
    const state = this.last.get(key) ?? {};
    const send: Notice[] = [];
    const cleared: Notice['kind'][] = [];

    const drift = outcome.drift;
    if (drift?.verified) {
      if (drift.report && drift.entries.length > 0) {
        const message = driftMessage(drift.entries, drift.policy);
        if (state.drift !== message) {
          state.drift = message;
          send.push({
            kind: 'drift',
            severity: drift.policy === 'Correct' ? 'info' : 'error',
            reason: 'DriftDetected',
            message,
            ...(outcome.revision ? { revision: outcome.revision } : {}),
            entries: new Set(drift.entries.map((e) => e.storeName)).size,
          });
        }
      } else if (state.drift !== undefined) {
        state.drift = undefined;
        cleared.push('drift');
      }
    }

    if (outcome.error) {
      const id = `${outcome.error.reason}\n${outcome.error.message}`;
      if (state.failure !== id) {
        state.failure = id;
        send.push({
          kind: 'failure',
          severity: 'error',
          reason: outcome.error.reason,
          message: outcome.error.message,
          ...(outcome.revision ? { revision: outcome.revision } : {}),
        });
      }
    } else if (outcome.result === 'success' && state.failure !== undefined) {
      state.failure = undefined;
      cleared.push('failure');
    }

    if (state.failure === undefined && state.drift === undefined) this.last.delete(key);
    else this.last.set(key, state);
    return { send, cleared };
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}
