/**
 * .ci/run's summary line (scripts/test-summary.ts) from vitest's JSON report: a file whose setup
 * failed counts as failed even when vitest counts no failed test, and any skipped test makes the
 * run red.
 */
import { describe, expect, it } from 'vitest';
import { isGreen, summarize, summaryLine, type JsonReport } from '../../scripts/test-summary.js';

const root = '/repo';
const file = (
  name: string,
  status: string,
  tests: string[],
  message = '',
): JsonReport['testResults'][number] => ({
  name: `${root}/${name}`,
  status,
  message,
  assertionResults: tests.map((s, i) => ({ status: s, fullName: `t${i}` })),
});

describe('test summary', () => {
  it('all passed: green', () => {
    const s = summarize({ testResults: [file('a.test.ts', 'passed', ['passed', 'passed'])] }, [], root);
    expect(summaryLine(s)).toBe('2 passed, 0 failed, 0 skipped');
    expect(isGreen(s)).toBe(true);
  });

  it('a file whose beforeAll threw counts as failed (its tests as skipped), with the error from test-files.json', () => {
    const s = summarize(
      {
        testResults: [
          file('a.test.ts', 'passed', ['passed']),
          file('e2e.kube.test.ts', 'failed', ['skipped', 'skipped']),
        ],
      },
      [
        {
          file: 'e2e.kube.test.ts',
          project: 'kube',
          worker: 1,
          start: 0,
          end: 1,
          wallMs: 1,
          collectMs: 0,
          errors: ['e2e: test peer moto is not installed: nothing at /c/moto-5.2.5/bin/moto_server'],
        },
      ],
      root,
    );
    expect(summaryLine(s)).toBe('1 passed, 1 failed, 2 skipped');
    expect(s.failures).toEqual([
      'e2e.kube.test.ts: the file failed outside its tests: e2e: test peer moto is not installed: nothing at /c/moto-5.2.5/bin/moto_server',
    ]);
    expect(isGreen(s)).toBe(false);
  });

  it('a file that did not import (no tests at all) counts as one failure', () => {
    const s = summarize({ testResults: [file('x.test.ts', 'failed', [], 'Cannot find module')] }, [], root);
    expect(summaryLine(s)).toBe('0 passed, 1 failed, 0 skipped');
    expect(s.failures[0]).toContain('Cannot find module');
  });

  it('failed tests count once each, not once more for their file', () => {
    const s = summarize(
      { testResults: [file('a.test.ts', 'failed', ['failed', 'failed', 'passed'])] },
      [],
      root,
    );
    expect(summaryLine(s)).toBe('1 passed, 2 failed, 0 skipped');
  });

  it('an afterAll that threw after passing tests fails the file', () => {
    const s = summarize({ testResults: [file('a.test.ts', 'failed', ['passed'])] }, [], root);
    expect(summaryLine(s)).toBe('1 passed, 1 failed, 0 skipped');
    expect(isGreen(s)).toBe(false);
  });

  it('skipped, pending and todo tests are skipped, and make the run red', () => {
    const s = summarize(
      { testResults: [file('a.test.ts', 'passed', ['passed', 'skipped', 'pending', 'todo'])] },
      [],
      root,
    );
    expect(summaryLine(s)).toBe('1 passed, 0 failed, 3 skipped');
    expect(s.skips).toEqual([
      'a.test.ts > t1 (skipped)',
      'a.test.ts > t2 (pending)',
      'a.test.ts > t3 (todo)',
    ]);
    expect(isGreen(s)).toBe(false);
  });

  it('nothing ran: red', () => {
    const s = summarize({ testResults: [] }, [], root);
    expect(summaryLine(s)).toBe('0 passed, 0 failed, 0 skipped');
    expect(isGreen(s)).toBe(false);
  });
});
