/**
 * The shared SDK client cache (src/stores/client-cache.ts): one client per key, closed only once it
 * is retired and no store holds it; retired when no user's latest open used it, when idle, or over
 * the bound; keys name credential objects by identity, never by content.
 */
import { describe, expect, it } from 'vitest';
import { ClientCache } from '../../src/stores/client-cache.js';

function clients() {
  const made: string[] = [];
  const closed: string[] = [];
  const make = (name: string) => () => {
    made.push(name);
    return { name };
  };
  const close = (c: { name: string }) => void closed.push(c.name);
  return { made, closed, make, close };
}

describe('ClientCache', () => {
  it('builds a client once per key and shares it; a release does not close it', () => {
    const cache = new ClientCache();
    const c = clients();
    const k = cache.key(['aws', 'secretsmanager', 'eu-west-1']);
    const a = cache.lease(k, c.make('a'), c.close);
    a.release();
    const b = cache.lease(k, c.make('b'), c.close);
    expect(b.client).toBe(a.client);
    b.release();
    b.release(); // idempotent
    expect(c.made).toEqual(['a']);
    expect(c.closed).toEqual([]);
    expect(cache.size).toBe(1);
  });

  it('keys credential objects by identity, not content (no credential material in a key)', () => {
    const cache = new ClientCache();
    const creds = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret' };
    const same = cache.key(['aws', creds]);
    expect(cache.key(['aws', creds])).toBe(same);
    expect(cache.key(['aws', { ...creds }])).not.toBe(same);
    expect(same).not.toContain('very-secret');
    expect(same).not.toContain('AKIAEXAMPLE');
  });

  it("retires a client no user's latest open used, closing it when the last lease is released", () => {
    const cache = new ClientCache();
    const c = clients();
    const old = cache.key(['gcp', 'old-credentials']);
    const held = cache.lease(old, c.make('old'), c.close);
    cache.setUses('ns/smc', new Set([old]));
    // The credentials rotated: the next open uses another key.
    const next = cache.key(['gcp', 'new-credentials']);
    cache.lease(next, c.make('new'), c.close).release();
    cache.setUses('ns/smc', new Set([next]));
    expect(c.closed).toEqual([]); // still held by a store in flight
    held.release();
    expect(c.closed).toEqual(['old']);

    // A client two SMCs share stays until neither uses it.
    cache.setUses('ns/other', new Set([next]));
    cache.forget('ns/smc');
    expect(c.closed).toEqual(['old']);
    cache.forget('ns/other');
    expect(c.closed).toEqual(['old', 'new']);
    expect(cache.size).toBe(0);
  });

  it('retires clients idle longer than idleMs, and the least recently used beyond max', () => {
    let now = 0;
    const cache = new ClientCache({ idleMs: 1000, max: 2, now: () => now });
    const c = clients();
    cache.lease(cache.key(['a']), c.make('a'), c.close).release();
    now = 500;
    cache.lease(cache.key(['b']), c.make('b'), c.close).release();
    now = 1200; // a idle for 1200 ms: retired on the next lease
    cache.lease(cache.key(['c']), c.make('c'), c.close).release();
    expect(c.closed).toEqual(['a']);
    cache.lease(cache.key(['d']), c.make('d'), c.close).release();
    expect(c.closed).toEqual(['a', 'b']); // over max: b was the least recently used
    expect(cache.size).toBe(2);
    cache.closeAll();
    expect(c.closed.sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
