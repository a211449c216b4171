/**
 * The swap scenario shared by the watcher tests and `bench/reload.ts`: N writes to a watched directory
 * with random timing, checking every callback against what was really written.
 *
 * Writes come in groups. A *spaced* group is one write, after which the scenario waits for the
 * callback (content changed) or for well past the debounce window (identical content): it must cause
 * exactly one callback, or none. A *quick* group is 2–4 writes a few ms apart (inside the debounce
 * window): it may be reported once or several times, but every callback must show a state that was
 * really written (never a mix of two versions, never a half-written file), carry the exact key diff
 * against the previous callback, and differ from it.
 */
import { randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchSecretDir, type SecretChange } from '../../src/reload/app/index.js';
import { AtomicWriterSim, randomPause, renameSave, vimSave, waitFor } from './fs-writers.js';

export type WriterKind = 'atomic' | 'rename' | 'vim';

export interface ScenarioOptions {
  writer: WriterKind;
  /** Number of writes (swaps or saves). */
  writes: number;
  debounceMs: number;
  /** Share of writes made in quick bursts. Default 0.3. */
  quickShare?: number;
  /** Share of writes that leave the content identical. Default 0.2. */
  identicalShare?: number;
  /** Longest wait for one expected callback (a generous bound for a loaded machine). Default 15 s. */
  callbackTimeoutMs?: number;
}

export interface ScenarioResult {
  writes: number;
  spacedChanging: number;
  spacedIdentical: number;
  quickWrites: number;
  quickCallbacks: number;
  callbacks: number;
  /** Callbacks that followed a spaced write, by that write (must all be 1 for changes, 0 otherwise). */
  spacedCallbackCounts: { changing: number[]; identical: number[] };
  violations: string[];
  /** Write visible (rename done) → callback, in ms, for spaced content-changing writes. */
  latencies: number[];
}

type State = Record<string, string>;

const serialize = (s: State) =>
  JSON.stringify(
    Object.keys(s)
      .sort()
      .map((k) => [k, s[k]]),
  );

export async function runScenario(dir: string, opts: ScenarioOptions): Promise<ScenarioResult> {
  const quickShare = opts.quickShare ?? 0.3;
  const identicalShare = opts.identicalShare ?? 0.2;
  const timeout = opts.callbackTimeoutMs ?? 15_000;
  const atomic = new AtomicWriterSim(dir);

  let current: State = { DB_URL: 'v0-db', API_KEY: 'v0-api', 'tls.crt': 'v0-crt' };
  const written = new Set<string>([serialize(current)]);
  let done = 0;
  let counter = 0;
  const mutate = (s: State): State => {
    const next = { ...s };
    const keys = Object.keys(next);
    const r = Math.random();
    counter += 1;
    if (opts.writer === 'atomic' && r < 0.15) next[`EXTRA_${counter}`] = `v${counter}-new`;
    else if (opts.writer === 'atomic' && r < 0.3 && keys.length > 1)
      delete next[keys[randomInt(0, keys.length)]!];
    else {
      const k = keys[randomInt(0, keys.length)]!;
      next[k] = `v${counter}-${k}`;
    }
    return next;
  };

  // Initial content, written before the watcher starts.
  if (opts.writer === 'atomic') await atomic.write(current);
  else {
    await mkdir(dir, { recursive: true });
    for (const [k, v] of Object.entries(current)) await writeFile(join(dir, k), v);
    await writeFile(join(dir, '.DB_URL.swp'), 'vim swap file, present while editing'); // filtered out
  }

  const write = async (next: State): Promise<number> => {
    const pause = randomPause(3);
    if (opts.writer === 'atomic') return (await atomic.write(next, pause)).swappedAt;
    // Editors save one file at a time: find the one that differs (or re-save one unchanged).
    const key = Object.keys(next).find((k) => next[k] !== current[k]) ?? Object.keys(next)[0]!;
    const file = join(dir, key);
    return opts.writer === 'rename' ? renameSave(file, next[key]!, pause) : vimSave(file, next[key]!, pause);
  };

  const violations: string[] = [];
  let reported: State = current;
  let callbacks = 0;
  let lastCallbackAt = 0;
  const onChange = (c: SecretChange) => {
    callbacks += 1;
    lastCallbackAt = performance.now();
    const state: State = Object.fromEntries([...c.files].map(([k, v]) => [k, v.toString('utf8')]));
    const tag = `callback ${callbacks}`;
    if (!written.has(serialize(state))) violations.push(`${tag}: shows a state that was never written`);
    if (serialize(state) === serialize(reported))
      violations.push(`${tag}: content identical to the previous report`);
    const added = Object.keys(state)
      .filter((k) => !(k in reported))
      .sort();
    const removed = Object.keys(reported)
      .filter((k) => !(k in state))
      .sort();
    const modified = Object.keys(state)
      .filter((k) => k in reported && reported[k] !== state[k])
      .sort();
    const want = JSON.stringify({ added, modified, removed });
    const got = JSON.stringify({ added: c.added, modified: c.modified, removed: c.removed });
    if (want !== got) violations.push(`${tag}: diff ${got}, expected ${want}`);
    if (JSON.stringify(c.changed) !== JSON.stringify([...added, ...modified, ...removed].sort())) {
      violations.push(`${tag}: changed is not added ∪ modified ∪ removed`);
    }
    reported = state;
  };

  const watcher = watchSecretDir(dir, onChange, { debounceMs: opts.debounceMs, pollIntervalMs: 0 });
  await watcher.ready;

  const result: ScenarioResult = {
    writes: opts.writes,
    spacedChanging: 0,
    spacedIdentical: 0,
    quickWrites: 0,
    quickCallbacks: 0,
    callbacks: 0,
    spacedCallbackCounts: { changing: [], identical: [] },
    violations,
    latencies: [],
  };

  try {
    while (done < opts.writes) {
      const quick = Math.random() < quickShare && opts.writes - done >= 2;
      const size = quick ? Math.min(randomInt(2, 5), opts.writes - done) : 1;
      const before = callbacks;
      const groupStart = serialize(current);
      let visibleAt = 0;
      for (let b = 0; b < size; b++) {
        const next = Math.random() < identicalShare ? current : mutate(current);
        written.add(serialize(next));
        visibleAt = await write(next);
        current = next;
        done += 1;
        if (b < size - 1) await sleep(randomInt(0, Math.max(1, Math.floor(opts.debounceMs / 4))));
      }
      // Against the state before the group, not `reported`: the callback may already have come while
      // the writer was still doing its last steps (links, removing the old payload).
      const changedNet = serialize(current) !== groupStart;
      if (changedNet) {
        await waitFor(
          () => serialize(reported) === serialize(current),
          timeout,
          `callback after write ${done}`,
        );
      } else {
        await sleep(opts.debounceMs * 3); // well past the window: a spurious callback would have come
        // A barrier: check() resolves after every read already under way has finished and reported
        // (a burst A→B→A may still be reporting B, then A). It must find nothing new itself.
        await watcher.check();
      }
      const count = callbacks - before;
      if (quick) {
        result.quickWrites += size;
        result.quickCallbacks += count;
      } else if (changedNet) {
        result.spacedChanging += 1;
        result.spacedCallbackCounts.changing.push(count);
        result.latencies.push(lastCallbackAt - visibleAt);
      } else {
        result.spacedIdentical += 1;
        result.spacedCallbackCounts.identical.push(count);
      }
      await sleep(randomInt(0, opts.debounceMs + 1)); // random spacing between groups
    }
    await sleep(opts.debounceMs * 5); // anything late would be a spurious callback
  } finally {
    await watcher.close();
  }
  result.callbacks = callbacks;
  return result;
}
