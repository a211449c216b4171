/**
 * The summary of a test run, from vitest's JSON report (test-results.json; see vitest.config.ts):
 *   tsx scripts/test-summary.ts [--durations N] [REPORT]
 * prints what failed or was skipped (with the error of a file that failed outside its tests, and
 * with --durations the N longest test files, both from test-files.json beside the report, written by
 * test/setup/files-reporter.ts), then, as its last line, `N passed, N failed, N skipped`. Exits 1
 * unless the run is green: something ran, nothing failed, nothing was skipped.
 *
 * `failed` counts failed tests plus each test file that failed with no failed test (a beforeAll that
 * threw, a file that did not import, a worker that died): vitest reports such a file's tests as
 * skipped and its `numFailedTests` stays 0, so counting tests alone would hide it. `skipped` counts
 * every test that did not run to a result: skipped, pending, todo.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FileRow } from '../test/setup/files-reporter.js';

/** The parts of vitest's JSON report read here. */
export interface JsonReport {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { status: string; fullName: string }[];
  }[];
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** One line per failure: a failed test, or a file that failed with no failed test. */
  failures: string[];
  /** One line per test that did not run. */
  skips: string[];
}

/** `files`: test-files.json's rows, for the errors of files that failed outside their tests. */
export function summarize(report: JsonReport, files: FileRow[] = [], root = process.cwd()): Summary {
  const s: Summary = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
  const errorsOf = new Map(files.map((f) => [f.file, f.errors]));
  for (const file of report.testResults) {
    const name = path.relative(root, file.name);
    let failedTests = 0;
    for (const t of file.assertionResults) {
      if (t.status === 'passed') s.passed++;
      else if (t.status === 'failed') {
        failedTests++;
        s.failures.push(`${name} > ${t.fullName}`);
      } else {
        s.skipped++;
        s.skips.push(`${name} > ${t.fullName} (${t.status})`);
      }
    }
    s.failed += failedTests;
    if (file.status !== 'passed' && failedTests === 0) {
      s.failed++;
      const why = [file.message?.split('\n')[0], ...(errorsOf.get(name) ?? [])].filter(Boolean);
      s.failures.push(
        `${name}: the file failed outside its tests: ${why.join('; ') || `status ${file.status}`}`,
      );
    }
  }
  return s;
}

/** `N passed, N failed, N skipped` */
export function summaryLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
}

/** Something ran, nothing failed, nothing was skipped. */
export function isGreen(s: Summary): boolean {
  return s.passed > 0 && s.failed === 0 && s.skipped === 0;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function main(): number {
  const { values, positionals } = parseArgs({
    options: { durations: { type: 'string', default: '0' } },
    allowPositionals: true,
  });
  const reportFile = positionals[0] ?? 'test-results.json';
  const files = readJson<FileRow[]>(path.join(path.dirname(reportFile), 'test-files.json')) ?? [];
  const top = Number(values.durations);
  if (top > 0 && files.length > 0) {
    console.log(`summary: the ${top} longest test files (wall time: import, hooks and tests)`);
    for (const f of files.slice(0, top)) {
      console.log(
        `${(f.wallMs / 1000).toFixed(1).padStart(7)} s  ${f.file} (${f.project}, worker ${f.worker})`,
      );
    }
  }
  const report = readJson<JsonReport>(reportFile);
  if (!report) {
    console.log(`summary: no test report in ${reportFile}: no test ran`);
    console.log('0 passed, 0 failed, 0 skipped');
    return 1;
  }
  const s = summarize(report, files);
  for (const f of s.failures) console.log(`FAILED  ${f}`);
  for (const k of s.skips) console.log(`SKIPPED ${k}`);
  if (s.passed + s.failed + s.skipped === 0) console.log('summary: no test ran');
  console.log(summaryLine(s));
  return isGreen(s) ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
