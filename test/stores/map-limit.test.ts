/** mapLimit stops at the first failure and honours aborts: no call is started after the pass failed. */
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/stores/map-limit.js';

/** A call that settles only when told to, so the test decides the order of events. */
function gatedCalls() {
  const started: number[] = [];
  const gates = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  const fn = (i: number) =>
    new Promise<number>((resolve, reject) => {
      started.push(i);
      gates.set(i, { resolve, reject });
    });
  return { started, gates, fn };
}

const items = Array.from({ length: 20 }, (_, i) => i);

describe('mapLimit', () => {
  it('returns results in input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit(items, 4, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return i * 2;
    });
    expect(out).toEqual(items.map((i) => i * 2));
    expect(most).toBe(4);
  });

  it('starts no call after one has failed (4 calls of 20, not 20)', async () => {
    const g = gatedCalls();
    const pass = mapLimit(items, 4, g.fn);
    await new Promise((r) => setImmediate(r));
    expect(g.started).toEqual([0, 1, 2, 3]);
    g.gates.get(0)?.reject(new Error('quota exceeded'));
    // The calls already in flight finish; none after them may start.
    for (const i of [1, 2, 3]) g.gates.get(i)?.resolve(i);
    await expect(pass).rejects.toThrow('quota exceeded');
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    expect(g.started).toEqual([0, 1, 2, 3]);
  });

  it('starts no call after its signal is aborted, and rejects with the abort reason', async () => {
    const g = gatedCalls();
    const controller = new AbortController();
    const pass = mapLimit(items, 2, g.fn, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('stopping'));
    g.gates.get(0)?.resolve(0);
    g.gates.get(1)?.resolve(1);
    await expect(pass).rejects.toThrow('stopping');
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    expect(g.started).toEqual([0, 1]);
  });

  it('an empty list makes no call', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});
