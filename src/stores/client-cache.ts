/**
 * Cloud SDK clients built once per store configuration and credentials, and shared by every store
 * opened with them (docs/performance.md, "Store calls"): a client keeps its connections (one gRPC
 * channel, one keep-alive agent) and its credential provider's cached tokens from one reconcile to
 * the next, instead of opening new ones each time.
 *
 * A store borrows a client for its life (a `Lease`) and gives it back on `close()`. A client is
 * closed once it is retired and no store holds it: retired when no SecretManagerConfig's latest open
 * used it (its spec or credentials changed, or it was forgotten), when it sat unused for `idleMs`,
 * or when more than `max` clients are cached (least recently used first).
 */

/** A borrowed client; `release` gives it back (the store's `close()`). */
export interface Lease<C> {
  client: C;
  release(): void;
}

/** How a store gets its SDK client when the client is shared: `make` builds it, `close` ends it. */
export type ClientLease = <C>(make: () => C, close: (client: C) => unknown) => Lease<C>;

interface Cached {
  client: unknown;
  close: (client: unknown) => unknown;
  leases: number;
  lastUsed: number;
  retired: boolean;
}

export interface ClientCacheOptions {
  /** Clients kept at most; default 256. */
  max?: number;
  /** A client no open used for this long is retired; default 30 minutes (three drift checks). */
  idleMs?: number;
  now?: () => number;
}

export class ClientCache {
  private readonly entries = new Map<string, Cached>();
  /** Client keys each user (an SMC) used in its latest open. */
  private readonly uses = new Map<string, Set<string>>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly max: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(o: ClientCacheOptions = {}) {
    this.max = o.max ?? 256;
    this.idleMs = o.idleMs ?? 30 * 60_000;
    this.now = o.now ?? Date.now;
  }

  /** Clients cached, retired ones still leased included (tests). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The key of a configuration: `parts` as JSON, objects (credentials) by identity — never by
   * content, so no credential material, nor a hash of it, becomes part of a key.
   */
  key(parts: readonly unknown[]): string {
    return JSON.stringify(
      parts.map((p) => (typeof p === 'object' && p !== null ? { id: this.identity(p) } : (p ?? null))),
    );
  }

  /** Borrow the client for `key`, building it on first use. */
  lease<C>(key: string, make: () => C, close: (client: C) => unknown): Lease<C> {
    this.sweep();
    let entry = this.entries.get(key);
    if (!entry || entry.retired) {
      if (entry) this.entries.delete(key); // retired, still leased: closed by its last release
      entry = {
        client: make(),
        close: close as (c: unknown) => unknown,
        leases: 0,
        lastUsed: 0,
        retired: false,
      };
      this.entries.set(key, entry);
    } else {
      // Most recently used last (the Map's order is the eviction order).
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    const held = entry;
    held.leases++;
    held.lastUsed = this.now();
    let released = false;
    this.evict();
    return {
      client: held.client as C,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        held.lastUsed = this.now();
        if (held.retired && held.leases === 0) this.end(held);
      },
    };
  }

  /** Record the keys `user` used in its latest open; a key nobody uses any more is retired. */
  setUses(user: string, keys: ReadonlySet<string>): void {
    const before = this.uses.get(user);
    if (keys.size) this.uses.set(user, new Set(keys));
    else this.uses.delete(user);
    for (const k of before ?? []) if (!keys.has(k) && !this.used(k)) this.retire(k);
  }

  /** Retire those of `keys` no user's latest open used (an open that failed half-way). */
  dropUnused(keys: Iterable<string>): void {
    for (const k of keys) if (!this.used(k)) this.retire(k);
  }

  /** `user` is gone (an SMC deleted): its clients are retired unless another user holds them. */
  forget(user: string): void {
    this.setUses(user, new Set());
  }

  /** Retire every client (shutdown); leased ones close on release. */
  closeAll(): void {
    this.uses.clear();
    for (const k of [...this.entries.keys()]) this.retire(k);
  }

  private used(key: string): boolean {
    for (const keys of this.uses.values()) if (keys.has(key)) return true;
    return false;
  }

  private retire(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.retired = true;
    if (entry.leases === 0) this.end(entry);
  }

  private end(entry: Cached): void {
    try {
      void Promise.resolve(entry.close(entry.client)).catch(() => undefined);
    } catch {
      // closing is best effort: the client is dropped either way
    }
  }

  /** Retire clients unused for `idleMs`. */
  private sweep(): void {
    const now = this.now();
    for (const [k, e] of [...this.entries]) {
      if (e.leases === 0 && now - e.lastUsed > this.idleMs) {
        for (const keys of this.uses.values()) keys.delete(k);
        this.retire(k);
      }
    }
  }

  /** Over `max`: retire the least recently used. */
  private evict(): void {
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.max) return;
      this.retire(k);
    }
  }

  private identity(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }
}

/** A client the store owns alone: released means closed. */
export function ownClient<C>(client: C, close: (client: C) => unknown): Lease<C> {
  return { client, release: () => close(client) };
}
