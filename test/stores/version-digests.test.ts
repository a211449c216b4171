/**
 * Remembered version digests (src/stores/version-digests.ts): a version this process wrote or read
 * is compared by a keyed digest; an unknown version (made outside, or forgotten beyond the bound)
 * has none, so its value is read again.
 */
import { describe, expect, it } from 'vitest';
import { VersionDigests } from '../../src/stores/version-digests.js';

describe('VersionDigests', () => {
  it('tells whether a remembered version holds a value; an unknown version is undefined', () => {
    const d = new VersionDigests();
    d.remember('p/versions/v1@100.0', 'secret-one');
    const holds = d.holds('p/versions/v1@100.0');
    expect(holds?.('secret-one')).toBe(true);
    expect(holds?.('secret-two')).toBe(false);
    // The same id made again (deleted and re-created outside Git) has another creation time.
    expect(d.holds('p/versions/v1@200.0')).toBeUndefined();
    // Nothing derived from the value is exposed: only a comparison.
    expect(JSON.stringify({ holds })).toBe('{}');
  });

  it('beyond max the least recently used is forgotten', () => {
    const a = new VersionDigests(2);
    a.remember('v1', 'x');
    a.remember('v2', 'y');
    a.holds('v1'); // v1 used: v2 is now the least recently used
    a.remember('v3', 'z');
    expect(a.holds('v2')).toBeUndefined();
    expect(a.holds('v1')?.('x')).toBe(true);
    expect(a.holds('v3')?.('z')).toBe(true);
  });
});
