/**
 * What an immutable store version holds, remembered in the controller's memory as a keyed digest
 * so that a verification need not read the value again (docs/performance.md, "Store calls"): a
 * version whose payload cannot change (GCP Parameter Manager versions) is known by its name and
 * creation time; when the newest version of an entry is one this process wrote or read before, the
 * entry is compared with Git by digest instead of by reading its payload.
 *
 * The digest is an HMAC-SHA256 under a random key made when the process starts, which never leaves
 * it: nothing derived from a value is written to a store, a log, an Event, status or a metric
 * (docs/security.md, "No value hashes in store metadata"). Bounded: the least recently used are
 * forgotten beyond `max` (then the value is read again).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class VersionDigests {
  private readonly key = randomBytes(32);
  private readonly digests = new Map<string, Buffer>();

  constructor(private readonly max = 10_000) {}

  /** Remember that `version` (name and creation time: never reused) holds `value`. */
  remember(version: string, value: string): void {
    this.digests.delete(version);
    this.digests.set(version, this.digest(value));
    for (const k of this.digests.keys()) {
      if (this.digests.size <= this.max) break;
      this.digests.delete(k);
    }
  }

  /** Whether `version` holds a given value, when this process knows it; undefined otherwise. */
  holds(version: string): ((value: string) => boolean) | undefined {
    const known = this.digests.get(version);
    if (!known) return undefined;
    this.digests.delete(version);
    this.digests.set(version, known);
    return (value) => timingSafeEqual(this.digest(value), known);
  }

  private digest(value: string): Buffer {
    return createHmac('sha256', this.key).update(value, 'utf8').digest();
  }
}
