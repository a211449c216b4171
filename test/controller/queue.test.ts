import { describe, expect, it } from 'vitest';
import {
  WorkQueue,
  type QueueClock,
  type RunContext,
  type RunResult,
} from '../../src/controller/runtime/queue.js';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements QueueClock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Advance time, firing due timers in order (with microtask flushes in between). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers.entries()]
        .filter(([, x]) => x.at <= end)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Deferred {
  resolve(r?: RunResult): void;
  reject(e: unknown): void;
  ctx: RunContext;
}

/** A handler whose runs the test settles by hand; records every start. */
function manualHandler() {
  const started: string[] = [];
  const open = new Map<string, Deferred[]>();
  const handler = (key: string, ctx: RunContext) =>
    new Promise<RunResult | void>((resolve, reject) => {
      started.push(key);
      const list = open.get(key) ?? [];
      list.push({ resolve, reject, ctx });
      open.set(key, list);
    });
  const take = (key: string): Deferred => {
    const d = open.get(key)?.shift();
    if (!d) throw new Error(`no open run of ${key}`);
    return d;
  };
  return {
    handler,
    started,
    async succeed(key: string, r?: RunResult) {
      take(key).resolve(r);
      await flush();
    },
    async fail(key: string) {
      take(key).reject(new Error(`boom ${key}`));
      await flush();
    },
    ctx: (key: string) => open.get(key)?.[0]?.ctx,
  };
}

function setup(opts: { concurrency?: number; random?: () => number } = {}) {
  const clock = new FakeClock();
  const h = manualHandler();
  const depths: number[] = [];
  const errors: { key: string; retryInMs: number }[] = [];
  const q = new WorkQueue<string>({
    handler: h.handler,
    concurrency: opts.concurrency ?? 1,
    backoff: { baseMs: 100, maxMs: 1_000 },
    clock,
    random: opts.random ?? (() => 1),
    onDepth: (d) => depths.push(d),
    onError: (key, _e, retryInMs) => errors.push({ key, retryInMs }),
  });
  return { q, clock, h, depths, errors };
}

describe('WorkQueue', () => {
  it('dedupes a key that is queued', async () => {
    const { q, h } = setup({ concurrency: 1 });
    q.add('a');
    q.add('b');
    q.add('b');
    q.add('b');
    await flush();
    expect(h.started).toEqual(['a']);
    expect(q.depth).toBe(1);
    await h.succeed('a');
    expect(h.started).toEqual(['a', 'b']);
    await h.succeed('b');
    expect(h.started).toEqual(['a', 'b']);
    expect(q.depth).toBe(0);
  });

  it('runs a key added while in flight exactly once more, never concurrently', async () => {
    const { q, h } = setup({ concurrency: 4 });
    q.add('a');
    await flush();
    q.add('a');
    q.add('a');
    await flush();
    expect(h.started).toEqual(['a']);
    expect(q.isRunning('a')).toBe(true);
    await h.succeed('a');
    expect(h.started).toEqual(['a', 'a']);
    await h.succeed('a');
    expect(h.started).toEqual(['a', 'a']);
  });

  it('bounds concurrency and changes the bound at runtime', async () => {
    const { q, h } = setup({ concurrency: 2 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await flush();
    expect(q.inFlight).toBe(2);
    expect(q.depth).toBe(3);
    q.setConcurrency(4);
    await flush();
    expect(q.inFlight).toBe(4);
    expect(h.started).toEqual(['a', 'b', 'c', 'd']);
    q.setConcurrency(1);
    await h.succeed('a');
    await h.succeed('b');
    await h.succeed('c');
    expect(q.inFlight).toBe(1);
    expect(h.started).toEqual(['a', 'b', 'c', 'd']);
    await h.succeed('d');
    expect(h.started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(() => q.setConcurrency(0)).toThrow(RangeError);
  });

  it('retries failures with capped exponential backoff and resets on success', async () => {
    const { q, h, clock, errors } = setup({ random: () => 1 });
    q.add('a');
    await flush();
    const expected = [100, 200, 400, 800, 1_000, 1_000];
    for (const [i, delay] of expected.entries()) {
      expect(h.ctx('a')!.failures).toBe(i);
      await h.fail('a');
      expect(q.failuresOf('a')).toBe(i + 1);
      expect(q.dueIn('a')).toBe(delay);
      await clock.advance(delay - 1);
      expect(h.started.length).toBe(i + 1);
      await clock.advance(1);
      expect(h.started.length).toBe(i + 2);
    }
    expect(errors.map((e) => e.retryInMs)).toEqual(expected);
    await h.succeed('a');
    expect(q.failuresOf('a')).toBe(0);
    q.add('a');
    await flush();
    await h.fail('a');
    expect(q.dueIn('a')).toBe(100);
  });

  it('jitters the backoff (full jitter, at least 1 ms)', async () => {
    let r = 0.5;
    const { q, h } = setup({ random: () => r });
    q.add('a');
    await flush();
    await h.fail('a');
    expect(q.dueIn('a')).toBe(50);
    r = 0;
    expect(q.addRateLimited('b')).toBe(1);
  });

  it('a new event during a failed run runs at once, keeping the failure count', async () => {
    const { q, h } = setup();
    q.add('a');
    await flush();
    q.add('a');
    await h.fail('a');
    expect(h.started).toEqual(['a', 'a']);
    expect(q.failuresOf('a')).toBe(1);
    expect(q.waitingCount).toBe(0);
  });

  it('addAfter requeues periodically; the earliest time wins; add() preempts', async () => {
    const { q, h, clock } = setup();
    q.addAfter('a', 1_000);
    q.addAfter('a', 500);
    q.addAfter('a', 2_000);
    expect(q.dueIn('a')).toBe(500);
    await clock.advance(499);
    expect(h.started).toEqual([]);
    await clock.advance(1);
    expect(h.started).toEqual(['a']);
    await h.succeed('a', { requeueAfterMs: 60_000 });
    expect(q.dueIn('a')).toBe(60_000);
    q.add('a');
    await flush();
    expect(h.started).toEqual(['a', 'a']);
    expect(q.waitingCount).toBe(0);
    expect(clock.pending).toBe(0);
    await h.succeed('a');
  });

  it('reports queue depth on every change', async () => {
    const { q, h, depths } = setup();
    q.add('a');
    q.add('b');
    q.add('c');
    await flush();
    await h.succeed('a');
    await h.succeed('b');
    await h.succeed('c');
    expect(depths).toEqual([0, 1, 0, 1, 2, 1, 0]);
  });

  it('remove() drops a queued or waiting key', async () => {
    const { q, h, clock } = setup();
    q.add('a');
    q.add('b');
    q.addAfter('c', 10);
    q.remove('b');
    q.remove('c');
    await flush();
    await h.succeed('a');
    await clock.advance(100);
    expect(h.started).toEqual(['a']);
  });

  it('shutdown drains in-flight work within drainMs and drops the rest', async () => {
    const { q, h, clock } = setup({ concurrency: 1 });
    q.add('a');
    q.add('b');
    q.addAfter('c', 1_000);
    await flush();
    const done = q.shutdown({ drainMs: 5_000 });
    q.add('d');
    await clock.advance(1_000);
    await h.succeed('a');
    const result = await done;
    expect(result.abandoned).toEqual([]);
    expect(result.dropped.sort()).toEqual(['b', 'c']);
    expect(h.started).toEqual(['a']);
    expect(clock.pending).toBe(0);
  });

  it('shutdown abandons runs still going after drainMs (their signal aborts)', async () => {
    const { q, h, clock } = setup({ concurrency: 2 });
    q.add('a');
    q.add('b');
    await flush();
    const sigA = h.ctx('a')!.signal;
    const done = q.shutdown({ drainMs: 2_000 });
    await h.succeed('b');
    await clock.advance(2_000);
    const result = await done;
    expect(result).toEqual({ abandoned: ['a'], dropped: [] });
    expect(sigA.aborted).toBe(true);
    await h.fail('a');
    expect(q.isShutDown).toBe(true);
    expect(q.waitingCount).toBe(0);
  });

  it('a handler that throws synchronously counts as a failure', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const q = new WorkQueue<string>({
      handler: () => {
        calls++;
        throw new Error('sync');
      },
      concurrency: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      clock,
      random: () => 1,
    });
    q.add('a');
    await flush();
    expect(q.failuresOf('a')).toBe(1);
    await clock.advance(10);
    expect(calls).toBe(2);
    await q.shutdown();
  });

  it('fair lanes: one SMC whose own input changed runs next, not after a fleet-wide change', async () => {
    const { q, h } = setup({ concurrency: 2 });
    const fleet = Array.from({ length: 100 }, (_, i) => `ns/smc-${i}`);
    for (const k of fleet) q.add(k, 'GitRepository flux-system/shared');
    await flush();
    expect(h.started).toEqual(['ns/smc-0', 'ns/smc-1']);
    q.add('team/mine'); // its spec changed: its own lane, at the end of the round
    await h.succeed('ns/smc-0');
    await h.succeed('ns/smc-1');
    // At most one more key of the fleet lane (served just before it joined) runs first.
    expect(h.started.slice(2)).toEqual(['ns/smc-2', 'team/mine']);
    // The fleet lane then goes on in order, alternating with any other lane.
    q.add('ns/smc-50', 'Secret team/credentials');
    await h.succeed('ns/smc-2');
    await h.succeed('team/mine');
    expect(h.started.slice(4)).toEqual(['ns/smc-3', 'ns/smc-50']);
    for (let i = 0; i < 200 && q.depth + q.inFlight > 0; i++) {
      const running = h.started.filter((k) => q.isRunning(k));
      for (const k of new Set(running)) await h.succeed(k);
    }
    // Every key ran exactly once: a key moved to another lane is not run twice.
    expect(h.started.filter((k) => k.startsWith('ns/')).sort()).toEqual([...fleet].sort());
    expect(h.started.filter((k) => k === 'team/mine')).toHaveLength(1);
  });

  it('lanes are served round-robin, FIFO within a lane', async () => {
    const { q, h } = setup({ concurrency: 1 });
    q.add('x'); // starts at once
    await flush();
    for (const k of ['a1', 'a2', 'a3']) q.add(k, 'A');
    for (const k of ['b1', 'b2']) q.add(k, 'B');
    q.add('c1');
    for (const k of ['x', 'a1', 'b1', 'c1', 'a2', 'b2', 'a3']) await h.succeed(k);
    expect(h.started).toEqual(['x', 'a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('a queued key added again moves to a shorter lane only', async () => {
    const { q, h } = setup({ concurrency: 1 });
    q.add('x');
    await flush();
    for (const k of ['a1', 'a2', 'a3', 'a4']) q.add(k, 'A');
    q.add('a4'); // own lane (empty, shorter): moves
    q.add('a3', 'B'); // B has 0 keys < A's 3: moves
    q.add('a3', 'A'); // back to the longer lane: stays in B
    expect(q.depth).toBe(4);
    for (const k of ['x', 'a1', 'a4', 'a3', 'a2']) await h.succeed(k);
    expect(h.started).toEqual(['x', 'a1', 'a4', 'a3', 'a2']);
  });

  it('periodic requeues share one lane and do not hold back a changed key', async () => {
    const { q, h, clock } = setup({ concurrency: 1 });
    const keys = ['p1', 'p2', 'p3', 'p4'];
    for (const k of keys) q.add(k);
    await flush();
    for (const k of keys) await h.succeed(k, { requeueAfterMs: 1_000 });
    await clock.advance(1_000); // all four due: p1 starts, p2..p4 queued in the periodic lane
    expect(h.started.at(-1)).toBe('p1');
    q.add('changed');
    await h.succeed('p1');
    await h.succeed('p2');
    expect(h.started.slice(-3)).toEqual(['p1', 'p2', 'changed']);
  });
});
