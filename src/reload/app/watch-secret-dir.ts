/**
 * Change detection for mounted secret directories: fs.watch on the directory (never on the files),
 * a debounce over each burst of events, content comparison, and a slow poll as a safety net.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmcError } from '../../errors.js';
import { coalesce } from './coalesce.js';
import { reportToStderr } from './describe-error.js';
import {
  defaultKeyFilter,
  diffDigests,
  readDirSnapshot,
  sameDigests,
  type DirLayout,
  type KeyFilter,
  type Snapshot,
} from './snapshot.js';

/** What made the library look: a file-system event, the periodic poll, `check()`, or the start. */
export type ChangeTrigger = 'watch' | 'poll' | 'check' | 'initial';

/**
 * One real change of content, reported once. Key names only describe what changed; the values are
 * in `files`, for the application to use (never log them).
 */
export interface SecretChange {
  /** Every key whose content differs from the last report: `added` ∪ `modified` ∪ `removed`, sorted. */
  changed: string[];
  /** Keys that did not exist before. */
  added: string[];
  /** Keys that exist before and after, with different content. */
  modified: string[];
  /** Keys that no longer exist. */
  removed: string[];
  /**
   * The complete new content, key → bytes, read as one consistent version (for a kubelet volume: from
   * a single payload directory, never half old and half new). Keys are paths relative to the watched
   * directory (`tls.crt`, or `config/app.yaml` for nested items); for `pollForChanges(files)`, the paths
   * as given.
   */
  files: ReadonlyMap<string, Buffer>;
  /** `missing` when the directory itself is gone (then every key is in `removed`). */
  layout: DirLayout;
  trigger: ChangeTrigger;
}

export type ChangeListener = (change: SecretChange) => void | Promise<void>;

/** Where the library reports what goes wrong (never with a value). */
export type ErrorListener = (error: unknown, context: string) => void;

export interface WatchSecretDirOptions {
  /**
   * Quiet time after the last file-system event before the directory is read, so one kubelet swap
   * (5–10 events) or one editor save is read once, complete. In a plain (non-kubelet) directory a
   * change is also confirmed by a second read this long after the first, so a file caught mid-save is
   * never reported. Default 100 ms.
   */
  debounceMs?: number;
  /** A burst of events that never goes quiet is still read after this long. Default 1000 ms. */
  maxWaitMs?: number;
  /**
   * Safety-net poll for events that never arrive (inotify queue overflow, network file systems,
   * platforms without inotify). Default 30 000 ms; `0` turns it off (only allowed with `fsWatch`).
   * While fs.watch cannot be used (e.g. the inotify watch limit is reached), the library polls every
   * 2 s or `pollIntervalMs`, whichever is shorter.
   */
  pollIntervalMs?: number;
  /** Use fs.watch. Default true; `false` means polling only (and is how tests simulate missed events). */
  fsWatch?: boolean;
  /** Which keys count. Default `defaultKeyFilter` (skips editor swap/backup files). */
  filter?: KeyFilter;
  /** Also report the content found at start (all keys in `added`, trigger `initial`). Default false. */
  emitInitial?: boolean;
  /** Keep the process alive while watching, as `fs.watch`'s option. Default true. */
  persistent?: boolean;
  /** Errors (unreadable directory, watch failures, a throwing `onChange`). Default: one line on stderr. */
  onError?: ErrorListener;
  /** Stops the watcher when aborted, like calling `close()`. */
  signal?: AbortSignal;
}

export interface SecretWatcher {
  /** Resolves once the initial content has been read (changes after that are reported). */
  readonly ready: Promise<void>;
  /** Look now (e.g. on SIGHUP), and resolve when that look, and any report it causes, is done. */
  check(): Promise<void>;
  /** Stop watching. Resolves when no report is running; none is made afterwards. */
  close(): Promise<void>;
}

const DEFAULT_DEBOUNCE_MS = 100;
const DEFAULT_MAX_WAIT_MS = 1_000;
const DEFAULT_POLL_MS = 30_000;
const DEGRADED_POLL_MS = 2_000;

/**
 * Watch a mounted secret (or ConfigMap) directory and call `onChange` once per real change of its
 * content.
 *
 * Works with the kubelet's AtomicWriter (`..data` symlink swap), with editors' rename-on-save and
 * backup-rename saves, with the `local` store of this project, and with a directory that does not exist
 * yet or is deleted and re-created. A swap that leaves the content identical reports nothing. The
 * callback is never called concurrently with itself.
 *
 * @example
 * ```ts
 * const watcher = watchSecretDir('/etc/secrets', ({ changed, files }) => {
 *   log.info({ changed }, 'secrets changed');   // key names only
 *   db.setPassword(files.get('DB_PASSWORD')!.toString('utf8'));
 * });
 * await watcher.ready;
 * ```
 */
export function watchSecretDir(
  dir: string,
  onChange: ChangeListener,
  options: WatchSecretDirOptions = {},
): SecretWatcher {
  const root = resolve(dir);
  const filter = options.filter ?? defaultKeyFilter;
  return new ChangeDetector(() => readDirSnapshot(root, filter), root, onChange, options, `watching ${root}`);
}

/**
 * The engine shared by `watchSecretDir` and `pollForChanges`: serialised reads, debounce,
 * confirmation of changes to non-atomic directories, watcher upkeep and polling.
 */
export class ChangeDetector implements SecretWatcher {
  readonly ready: Promise<void>;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;
  private readonly pollIntervalMs: number;
  private readonly fsWatch: boolean;
  private readonly persistent: boolean;
  private readonly emitInitial: boolean;
  private readonly onError: ErrorListener;
  private readonly stop = new AbortController();
  private readonly scanCoalesced: () => Promise<void>;
  private baseline: Map<string, string> | undefined;
  private nextTrigger: ChangeTrigger | undefined;
  private lastScan: Promise<void> = Promise.resolve();
  private debounceTimer: NodeJS.Timeout | undefined;
  private burstStart: number | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly watchers = new Map<
    string,
    { watcher: FSWatcher; only: string | undefined; identity: string; suspect: boolean }
  >();
  private degraded = false;
  private closed = false;

  /**
   * @param read     reads the current content
   * @param root     directory to watch with fs.watch (undefined: poll only)
   * @param context  names the target in error reports
   */
  constructor(
    private readonly read: () => Promise<Snapshot>,
    private readonly root: string | undefined,
    private readonly onChange: ChangeListener,
    options: WatchSecretDirOptions,
    private readonly context: string,
  ) {
    this.debounceMs = nonNegative(options.debounceMs ?? DEFAULT_DEBOUNCE_MS, 'debounceMs');
    this.maxWaitMs = Math.max(
      this.debounceMs,
      nonNegative(options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, 'maxWaitMs'),
    );
    this.pollIntervalMs = nonNegative(options.pollIntervalMs ?? DEFAULT_POLL_MS, 'pollIntervalMs');
    this.fsWatch = (options.fsWatch ?? true) && root !== undefined;
    if (!this.fsWatch && this.pollIntervalMs === 0) {
      throw new SmcError(
        'InvalidSpec',
        `${context}: pollIntervalMs must be positive when fs.watch is not used`,
      );
    }
    this.persistent = options.persistent ?? true;
    this.emitInitial = options.emitInitial ?? false;
    this.onError = options.onError ?? ((e, ctx) => reportToStderr(ctx, e));
    this.scanCoalesced = coalesce(() => this.scan());
    if (options.signal?.aborted) this.closed = true;
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.ready = this.start();
  }

  check(): Promise<void> {
    return this.requestScan('check');
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.stop.abort();
      clearTimeout(this.debounceTimer);
      clearTimeout(this.pollTimer);
      for (const { watcher } of this.watchers.values()) watcher.close();
      this.watchers.clear();
    }
    await this.ready.catch(() => undefined);
    await this.lastScan.catch(() => undefined);
  }

  private async start(): Promise<void> {
    if (this.closed) return;
    // Watch before the first read, so a change made while reading is not missed.
    await this.syncWatchers(undefined);
    await this.requestScan('initial');
    this.schedulePoll();
  }

  private requestScan(trigger: ChangeTrigger): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.nextTrigger = strongest(this.nextTrigger, trigger);
    this.lastScan = this.scanCoalesced();
    return this.lastScan;
  }

  private onFsEvent(): void {
    if (this.closed) return;
    const now = Date.now();
    this.burstStart ??= now;
    clearTimeout(this.debounceTimer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.burstStart + this.maxWaitMs - now));
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.burstStart = undefined;
      void this.requestScan('watch');
    }, wait);
    if (!this.persistent) this.debounceTimer.unref();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    let interval = this.pollIntervalMs;
    if (this.fsWatch && this.degraded)
      interval = interval === 0 ? DEGRADED_POLL_MS : Math.min(interval, DEGRADED_POLL_MS);
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (interval === 0) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined; // re-armed when this poll is done
      void this.requestScan('poll').finally(() => this.schedulePoll());
    }, interval);
    if (!this.persistent) this.pollTimer.unref();
  }

  private async readOrReport(): Promise<Snapshot | undefined> {
    try {
      return await this.read();
    } catch (e) {
      if (!this.closed) this.onError(e, `${this.context}: reading failed`);
      return undefined;
    }
  }

  private async scan(): Promise<void> {
    const trigger = this.nextTrigger ?? 'watch';
    this.nextTrigger = undefined;
    if (this.closed) return;
    let snap = await this.readOrReport();
    if (snap === undefined) {
      // Unreadable at start (e.g. EACCES): start from "nothing", so everything counts as added later.
      this.baseline ??= new Map();
      return;
    }

    if (this.baseline === undefined) {
      this.baseline = snap.digests;
      await this.syncWatchers(snap);
      if (this.emitInitial && snap.digests.size > 0) {
        await this.report(
          snap,
          { added: [...snap.digests.keys()].sort(), modified: [], removed: [] },
          trigger,
        );
      }
      return;
    }

    let diff = diffDigests(this.baseline, snap.digests);
    if (!isEmpty(diff) && snap.layout !== 'atomic') {
      // A plain directory can be caught mid-edit (vim renames the old file away before writing the
      // new one; a poll can land inside a write). Report only content seen twice, `debounceMs` apart.
      const deadline = Date.now() + this.maxWaitMs;
      for (;;) {
        try {
          await sleep(this.debounceMs, undefined, { signal: this.stop.signal, ref: this.persistent });
        } catch {
          return; // closed
        }
        const again = await this.readOrReport();
        if (again === undefined) return;
        const stable = sameDigests(again.digests, snap.digests);
        snap = again;
        if (stable || snap.layout === 'atomic' || Date.now() >= deadline) break;
      }
      diff = diffDigests(this.baseline, snap.digests);
    }
    await this.syncWatchers(snap);
    if (isEmpty(diff)) return;
    this.baseline = snap.digests;
    await this.report(snap, diff, trigger);
  }

  private async report(
    snap: Snapshot,
    diff: ReturnType<typeof diffDigests>,
    trigger: ChangeTrigger,
  ): Promise<void> {
    if (this.closed) return;
    const changed = [...diff.added, ...diff.modified, ...diff.removed].sort();
    try {
      await this.onChange({ changed, ...diff, files: snap.files, layout: snap.layout, trigger });
    } catch (e) {
      this.onError(e, `${this.context}: the change listener failed`);
    }
  }

  /**
   * Keep one fs.watch on the directory (re-created when the directory is replaced: a watch follows
   * the inode, not the path), one on each real subdirectory of a plain directory, and one on the
   * nearest existing ancestor, filtered to the name leading to the directory, which sees the directory
   * deleted, created or replaced.
   */
  private async syncWatchers(snap: Snapshot | undefined): Promise<void> {
    if (!this.fsWatch || this.closed || this.root === undefined) return;
    const want = new Map<string, { only: string | undefined; identity: string }>();
    const dirs = [this.root, ...(snap?.layout === 'plain' ? snap.subdirs : [])];
    for (const path of dirs) {
      const identity = await dirIdentity(path);
      if (identity !== undefined) want.set(path, { only: undefined, identity });
    }
    const anchor = await nearestAncestor(this.root);
    if (anchor) want.set(anchor.path, { only: anchor.child, identity: anchor.identity });
    if (this.closed) return;

    for (const [path, current] of this.watchers) {
      const w = want.get(path);
      if (!w || w.only !== current.only || w.identity !== current.identity || current.suspect) {
        current.watcher.close();
        this.watchers.delete(path);
      }
    }
    let degraded = false;
    let created = false;
    for (const [path, w] of want) {
      if (this.watchers.has(path)) continue;
      try {
        const self = basename(path);
        const entry = { only: w.only, identity: w.identity, suspect: false };
        const watcher = watch(path, { persistent: this.persistent }, (_event, name) => {
          // An event named after the watched directory itself is how a deletion or move of that
          // directory shows up (the watch then dies silently): re-create it at the next read.
          if (name === self) entry.suspect = true;
          if (w.only === undefined || name === null || name === w.only) this.onFsEvent();
        });
        watcher.on('error', (e) => {
          if (this.watchers.get(path)?.watcher === watcher) this.watchers.delete(path);
          watcher.close();
          if (this.closed) return;
          this.onError(
            e,
            `${this.context}: fs.watch on ${path} failed; polling until it can be re-established`,
          );
          this.onFsEvent(); // look, and re-establish the watch after the read
        });
        this.watchers.set(path, { watcher, ...entry });
        created = true;
      } catch (e) {
        // ENOENT: the directory vanished since the stat; the next read sees that. Anything else
        // (ENOSPC: inotify watch limit) leaves us polling, more often.
        if (errnoOf(e) !== 'ENOENT') {
          degraded = true;
          this.onError(e, `${this.context}: cannot fs.watch ${path}; polling instead`);
        }
      }
    }
    const wasDegraded = this.degraded;
    this.degraded = degraded;
    // Switch to the shorter interval now if a poll is waiting (a running poll re-arms by itself).
    if (degraded && !wasDegraded && this.pollTimer !== undefined) this.schedulePoll();
    // A change made between the last read and a new watch would be seen by nobody: look once more.
    if (created && snap !== undefined) this.onFsEvent();
  }
}

function isEmpty(d: { added: string[]; modified: string[]; removed: string[] }): boolean {
  return d.added.length === 0 && d.modified.length === 0 && d.removed.length === 0;
}

const TRIGGER_RANK: Record<ChangeTrigger, number> = { poll: 0, watch: 1, check: 2, initial: 3 };

function strongest(a: ChangeTrigger | undefined, b: ChangeTrigger): ChangeTrigger {
  return a === undefined || TRIGGER_RANK[b] > TRIGGER_RANK[a] ? b : a;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new SmcError('InvalidSpec', `${name} must be a non-negative number of milliseconds`);
  }
  return value;
}

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e
    ? String((e as { code: unknown }).code)
    : undefined;
}

/**
 * What identifies a directory for as long as a watch on it lives: inode and birth time (file systems
 * reuse a freed inode number at once, so a directory deleted and re-created often has the same one).
 */
async function dirIdentity(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path);
    return st.isDirectory() ? `${st.dev}:${st.ino}:${st.birthtimeMs}` : undefined;
  } catch {
    return undefined;
  }
}

async function nearestAncestor(
  path: string,
): Promise<{ path: string; child: string; identity: string } | undefined> {
  let child = basename(path);
  let parent = dirname(path);
  for (;;) {
    const identity = await dirIdentity(parent);
    if (identity !== undefined) return { path: parent, child, identity };
    if (dirname(parent) === parent) return undefined;
    child = basename(parent);
    parent = dirname(parent);
  }
}
