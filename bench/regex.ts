/**
 * Benchmark: sops' encrypted_regex & co. on a catastrophic-backtracking pattern.
 *
 * `(a+)+$` against a key of N `a`s and a `b`: JavaScript's backtracking RegExp doubles its time
 * with every `a` (measured here up to 24 of them), our Go-regexp engine (re2js, linear time) runs
 * the issue's 28 and then 100,000.
 *
 *   npx tsx bench/regex.ts
 */
import { performance } from 'node:perf_hooks';
import { goRegexMatch } from '../src/sops/regex.js';

function timeMs(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const PATTERN = '(a+)+$';
for (const n of [20, 22, 24]) {
  const key = 'a'.repeat(n) + 'b';
  const ms = timeMs(() => new RegExp(PATTERN).test(key));
  console.log(`JavaScript RegExp  ${PATTERN}  ${n} a + b: ${ms.toFixed(1)} ms`);
}
for (const n of [28, 1_000, 100_000]) {
  const key = 'a'.repeat(n) + 'b';
  goRegexMatch(PATTERN, 'warm-up');
  const ms = timeMs(() => goRegexMatch(PATTERN, key));
  console.log(`Go regexp (re2js)  ${PATTERN}  ${n} a + b: ${ms.toFixed(2)} ms`);
}
