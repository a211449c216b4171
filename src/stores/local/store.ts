import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SmcError } from '../../errors.js';
import { utf8Bytes } from '../../naming/limits.js';
import { nameProblem } from '../../naming/name.js';
import type { Action, ActionResult } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { applyActions } from '../apply.js';
import { entryMapHandlers, refusalMessage } from '../entry-map.js';
import type { Owner, SecretStore, StoreLimits, StoredEntry } from '../store.js';
import { DIR_MODE, commit, failWrites, repair } from './commit.js';
import { describeFsError } from './layout.js';
import { withDirLock } from './lock.js';
import { LOCAL_LIMITS, localNaming } from './naming.js';
import { type ManagedEntry, type Snapshot, needsRepair, readUnmanaged, snapshot } from './snapshot.js';

export interface LocalDirStoreOptions {
  /**
   * Mode of the entry files. Default 0o600, not the kubelet's 0o644: this directory holds decrypted
   * secrets on a workstation or shared host, where "readable by every local user" is a leak. Widen it
   * (e.g. 0o644) only when the reading application runs as another user.
   */
  fileMode?: number;
  /** How long an apply waits for another process's write lock before failing. Default 10 s. */
  lockTimeoutMs?: number;
  /**
   * Write into a directory that holds files and is not (yet) a store of ours. Default false: such a
   * directory is refused, naming it, so a mistyped path never mixes secrets into someone's files.
   * Either way, nothing this store did not write is ever removed. (CLI: `--allow-non-empty-dir`.)
   */
  allowNonEmptyDir?: boolean;
}

interface Resolution {
  results: ActionResult[];
  next: Map<string, ManagedEntry>;
  changed: boolean;
}

/**
 * The `local` store: a directory laid out exactly as the kubelet lays out a mounted Secret (see
 * `local/layout.ts`), so applications hot-reload from it the same way, with no cluster.
 *
 * An apply builds the complete new payload in a fresh timestamped directory (files and directories
 * fsynced), adds links for new names (dangling for an instant, as the kubelet does), swaps `..data`
 * with rename(2), then removes links of names that left and the old payload. A process killed at
 * any point leaves `..data` on a complete payload, the old or the new one; the next apply (or any
 * apply once damage is seen) removes the leftovers. An apply that changes nothing touches nothing.
 *
 * Disabled entries are not in the payload's visible files and have no top-level link; their values
 * stay in `.smc/disabled/` inside the payload, so re-enabling restores them.
 */
export class LocalDirStore implements SecretStore {
  readonly type = 'local';
  readonly target: string;
  readonly naming = localNaming;
  readonly limits: StoreLimits = LOCAL_LIMITS;
  private readonly dir: string;
  private readonly fileMode: number;
  private readonly lockTimeoutMs: number;
  private readonly allowNonEmptyDir: boolean;

  constructor(dir: string, options: LocalDirStoreOptions = {}) {
    this.dir = resolve(dir);
    this.target = this.dir;
    this.fileMode = options.fileMode ?? 0o600;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.allowNonEmptyDir = options.allowNonEmptyDir ?? false;
  }

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    let snap: Snapshot;
    try {
      snap = await snapshot(this.dir);
    } catch (e) {
      throw this.storeError('read', e);
    }
    const out = new Map<string, StoredEntry>();
    const wanted = new Set(names);
    for (const [name, m] of snap.managed) {
      if (sameOwner(m.owner, owner) || wanted.has(name)) out.set(name, toStored(name, m));
    }
    for (const name of wanted) {
      if (out.has(name) || nameProblem(localNaming, name) !== undefined) continue;
      const foreign = snap.foreign.get(name);
      const kind = snap.top.get(name);
      if (foreign !== undefined) {
        out.set(name, { storeName: name, enabled: true, value: foreign.toString('utf8') });
      } else if (kind !== undefined && kind !== 'ours') {
        out.set(name, { storeName: name, enabled: true, value: await readUnmanaged(this.dir, name, kind) });
      }
    }
    return [...out.values()].sort((a, b) => (a.storeName < b.storeName ? -1 : 1));
  }

  async apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    let snap: Snapshot;
    try {
      snap = await snapshot(this.dir);
    } catch (e) {
      const message = this.storeError('read', e).message;
      return actions.map((action) => ({ action, ok: false, message, wrote: false }));
    }
    const first = await this.resolveActions(snap, owner, actions);
    if (!first.changed && !needsRepair(snap)) return first.results;
    const refusal = this.foreignDirRefusal(snap);
    if (refusal !== undefined) return failWrites(first.results, refusal, this.dir);

    try {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      return await withDirLock(this.dir, this.lockTimeoutMs, async () => {
        // Decide again on the state as it is under the lock: another writer may have run meanwhile.
        const current = await snapshot(this.dir);
        const outcome = await this.resolveActions(current, owner, actions);
        const refused = this.foreignDirRefusal(current);
        if (refused !== undefined) return failWrites(outcome.results, refused, this.dir);
        if (!outcome.changed) {
          await repair(this.dir, current).catch(() => undefined); // best effort; retried on the next apply
          return outcome.results;
        }
        try {
          await commit(this.dir, this.fileMode, current, outcome.next);
        } catch (e) {
          return failWrites(outcome.results, e, this.dir);
        }
        return outcome.results;
      });
    } catch (e) {
      if (!first.changed) return first.results; // only a repair was due; it will be retried
      return failWrites(first.results, e, this.dir);
    }
  }

  /** Why this directory must not be written (non-empty, not ours, not allowed), or undefined. */
  private foreignDirRefusal(snap: Snapshot): SmcError | undefined {
    if (snap.ours || this.allowNonEmptyDir || snap.unrecognized.length === 0) return undefined;
    const shown = snap.unrecognized
      .slice(0, 3)
      .map((n) => JSON.stringify(n))
      .join(', ');
    const more = snap.unrecognized.length > 3 ? ` and ${snap.unrecognized.length - 3} more` : '';
    return new SmcError(
      'Conflict',
      `${this.dir} is not empty and not a local store written by this tool (it holds ${shown}${more}); ` +
        `use an empty directory, or pass --allow-non-empty-dir (store option allowNonEmptyDir) to write ` +
        `beside what is there (nothing of it is removed)`,
    );
  }

  // ---- planning against the directory's state (pure) ----

  private async resolveActions(
    snap: Snapshot,
    owner: Owner,
    actions: readonly Action[],
  ): Promise<Resolution> {
    const next = new Map([...snap.managed].map(([n, e]) => [n, { ...e }]));
    const limit = this.limits.maxValueBytes;
    const results = await applyActions(actions, {
      naming: localNaming,
      nameKind: 'local file name',
      passiveVersion: (a) => versionOf(next.get(a.storeName)),
      handlers: entryMapHandlers(next, owner, {
        where: `in ${this.dir}`,
        occupied: (name) => snap.foreign.has(name) || (snap.top.get(name) ?? 'ours') !== 'ours',
        settle: (name, before, after) => {
          const top = snap.top.get(name);
          if ((top === 'dir' || top === 'other') && (before === undefined || after.enabled)) {
            return { refusal: `${join(this.dir, name)} is a directory or special file not created by us` };
          }
          if (after.value !== undefined && utf8Bytes(after.value) > limit) {
            return { refusal: `key "${after.key ?? name}" is over the local limit of ${limit} bytes` };
          }
          const valueChanged = before === undefined || before.value !== after.value;
          after.version = valueChanged ? (before?.version ?? 0) + 1 : after.version;
          return { version: String(after.version) };
        },
      }),
      failure: (e) => refusalMessage(e) ?? this.storeError('apply', e).message,
    });
    return { results, next, changed: results.some((r) => r.ok && r.wrote) };
  }

  private storeError(what: string, e: unknown): SmcError {
    if (e instanceof SmcError) return e;
    return new SmcError('StoreError', `cannot ${what} local store ${this.dir}: ${describeFsError(e)}`);
  }
}

function toStored(name: string, m: ManagedEntry): StoredEntry {
  return {
    storeName: name,
    value: m.value,
    enabled: m.enabled,
    owner: { ...m.owner },
    key: m.key,
    kind: m.kind,
    version: String(m.version),
  };
}

function versionOf(m: ManagedEntry | undefined): string | undefined {
  return m === undefined ? undefined : String(m.version);
}
