/**
 * Benchmark: change-detection latency of `watchSecretDir` (secret-manager-controller/reload), from
 * the moment new content becomes visible (the kubelet's `rename(..data_tmp, ..data)`, an editor's
 * rename, vim's write) to the callback, on the real file system of this machine.
 *
 * Runs the same randomly timed scenario as test/reload/swaps.test.ts for each writer, one after the
 * other (nothing else running in the process), and prints p50/p99/max of the spaced content-changing
 * writes, plus the correctness counters (which must show one callback per change).
 *
 *   npx tsx bench/reload.ts [writes=300] [debounceMs=100] [atomic,rename,vim]
 *
 * The latency is dominated by the debounce (default 100 ms), by design: it is what lets one kubelet
 * swap (5–10 file-system events) or one editor save be read once, complete. Plain directories add
 * one confirming read (a second debounce). The kubelet's own sync delay (up to a minute) dwarfs both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from '../test/reload/fs-writers.js';
import { runScenario, type WriterKind } from '../test/reload/scenario.js';

const WRITES = Number(process.argv[2] ?? 300);
const DEBOUNCE_MS = Number(process.argv[3] ?? 100);
const ONLY = process.argv[4]?.split(',');
const WRITERS = (
  [
    ['atomic', 'kubelet AtomicWriter swap'],
    ['rename', 'editor save (temp + rename)'],
    ['vim', 'vim save (backup rename)'],
  ] as [WriterKind, string][]
).filter(([w]) => !ONLY || ONLY.includes(w));

const base = await mkdtemp(join(tmpdir(), 'smc-bench-reload-'));
const f = (n: number) => `${n.toFixed(1)} ms`.padStart(9);
console.log(
  `watchSecretDir latency, ${WRITES} writes per writer, debounce ${DEBOUNCE_MS} ms (node ${process.version})`,
);
console.log(
  `${'writer'.padEnd(30)}${'n'.padStart(5)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}  correctness`,
);
let failed = false;
try {
  for (const [writer, label] of WRITERS) {
    const r = await runScenario(join(base, writer), { writer, writes: WRITES, debounceMs: DEBOUNCE_MS });
    const wrongChanging = r.spacedCallbackCounts.changing.filter((n) => n !== 1).length;
    const wrongIdentical = r.spacedCallbackCounts.identical.filter((n) => n !== 0).length;
    const ok = r.violations.length === 0 && wrongChanging === 0 && wrongIdentical === 0;
    failed ||= !ok;
    console.log(
      `${label.padEnd(30)}${String(r.latencies.length).padStart(5)}${f(percentile(r.latencies, 50)).padStart(10)}` +
        `${f(percentile(r.latencies, 99)).padStart(10)}${f(Math.max(...r.latencies)).padStart(10)}  ` +
        `${ok ? 'ok' : 'FAILED'}: ${r.spacedChanging} changes → 1 callback each, ${r.spacedIdentical} identical → none, ` +
        `${r.quickWrites} in bursts → ${r.quickCallbacks} callbacks`,
    );
    for (const v of r.violations.slice(0, 5)) console.log(`  violation: ${v}`);
  }
} finally {
  await rm(base, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
