/**
 * Rendered entries shared by the passes that render the same tree the same way.
 *
 * A fleet of SecretManagerConfigs on one source renders and decrypts the same files once per SMC:
 * at 1000 SMCs that was most of a fan-out's CPU (docs/performance.md). A render depends only on
 * the tree (its root and revision: a checkout is content-addressed and never changes in place),
 * the render settings, the input limits and the keys offered for decryption — so its result is
 * kept here under exactly those, and handed to every pass that asks the same question.
 *
 * Decrypted values live in this process's memory a little longer than one pass: a result is
 * dropped `ttlMs` after its last use (a sweep timer that does not hold the process open) and when
 * more than `maxResults` or `maxChars` are kept (least recently used first). Keys are told apart by
 * `SopsKeyring.identity`, never by their material: a keyring rebuilt from a changed key Secret is a
 * new identity, and SMCs whose keys differ (another namespace's keys) never share a result
 * (docs/security.md, "Rendered entries cache"). A render that fails is not kept; passes that asked
 * while it ran get its error.
 */
import type { Entry } from '../entry.js';

export interface RenderCacheOptions {
  /** Drop a result this long after its last use (default 60 s). */
  ttlMs?: number;
  /** Keep at most this many results (default 64). */
  maxResults?: number;
  /**
   * Keep at most this many characters of keys, values and file names in all (default 32 Mi, about
   * 64 MiB of memory): a result larger than that alone is handed out but not kept.
   */
  maxChars?: number;
  /** Clock (tests). */
  now?: () => number;
}

interface Kept {
  entries: Promise<readonly Entry[]>;
  usedAt: number;
  /** Characters held once rendered (0 while rendering). */
  chars: number;
}

export class RenderCache {
  private readonly kept = new Map<string, Kept>();
  /** A number per keyring identity, so keys of the map stay strings and identities stay unreachable. */
  private readonly identities = new WeakMap<object, number>();
  private nextIdentity = 1;
  private sweep: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;
  private readonly maxResults: number;
  private readonly maxChars: number;
  private readonly now: () => number;

  constructor(options: RenderCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxResults = options.maxResults ?? 64;
    this.maxChars = options.maxChars ?? 32 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  /**
   * The entries `render` gives for `question` (everything the result depends on, as a string) and
   * `keys` (the keyring's identity; undefined: no keys), rendering only when no result is kept.
   * The entries handed out are frozen: a caller that needs other entries makes new ones.
   */
  async entries(
    question: string,
    keys: object | undefined,
    render: () => Promise<Entry[]>,
  ): Promise<readonly Entry[]> {
    const at = this.now();
    this.dropExpired(at);
    const id = this.idOf(question, keys);
    const hit = this.kept.get(id);
    if (hit) {
      // The same record, moved to the end (most recently used): a render still running settles it.
      hit.usedAt = at;
      this.kept.delete(id);
      this.kept.set(id, hit);
      return hit.entries;
    }
    const entries = render().then((list) => Object.freeze(list.map((e) => Object.freeze({ ...e }))));
    const kept: Kept = { entries, usedAt: at, chars: 0 };
    this.kept.set(id, kept);
    entries.then(
      (list) => {
        if (this.kept.get(id) !== kept) return;
        kept.chars = list.reduce((n, e) => n + e.key.length + e.value.length + e.origin.length, 0);
        this.bound(id);
      },
      () => {
        if (this.kept.get(id) === kept) this.kept.delete(id);
      },
    );
    this.bound(id);
    this.armSweep();
    return entries;
  }

  /** Whether a result for `question` and `keys` is kept (done or still rendering): `entries` would not render. */
  holds(question: string, keys: object | undefined): boolean {
    const kept = this.kept.get(this.idOf(question, keys));
    return kept !== undefined && this.now() - kept.usedAt < this.ttlMs;
  }

  /** How many results are kept (tests, metrics). */
  get size(): number {
    return this.kept.size;
  }

  /** Drop every result (shutdown). */
  clear(): void {
    this.kept.clear();
    if (this.sweep) clearTimeout(this.sweep);
    this.sweep = undefined;
  }

  private idOf(question: string, keys: object | undefined): string {
    return `${keys === undefined ? 0 : this.identityOf(keys)}\u0000${question}`;
  }

  private identityOf(keys: object): number {
    let n = this.identities.get(keys);
    if (n === undefined) this.identities.set(keys, (n = this.nextIdentity++));
    return n;
  }

  /**
   * Drop results beyond `maxResults` or `maxChars`, least recently used first, never `newest` — unless
   * it alone is over `maxChars`: then it is handed out, not kept, and the others stay.
   */
  private bound(newest: string): void {
    if ((this.kept.get(newest)?.chars ?? 0) > this.maxChars) this.kept.delete(newest);
    let chars = 0;
    for (const k of this.kept.values()) chars += k.chars;
    const over = () => this.kept.size > this.maxResults || chars > this.maxChars;
    for (const [id, k] of this.kept) {
      if (!over()) return;
      if (id === newest) continue;
      this.kept.delete(id);
      chars -= k.chars;
    }
  }

  private dropExpired(at: number): void {
    for (const [id, k] of this.kept) if (at - k.usedAt >= this.ttlMs) this.kept.delete(id);
  }

  private armSweep(): void {
    if (this.sweep) return;
    this.sweep = setTimeout(() => {
      this.sweep = undefined;
      this.dropExpired(this.now());
      if (this.kept.size > 0) this.armSweep();
    }, this.ttlMs);
    this.sweep.unref();
  }
}
