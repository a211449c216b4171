/** Graceful reload: load, validate, swap atomically, keep the old values on any failure, report. */
import { SmcError } from '../../errors.js';
import { coalesce } from './coalesce.js';
import { describeError } from './describe-error.js';

/**
 * Throw this from `validate` (or `load`) to refuse new values with a message that is safe to log and
 * to return over HTTP. Name the key and the rule, never the value: `DB_URL: not a postgres:// URL`.
 * Messages of other errors are withheld from outcomes, because they may quote content
 * (`JSON.parse` errors do).
 */
export class ReloadValidationError extends SmcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('InvalidSpec', message, options);
    this.name = 'ReloadValidationError';
  }
}

interface OutcomeBase {
  /** When the reload finished. */
  at: Date;
  durationMs: number;
  /** Generation now served: incremented by every successful swap (the initial load is 1). */
  generation: number;
}

export interface ReloadSuccess extends OutcomeBase {
  ok: true;
  status: 'reloaded';
}

export interface ReloadFailure extends OutcomeBase {
  ok: false;
  status: 'failed';
  /** Which step refused the new values. */
  stage: 'load' | 'validate';
  /** Safe to log: a `ReloadValidationError`'s message, an errno code, or just the error's type. */
  message: string;
  /** The error itself, for the application (its message may quote content: do not log it blindly). */
  error: unknown;
}

export type ReloadOutcome = ReloadSuccess | ReloadFailure;

/**
 * Check new values before they are served. Throw (preferably a `ReloadValidationError`) or return
 * `false` or a message to refuse them; return nothing or `true` to accept.
 */
export type Validate<T> = (
  next: T,
  previous: T | undefined,
) => void | boolean | string | Promise<void | boolean | string>;

export interface Reloadable<T> {
  /** The values in use. Call it at each use rather than keeping the result, so a swap takes effect. */
  current(): T;
  /** Load and validate new values; swap them in only if both succeed. Concurrent calls are coalesced. */
  reload(): Promise<ReloadOutcome>;
  /** Called with every outcome (success or failure). Returns an unsubscribe function. */
  onOutcome(listener: (outcome: ReloadOutcome) => void): () => void;
  /** The outcome of the latest reload (the initial load at first). */
  lastOutcome(): ReloadOutcome;
}

/**
 * Hold values that can be reloaded safely.
 *
 * Loads and validates once (throwing that error if the first load fails: there is nothing to fall back
 * on), then each `reload()` loads and validates again and swaps the new values in with a single
 * assignment — readers see the old values or the new ones, never a mix — or, on any failure, keeps
 * serving the old values and reports why. Reloads never overlap: calls during a reload are served by
 * one more reload after it.
 *
 * @example
 * ```ts
 * const secrets = await createReloadable(
 *   async () => ({ dbPassword: (await readFile('/etc/secrets/DB_PASSWORD', 'utf8')).trim() }),
 *   (next) => { if (!next.dbPassword) throw new ReloadValidationError('DB_PASSWORD is empty'); },
 * );
 * secrets.onOutcome((o) => o.ok ? log.info('secrets reloaded') : log.error(`reload refused: ${o.message}`));
 * watchSecretDir('/etc/secrets', () => secrets.reload());
 * ```
 */
export async function createReloadable<T>(
  load: () => T | Promise<T>,
  validate?: Validate<T>,
): Promise<Reloadable<T>> {
  let value: T;
  let generation = 0;
  const listeners = new Set<(o: ReloadOutcome) => void>();

  const attempt = async (
    previous: T | undefined,
  ): Promise<{ next: T } | Omit<ReloadFailure, keyof OutcomeBase>> => {
    let next: T;
    try {
      next = await load();
    } catch (error) {
      return failure('load', error);
    }
    try {
      const verdict = validate ? await validate(next, previous) : undefined;
      if (verdict === false) return failure('validate', new ReloadValidationError('validation failed'));
      if (typeof verdict === 'string') return failure('validate', new ReloadValidationError(verdict));
    } catch (error) {
      return failure('validate', error);
    }
    return { next };
  };

  const started = performance.now();
  const first = await attempt(undefined);
  if (!('next' in first)) throw first.error;
  value = first.next;
  generation = 1;
  let last: ReloadOutcome = {
    ok: true,
    status: 'reloaded',
    generation,
    at: new Date(),
    durationMs: performance.now() - started,
  };

  const reload = coalesce(async (): Promise<ReloadOutcome> => {
    const t0 = performance.now();
    const result = await attempt(value);
    if ('next' in result) {
      value = result.next; // the swap: one assignment
      generation += 1;
      last = { ok: true, status: 'reloaded', generation, at: new Date(), durationMs: performance.now() - t0 };
    } else {
      last = { ...result, generation, at: new Date(), durationMs: performance.now() - t0 };
    }
    for (const listener of listeners) {
      try {
        listener(last);
      } catch {
        // A listener's failure must not turn a reload into a failure, nor stop the other listeners.
      }
    }
    return last;
  });

  return {
    current: () => value,
    reload,
    onOutcome(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    lastOutcome: () => last,
  };
}

function failure(stage: 'load' | 'validate', error: unknown): Omit<ReloadFailure, keyof OutcomeBase> {
  return { ok: false, status: 'failed', stage, error, message: `${stage} failed: ${describeError(error)}` };
}
