import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SmcError } from '../../errors.js';
import { utf8Bytes } from '../../naming/limits.js';
import { nameProblem } from '../../naming/name.js';
import type { Action, ActionResult } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { passiveResult } from '../../plan/results.js';
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
    const first = this.resolveActions(snap, owner, actions);
    if (!first.changed && !needsRepair(snap)) return first.results;
    const refusal = this.foreignDirRefusal(snap);
    if (refusal !== undefined) return failWrites(first.results, refusal, this.dir);

    try {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      return await withDirLock(this.dir, this.lockTimeoutMs, async () => {
        // Decide again on the state as it is under the lock: another writer may have run meanwhile.
        const current = await snapshot(this.dir);
        const outcome = this.resolveActions(current, owner, actions);
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

  private resolveActions(snap: Snapshot, owner: Owner, actions: readonly Action[]): Resolution {
    const next = new Map([...snap.managed].map(([n, e]) => [n, { ...e }]));
    const results: ActionResult[] = [];
    let changed = false;
    const fail = (action: Action, message: string) =>
      results.push({ action, ok: false, message, wrote: false });

    for (const action of actions) {
      const name = action.storeName;
      if (action.type === 'noop' || action.type === 'conflict') {
        results.push(passiveResult(action, versionOf(next.get(name))));
        continue;
      }
      const problem = nameProblem(localNaming, name);
      if (problem !== undefined) {
        fail(action, `"${name}" is not a valid local file name: ${problem}`);
        continue;
      }
      const cur = next.get(name);
      const top = snap.top.get(name);
      if (cur !== undefined && !sameOwner(cur.owner, owner) && action.type !== 'update') {
        fail(action, `"${name}" is owned by ${cur.owner.namespace}/${cur.owner.name}`);
        continue;
      }

      let entry: ManagedEntry;
      if (action.type === 'create' || action.type === 'update') {
        if (action.value === undefined) {
          fail(action, `${action.type} of "${name}" carries no value`);
          continue;
        }
        const unmanaged = snap.foreign.has(name) || (top !== undefined && top !== 'ours');
        if (action.type === 'create' && cur === undefined && unmanaged) {
          fail(action, `"${name}" already exists in ${this.dir} and was not created by us`);
          continue;
        }
        entry = {
          key: action.key ?? cur?.key,
          kind: action.kind,
          enabled: action.enabled ?? cur?.enabled ?? true,
          owner: { namespace: owner.namespace, name: owner.name },
          version: cur?.version ?? 0,
          value: action.value,
        };
      } else if (action.type === 'enable' || action.type === 'disable') {
        if (cur === undefined) {
          fail(action, `"${name}" does not exist in ${this.dir}`);
          continue;
        }
        const value = action.type === 'enable' && action.value !== undefined ? action.value : cur.value;
        if (value === undefined && action.type === 'enable') {
          fail(action, `the stored value of "${name}" is lost; it can only be re-enabled with a value`);
          continue;
        }
        entry = { ...cur, enabled: action.type === 'enable', value };
      } else if (action.type === 'prune') {
        if (cur === undefined) {
          results.push({ action, ok: true, wrote: false });
          continue;
        }
        if (action.deletion === 'Delete') {
          next.delete(name);
          changed = true;
          results.push({ action, ok: true, wrote: true });
          continue;
        }
        if (action.deletion !== 'Disable') {
          fail(action, `prune of "${name}" has no deletion (Disable or Delete)`);
          continue;
        }
        entry = { ...cur, enabled: false };
      } else {
        fail(action, `unknown action type for "${name}"`);
        continue;
      }

      const blocked = top === 'dir' || top === 'other';
      if (blocked && (cur === undefined || entry.enabled)) {
        fail(action, `${join(this.dir, name)} is a directory or special file not created by us`);
        continue;
      }
      if (entry.value !== undefined && utf8Bytes(entry.value) > this.limits.maxValueBytes) {
        fail(
          action,
          `key "${action.key ?? name}" is over the local limit of ${this.limits.maxValueBytes} bytes`,
        );
        continue;
      }
      const valueChanged = cur === undefined || cur.value !== entry.value;
      if (valueChanged) entry.version = (cur?.version ?? 0) + 1;
      const wrote = cur === undefined || valueChanged || !sameEntry(cur, entry);
      if (wrote) {
        next.set(name, entry);
        changed = true;
      }
      results.push({ action, ok: true, wrote, version: String(entry.version) });
    }
    return { results, next, changed };
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

function sameEntry(a: ManagedEntry, b: ManagedEntry): boolean {
  return (
    a.value === b.value &&
    a.enabled === b.enabled &&
    a.kind === b.kind &&
    a.key === b.key &&
    sameOwner(a.owner, b.owner)
  );
}
