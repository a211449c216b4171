/** createReloadable (keep old values on failure, report outcomes, coalesce) and onSighup. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  createReloadable,
  onSighup,
  onSignal,
  ReloadValidationError,
  type ReloadOutcome,
} from '../../src/reload/app/index.js';

describe('createReloadable', () => {
  it('swaps in new values only when load and validate succeed, reporting every outcome', async () => {
    let source: unknown = { port: 1 };
    const config = await createReloadable(
      async () => {
        if (source instanceof Error) throw source;
        return structuredClone(source) as { port: number };
      },
      (next) => {
        if (typeof next.port !== 'number') throw new ReloadValidationError('port: must be a number');
        if (next.port === 0) return 'port: must not be 0';
        return next.port !== 13;
      },
    );
    const outcomes: ReloadOutcome[] = [];
    config.onOutcome((o) => outcomes.push(o));
    expect(config.current()).toEqual({ port: 1 });
    expect(config.lastOutcome()).toMatchObject({ ok: true, generation: 1 });

    source = { port: 2 };
    expect(await config.reload()).toMatchObject({ ok: true, status: 'reloaded', generation: 2 });
    expect(config.current()).toEqual({ port: 2 });

    // Each kind of failure keeps the old values and says why, without quoting content.
    source = { port: 'not-a-number' };
    expect(await config.reload()).toMatchObject({
      ok: false,
      stage: 'validate',
      generation: 2,
      message: 'validate failed: port: must be a number',
    });
    source = { port: 0 };
    expect(await config.reload()).toMatchObject({
      ok: false,
      message: 'validate failed: port: must not be 0',
    });
    source = { port: 13 };
    expect(await config.reload()).toMatchObject({ ok: false, message: 'validate failed: validation failed' });
    let parseError: unknown;
    try {
      JSON.parse('{"password": hunter2');
    } catch (e) {
      parseError = e;
    }
    source = parseError;
    const failed = await config.reload();
    expect(failed).toMatchObject({ ok: false, stage: 'load', error: parseError });
    expect((failed as { message: string }).message).not.toContain('hunter2');
    expect(config.current()).toEqual({ port: 2 });

    source = { port: 3 };
    expect(await config.reload()).toMatchObject({ ok: true, generation: 3 });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, false, false, true]);
  });

  it('throws the first load error: there are no old values to keep', async () => {
    await expect(
      createReloadable(
        () => ({ a: 1 }),
        () => {
          throw new ReloadValidationError('a: refused');
        },
      ),
    ).rejects.toThrow('a: refused');
  });

  it('never runs reloads concurrently; calls during one are served by one more', async () => {
    let running = 0;
    let maxRunning = 0;
    let loads = 0;
    const config = await createReloadable(async () => {
      loads += 1;
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await sleep(30);
      running -= 1;
      return loads;
    });
    const results = await Promise.all([config.reload(), config.reload(), config.reload(), config.reload()]);
    expect(maxRunning).toBe(1);
    expect(loads).toBe(3); // initial + the first reload + one shared follow-up
    expect(results.map((r) => r.generation)).toEqual([2, 3, 3, 3]);
    expect(config.current()).toBe(3);
  });

  it('readers see old or new values, never a mix', async () => {
    let version = 0;
    const config = await createReloadable(async () => {
      version += 1;
      return { a: `v${version}`, b: `v${version}` };
    });
    let torn = 0;
    const reader = setInterval(() => {
      const c = config.current();
      if (c.a !== c.b) torn += 1;
    }, 0);
    for (let i = 0; i < 50; i++) await config.reload();
    clearInterval(reader);
    expect(torn).toBe(0);
  });

  it('a throwing outcome listener does not break reloads or other listeners', async () => {
    const config = await createReloadable(() => 1);
    const seen: boolean[] = [];
    config.onOutcome(() => {
      throw new Error('listener bug');
    });
    const off = config.onOutcome((o) => seen.push(o.ok));
    expect((await config.reload()).ok).toBe(true);
    off();
    await config.reload();
    expect(seen).toEqual([true]);
  });
});

describe('onSighup', () => {
  it('serialises overlapping reloads and unsubscribes', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const listenersBefore = process.listenerCount('SIGHUP');
    const off = onSighup(async () => {
      runs += 1;
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await sleep(40);
      running -= 1;
    });
    for (let i = 0; i < 5; i++) process.emit('SIGHUP', 'SIGHUP');
    await sleep(200);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2); // one running + one folded follow-up
    off();
    expect(process.listenerCount('SIGHUP')).toBe(listenersBefore);
  });

  it('reports handler errors through onError', async () => {
    const errors: unknown[] = [];
    const off = onSignal(
      'SIGUSR2',
      () => {
        throw new Error('boom');
      },
      { onError: (e) => errors.push(e) },
    );
    process.emit('SIGUSR2', 'SIGUSR2');
    await sleep(20);
    off();
    expect(errors).toHaveLength(1);
  });
});
