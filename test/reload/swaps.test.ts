/**
 * 1,000 writes with random timing on a real file system, for each way a secret directory changes:
 *
 * - the kubelet's AtomicWriter, step by step (new `..YYYY_MM_DD_HH_MM_SS.N` dir, files, `..data_tmp`
 *   symlink, rename over `..data`, per-key links created/removed, old dir removed);
 * - an editor's write-temp-and-rename save;
 * - vim's backup-rename save (the file is briefly missing, then written in place).
 *
 * Every spaced content-changing write gives exactly one callback, every spaced identical write none,
 * and every callback (bursts included) shows a state that was really written — never a mix of two
 * versions, a missing or half-written file — with the exact key diff. Latencies are printed, not
 * asserted (a loaded CI machine must not fail the suite); `bench/reload.ts` measures them alone.
 * The three scenarios run concurrently: they mostly wait, and the suite stays short.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarize, tempBase } from './fs-writers.js';
import { runScenario, type WriterKind } from './scenario.js';

const CASES: { writer: WriterKind; debounceMs: number; label: string }[] = [
  { writer: 'atomic', debounceMs: 15, label: 'kubelet AtomicWriter swaps' },
  { writer: 'rename', debounceMs: 20, label: 'editor saves (temp file + rename)' },
  { writer: 'vim', debounceMs: 20, label: 'vim saves (backup rename, write in place)' },
];

describe.concurrent('watchSecretDir: 1,000 randomly timed writes', () => {
  for (const c of CASES) {
    it(
      `${c.label}: one callback per real change, none for identical content`,
      { timeout: 900_000 },
      async () => {
        const { base, cleanup } = await tempBase();
        try {
          const r = await runScenario(join(base, 'dir'), {
            writer: c.writer,
            writes: 1000,
            debounceMs: c.debounceMs,
          });
          console.log(
            `${summarize(`${c.label} → callback (debounce ${c.debounceMs} ms)`, r.latencies)}\n` +
              `  ${r.spacedChanging} spaced changing, ${r.spacedIdentical} spaced identical, ` +
              `${r.quickWrites} in quick bursts → ${r.quickCallbacks} callbacks`,
          );
          expect(r.violations).toEqual([]);
          expect(r.spacedChanging).toBeGreaterThan(250);
          expect(r.spacedIdentical).toBeGreaterThan(20);
          expect(r.spacedCallbackCounts.changing.filter((n) => n !== 1)).toEqual([]);
          expect(r.spacedCallbackCounts.identical.filter((n) => n !== 0)).toEqual([]);
          expect(r.quickCallbacks).toBeLessThanOrEqual(r.quickWrites);
        } finally {
          await cleanup();
        }
      },
    );
  }
});
