/**
 * Opened data keys, in memory only, so an unchanged SOPS file costs no key-service call: keyed by
 * the credentials' scope and everything the service is asked (the wrapped key itself, key id,
 * encryption context, role), bounded by entry count (least recently used out first) and by age (a
 * key whose access was revoked stops opening files within `ttlMs`). A key is zeroed when it leaves
 * the cache, and every read hands out a copy (the caller zeroes its copy after use). Nothing here
 * is logged or serialised.
 */
export interface DataKeyCacheOptions {
  maxEntries: number;
  ttlMs: number;
  now?: () => number;
}

export class DataKeyCache {
  private readonly entries = new Map<string, { key: Buffer; at: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: DataKeyCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A copy of the cached key, or undefined (a miss, or too old: then it is dropped). */
  get(id: string): Uint8Array | undefined {
    const hit = this.entries.get(id);
    if (!hit) return undefined;
    if (this.now() - hit.at > this.opts.ttlMs) {
      this.drop(id);
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(id);
    this.entries.set(id, hit);
    return Uint8Array.from(hit.key);
  }

  /** Keep a copy of `key` (the caller keeps and zeroes its own). */
  set(id: string, key: Uint8Array): void {
    if (this.opts.maxEntries <= 0) return;
    this.drop(id);
    this.entries.set(id, { key: Buffer.from(key), at: this.now() });
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest);
    }
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.drop(id);
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.key.fill(0);
    this.entries.delete(id);
  }

  toJSON(): unknown {
    return { entries: this.entries.size };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DataKeyCache { ${this.entries.size} entries }`;
  }
}
