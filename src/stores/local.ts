import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  symlink,
  unlink,
} from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { EntryKind } from '../entry.js';
import { SmcError } from '../errors.js';
import { STORE_LIMITS, utf8Bytes } from '../naming/limits.js';
import { nameProblem } from '../naming/name.js';
import { localNaming } from '../naming/store-rules.js';
import type { Action, ActionResult } from '../plan/actions.js';
import { sameOwner } from '../plan/plan.js';
import { passiveResult } from '../plan/results.js';
import {
  DATA_LINK,
  DATA_TMP_LINK,
  DISABLED_DIR,
  LINK_TMP_PREFIX,
  LOCK_FILE,
  MANIFEST_FILE,
  META_DIR,
  PAYLOAD_MARKER,
  PAYLOAD_MARKER_TEXT,
  describeFsError,
  fsyncDir,
  isErrno,
  isPayloadDirName,
  linkTarget,
  newPayloadDirName,
  writeFileDurable,
} from './local/layout.js';
import {
  hasStaleLock,
  isLockGuardName,
  isStaleGuard,
  isStaleLockTemp,
  removeStaleGuards,
  withDirLock,
} from './local/lock.js';
import type { Owner, SecretStore, StoreLimits, StoredEntry } from './store.js';

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

/** Payload and link directories are 0o755 as the kubelet makes them: names are not secret, values are. */
const DIR_MODE = 0o755;
const META_MODE = 0o700;
const META_FILE_MODE = 0o600;
const MANIFEST_FORMAT = 1;

interface ManifestEntry {
  name: string;
  key?: string;
  kind: EntryKind;
  enabled: boolean;
  owner: Owner;
  /** Incremented each time the entry's value is written (like a cloud store's version number). */
  version: number;
}

interface ManagedEntry extends Omit<ManifestEntry, 'name'> {
  /** Undefined only when the payload has lost the file (then every plan rewrites it). */
  value: string | undefined;
}

/** What sits at a top-level name: our link (`name -> ..data/name`), or something we did not make. */
type TopKind = 'ours' | 'file' | 'link' | 'dir' | 'other';

interface Snapshot {
  /** The payload directory `..data` points to. */
  payload?: string;
  managed: Map<string, ManagedEntry>;
  /** Files in the payload that the manifest does not list (a payload we did not write): carried over as-is. */
  foreign: Map<string, Buffer>;
  top: Map<string, TopKind>;
  /** Remains of an interrupted apply: our unlinked payload dirs, `..data_tmp`, temp links, lock debris. */
  leftovers: string[];
  /** Whether `..data` points to a payload this store wrote. */
  ours: boolean;
  /** Top-level names this store did not write (neither its entries nor its bookkeeping). */
  unrecognized: string[];
}

interface Resolution {
  results: ActionResult[];
  next: Map<string, ManagedEntry>;
  changed: boolean;
}

class PayloadChanged extends Error {}

/** Thrown when the new data is live but the top-level links could not be brought in line. */
class AfterSwapError extends Error {}

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
  readonly limits: StoreLimits = STORE_LIMITS.local;
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
      snap = await this.snapshot();
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
        out.set(name, { storeName: name, enabled: true, value: await this.readUnmanaged(name, kind) });
      }
    }
    return [...out.values()].sort((a, b) => (a.storeName < b.storeName ? -1 : 1));
  }

  async apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    let snap: Snapshot;
    try {
      snap = await this.snapshot();
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
        const current = await this.snapshot();
        const outcome = this.resolveActions(current, owner, actions);
        const refused = this.foreignDirRefusal(current);
        if (refused !== undefined) return failWrites(outcome.results, refused, this.dir);
        if (!outcome.changed) {
          await this.repair(current).catch(() => undefined); // best effort; retried on the next apply
          return outcome.results;
        }
        try {
          await this.commit(current, outcome.next);
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

  // ---- reading ----

  private async snapshot(): Promise<Snapshot> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.snapshotOnce();
      } catch (e) {
        // A concurrent writer swapped `..data` and removed the payload we were reading: read again.
        if (attempt < 5 && (e instanceof PayloadChanged || isErrno(e, 'ENOENT'))) continue;
        throw e;
      }
    }
  }

  private async snapshotOnce(): Promise<Snapshot> {
    const snap: Snapshot = {
      managed: new Map(),
      foreign: new Map(),
      top: new Map(),
      leftovers: [],
      ours: false,
      unrecognized: [],
    };
    let dirents: Dirent[];
    try {
      dirents = await readdir(this.dir, { withFileTypes: true });
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return snap;
      throw e;
    }
    snap.payload = await this.readDataLink();
    for (const d of dirents) {
      const n = d.name;
      if (n.startsWith('..')) {
        if (isPayloadDirName(n)) {
          if (n === snap.payload) continue;
          if ((await payloadOrigin(join(this.dir, n))) === 'foreign') snap.unrecognized.push(n);
          else snap.leftovers.push(n);
        } else if (n === DATA_TMP_LINK || n.startsWith(LINK_TMP_PREFIX) || isStaleLockTemp(n)) {
          snap.leftovers.push(n);
        } else if (n === LOCK_FILE) {
          if (await hasStaleLock(this.dir)) snap.leftovers.push(n); // taking it over and releasing removes it
        } else if (isLockGuardName(n)) {
          if (await isStaleGuard(this.dir, n)) snap.leftovers.push(n); // a writer killed mid-take-over
        } else if (n !== DATA_LINK) {
          snap.unrecognized.push(n);
        }
        continue;
      }
      if (n.startsWith('.')) {
        snap.unrecognized.push(n); // never one of our names (see localNaming)
        continue;
      }
      if (d.isSymbolicLink()) {
        snap.top.set(n, (await readlink(join(this.dir, n))) === linkTarget(n) ? 'ours' : 'link');
      } else {
        snap.top.set(n, d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other');
      }
      if (snap.top.get(n) !== 'ours') snap.unrecognized.push(n);
    }
    if (snap.payload === undefined) return snap;
    snap.ours = (await payloadOrigin(join(this.dir, snap.payload))) === 'ours';
    if (!snap.ours) snap.unrecognized.push(DATA_LINK, snap.payload);

    const payloadDir = join(this.dir, snap.payload);
    let files: Dirent[];
    try {
      files = await readdir(payloadDir, { withFileTypes: true });
    } catch (e) {
      if (!isErrno(e, 'ENOENT') || (await this.readDataLink()) !== snap.payload) throw e; // moved: read again
      throw new SmcError(
        'StoreError',
        `${join(this.dir, DATA_LINK)} points to ${snap.payload}, which is missing; remove ${DATA_LINK} to start over`,
      );
    }
    const manifest = await readManifest(payloadDir);
    for (const m of manifest ?? []) {
      const file = m.enabled ? join(payloadDir, m.name) : join(payloadDir, META_DIR, DISABLED_DIR, m.name);
      const value = await readFile(file, 'utf8').catch((e: unknown) => {
        if (isErrno(e, 'ENOENT')) return undefined;
        throw e;
      });
      const { name, ...rest } = m;
      snap.managed.set(name, { ...rest, value });
    }
    for (const f of files) {
      if (f.name.startsWith('.') || snap.managed.has(f.name) || !f.isFile()) continue;
      snap.foreign.set(f.name, await readFile(join(payloadDir, f.name)));
    }
    // Whatever we read must come from one payload; if `..data` moved meanwhile, read again.
    if ((await this.readDataLink()) !== snap.payload) throw new PayloadChanged();
    return snap;
  }

  private async readDataLink(): Promise<string | undefined> {
    let target: string;
    try {
      target = await readlink(join(this.dir, DATA_LINK));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      if (isErrno(e, 'EINVAL')) {
        throw new SmcError(
          'StoreError',
          `${join(this.dir, DATA_LINK)} is not a symlink: not a kubelet-style directory`,
        );
      }
      throw e;
    }
    if (!isPayloadDirName(target)) {
      throw new SmcError('StoreError', `${join(this.dir, DATA_LINK)} points outside the kubelet layout`);
    }
    return target;
  }

  /** The value of a top-level file we did not create; undefined when it is not a file inside DIR. */
  private async readUnmanaged(name: string, kind: TopKind): Promise<string | undefined> {
    const path = join(this.dir, name);
    try {
      if (kind === 'link') {
        const [real, root] = await Promise.all([realpath(path), realpath(this.dir)]);
        if (!real.startsWith(root + sep) || !(await lstat(real)).isFile()) return undefined;
      } else if (kind !== 'file') {
        return undefined;
      }
      return await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
  }

  // ---- writing (under the lock) ----

  private async commit(snap: Snapshot, next: Map<string, ManagedEntry>): Promise<void> {
    const payload = await this.writePayload(next, snap.foreign);
    try {
      // Links for new names first (the kubelet's order): the moment `..data` swaps, every visible
      // entry already has its link; until then the new links dangle, which reads as "not there yet".
      for (const [name, e] of next) {
        if (e.enabled && !snap.top.has(name)) {
          await symlink(linkTarget(name), join(this.dir, name)).catch((err: unknown) => {
            if (!isErrno(err, 'EEXIST')) throw err;
          });
        }
      }
      const tmpLink = join(this.dir, DATA_TMP_LINK);
      await unlink(tmpLink).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      });
      await symlink(payload, tmpLink);
      await rename(tmpLink, join(this.dir, DATA_LINK));
    } catch (e) {
      await rm(join(this.dir, payload), { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    try {
      await fsyncDir(this.dir);
      await this.syncLinks(next, snap.foreign);
      await this.removeLeftovers(payload);
      await fsyncDir(this.dir);
    } catch (e) {
      throw new AfterSwapError(describeFsError(e));
    }
  }

  private async writePayload(next: Map<string, ManagedEntry>, foreign: Map<string, Buffer>): Promise<string> {
    let name = newPayloadDirName();
    for (;;) {
      try {
        await mkdir(join(this.dir, name), { mode: DIR_MODE });
        break;
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
        name = newPayloadDirName();
      }
    }
    const dir = join(this.dir, name);
    try {
      await chmod(dir, DIR_MODE);
      const meta = join(dir, META_DIR);
      await mkdir(meta, { mode: META_MODE });
      await chmod(meta, META_MODE);
      // Marked as ours before anything else goes in: only marked payloads are ever removed.
      await writeFileDurable(join(meta, PAYLOAD_MARKER), PAYLOAD_MARKER_TEXT, META_FILE_MODE);
      const disabledDir = join(meta, DISABLED_DIR);
      await mkdir(disabledDir, { mode: META_MODE });
      await chmod(disabledDir, META_MODE);
      const manifest: ManifestEntry[] = [];
      for (const [n, e] of [...next].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const { value, ...rest } = e;
        manifest.push({ name: n, ...rest });
        if (value === undefined) continue;
        if (e.enabled) await writeFileDurable(join(dir, n), value, this.fileMode);
        else await writeFileDurable(join(disabledDir, n), value, META_FILE_MODE);
      }
      for (const [n, bytes] of foreign) {
        if (!next.has(n)) await writeFileDurable(join(dir, n), bytes, this.fileMode);
      }
      const body = JSON.stringify({ format: MANIFEST_FORMAT, entries: manifest }, null, 2) + '\n';
      await writeFileDurable(join(meta, MANIFEST_FILE), body, META_FILE_MODE);
      await fsyncDir(disabledDir);
      await fsyncDir(meta);
      await fsyncDir(dir);
    } catch (e) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    return name;
  }

  /** Make the top-level links match the payload: one per enabled entry, none for names that left. */
  private async syncLinks(managed: Map<string, ManagedEntry>, foreign: Map<string, Buffer>): Promise<void> {
    const present = new Map<string, TopKind>();
    for (const d of await readdir(this.dir, { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      if (d.isSymbolicLink()) {
        const target = await readlink(join(this.dir, d.name));
        present.set(d.name, target === linkTarget(d.name) ? 'ours' : 'link');
      } else {
        present.set(d.name, d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other');
      }
    }
    for (const [name, e] of managed) {
      if (!e.enabled) continue;
      const kind = present.get(name);
      if (kind === undefined) {
        await symlink(linkTarget(name), join(this.dir, name));
      } else if (kind === 'file' || kind === 'link') {
        // A name in our manifest is ours (e.g. an adopted file): replace it in one rename.
        const tmp = join(this.dir, LINK_TMP_PREFIX + randomBytes(6).toString('hex'));
        await symlink(linkTarget(name), tmp);
        await rename(tmp, join(this.dir, name));
      }
    }
    for (const [name, kind] of present) {
      if (kind !== 'ours' || foreign.has(name)) continue;
      if (managed.get(name)?.enabled !== true) await unlink(join(this.dir, name));
    }
  }

  /** Remove what interrupted applies of ours left: only payloads we marked, our temp names, lock debris. */
  private async removeLeftovers(current: string | undefined): Promise<void> {
    for (const n of await readdir(this.dir)) {
      if (n === current || !n.startsWith('..')) continue;
      if (isPayloadDirName(n)) {
        const path = join(this.dir, n);
        const origin = await payloadOrigin(path);
        if (origin === 'ours') await rm(path, { recursive: true, force: true });
        else if (origin === 'empty') await removeEmptyPayload(path);
      } else if (n.startsWith(LINK_TMP_PREFIX) || isStaleLockTemp(n)) {
        await rm(join(this.dir, n), { recursive: true, force: true });
      } else if (n === DATA_TMP_LINK) {
        await unlink(join(this.dir, n)).catch(() => undefined);
      }
    }
    await removeStaleGuards(this.dir);
  }

  private async repair(snap: Snapshot): Promise<void> {
    if (snap.payload === undefined) {
      await this.removeLeftovers(undefined);
      await this.syncLinks(new Map(), new Map());
      return;
    }
    await this.syncLinks(snap.managed, snap.foreign);
    await this.removeLeftovers(snap.payload);
    await fsyncDir(this.dir);
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

/** Whether the directory shows damage from an interrupted apply (or a hand edit) that an apply should fix. */
function needsRepair(snap: Snapshot): boolean {
  if (snap.leftovers.length > 0) return true;
  for (const [name, e] of snap.managed) {
    const kind = snap.top.get(name);
    if (e.enabled && (kind === undefined || kind === 'file' || kind === 'link')) return true;
  }
  for (const [name, kind] of snap.top) {
    if (kind === 'ours' && snap.managed.get(name)?.enabled !== true && !snap.foreign.has(name)) return true;
  }
  return false;
}

function failWrites(results: ActionResult[], e: unknown, dir: string): ActionResult[] {
  if (e instanceof AfterSwapError) {
    const message = `written, but updating the links in ${dir} failed (${e.message}); the next apply repairs them`;
    return results.map((r) => (r.wrote ? { ...r, ok: false, message } : r));
  }
  const why = e instanceof SmcError ? e.message : `cannot write local store ${dir}: ${describeFsError(e)}`;
  return results.map((r) => (r.wrote ? { action: r.action, ok: false, message: why, wrote: false } : r));
}

/**
 * Who wrote a payload-named directory: this store ('ours': it carries our marker, or the manifest of
 * an earlier version), nobody yet ('empty': a writer killed before the marker, leaving at most an
 * empty `.smc/`), or someone else ('foreign': never removed).
 */
async function payloadOrigin(path: string): Promise<'ours' | 'empty' | 'foreign'> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return 'foreign';
    throw e;
  }
  if (names.length === 0) return 'empty';
  if (names.length === 1 && names[0] === META_DIR) {
    const inMeta = await readdir(join(path, META_DIR)).catch(() => undefined);
    if (inMeta !== undefined && inMeta.length === 0) return 'empty';
  }
  for (const marker of [join(META_DIR, PAYLOAD_MARKER), join(META_DIR, MANIFEST_FILE)]) {
    try {
      if ((await lstat(join(path, marker))).isFile()) return 'ours';
    } catch (e) {
      if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
    }
  }
  return 'foreign';
}

/** Remove a payload directory holding nothing (at most an empty `.smc/`), never anything in it. */
async function removeEmptyPayload(path: string): Promise<void> {
  await rmdir(join(path, META_DIR)).catch(() => undefined);
  await rmdir(path).catch(() => undefined);
}

async function readManifest(payloadDir: string): Promise<ManifestEntry[] | undefined> {
  const path = join(payloadDir, META_DIR, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) {
      // No manifest: a payload we did not write (only if the payload dir itself is there).
      await lstat(payloadDir);
      return undefined;
    }
    throw e;
  }
  // The parser's own message may quote the input, so it is not passed on.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SmcError('StoreError', `${path} is not valid JSON`);
  }
  const entries = (parsed as { format?: unknown; entries?: unknown }).entries;
  if ((parsed as { format?: unknown }).format !== MANIFEST_FORMAT || !Array.isArray(entries)) {
    throw new SmcError('StoreError', `${path} has an unknown format`);
  }
  return entries.map((raw: unknown, i) => {
    const e = raw as Partial<ManifestEntry> | null;
    const ok =
      e !== null &&
      typeof e.name === 'string' &&
      nameProblem(localNaming, e.name) === undefined &&
      (e.kind === 'secret' || e.kind === 'config') &&
      typeof e.enabled === 'boolean' &&
      typeof e.owner?.namespace === 'string' &&
      typeof e.owner.name === 'string' &&
      typeof e.version === 'number' &&
      (e.key === undefined || typeof e.key === 'string');
    if (!ok) throw new SmcError('StoreError', `${path}: entry ${i} is malformed`);
    return e as ManifestEntry;
  });
}
