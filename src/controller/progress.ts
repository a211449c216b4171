/**
 * The in-progress status writes of one reconcile (`Pending`, `Syncing`: src/controller/status.ts
 * `progressStatus`), made only for a pass that is still running `delayMs` after its first report.
 * A pass that finishes sooner (the common case: a new revision with the same content, a store that
 * answers quickly) writes its final status only, one status write instead of two; at fleet scale
 * that is a third of a pass's apiserver round trips (docs/performance.md). A report made once the
 * delay has passed is written at once; of the reports made before, only the last is written.
 * `delayMs` 0: every report is written at once, before the reconcile goes on.
 *
 * Writes are best effort (the final status is written either way) and never overlap; `settle`
 * ends the reporting and says what was written last, which the final status is computed from.
 */
import type { SecretManagerConfigStatus } from '../api/index.js';

/** How long a pass runs before its in-progress status is written (the controller's value). */
export const PROGRESS_DELAY_MS = 1_000;

export class ProgressReporter {
  private due: boolean;
  private queued: SecretManagerConfigStatus | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** The last in-progress status written (undefined: none). */
  written: SecretManagerConfigStatus | undefined;

  constructor(
    private readonly write: (status: SecretManagerConfigStatus) => Promise<void>,
    private readonly delayMs: number,
  ) {
    this.due = delayMs <= 0;
  }

  /** Report `status`: written at once (resolves when done) once the delay has passed, else queued. */
  report(status: SecretManagerConfigStatus): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.due) return this.enqueue(status);
    this.queued = status;
    this.timer ??= setTimeout(() => {
      this.due = true;
      const queued = this.queued;
      this.queued = undefined;
      if (queued) void this.enqueue(queued);
    }, this.delayMs);
    return Promise.resolve();
  }

  /** No more writes (a queued one is dropped); waits for one in flight. Returns the last written. */
  async settle(): Promise<SecretManagerConfigStatus | undefined> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queued = undefined;
    await this.chain;
    return this.written;
  }

  private enqueue(status: SecretManagerConfigStatus): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await this.write(status);
        this.written = status;
      } catch {
        // Best effort: the final status is written after the work either way.
      }
    });
    return this.chain;
  }
}
