/**
 * Vitest reporter: writes test-files.json, one row per test file: its wall time from the moment a
 * worker takes it to its last hook (vitest's JSON report times only the tests themselves, leaving
 * out a file's import and beforeAll: starting emulators and controllers), the project and worker
 * slot that ran it, and the errors of the file and its suites outside any test (a beforeAll that
 * threw: vitest's JSON report then shows the file's tests as skipped and no message). Read by
 * scripts/test-summary.ts (`--durations N` prints the longest files).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export interface FileRow {
  file: string;
  project: string;
  /** vitest's worker slot (1..maxWorkers of the project) */
  worker: number;
  /** ms since the epoch: queued on its worker, and ended */
  start: number;
  end: number;
  /** end - start */
  wallMs: number;
  /** of which importing the file (collecting its tests) */
  collectMs: number;
  /** `suite name: first line of the message` for each error outside a test (hooks, import) */
  errors: string[];
}

export default class FilesReporter implements Reporter {
  private readonly started = new Map<string, number>();
  private readonly rows: FileRow[] = [];
  private readonly outputFile: string;

  constructor(options: { outputFile?: string } = {}) {
    this.outputFile = options.outputFile ?? 'test-files.json';
  }

  onTestRunStart(): void {
    this.started.clear();
    this.rows.length = 0;
  }

  onTestModuleQueued(m: TestModule): void {
    this.started.set(m.id, Date.now());
  }

  onTestModuleEnd(m: TestModule): void {
    const end = Date.now();
    const start = this.started.get(m.id) ?? end;
    const errors = [m, ...m.children.allSuites()].flatMap((s) =>
      s
        .errors()
        .map((e) => `${s.type === 'suite' ? s.fullName : 'file'}: ${String(e.message).split('\n')[0]}`),
    );
    this.rows.push({
      file: path.relative(m.project.config.root, m.moduleId),
      project: m.project.name,
      worker: m.diagnostic().concurrencyId,
      start,
      end,
      wallMs: end - start,
      collectMs: Math.round(m.diagnostic().collectDuration),
      errors,
    });
  }

  async onTestRunEnd(): Promise<void> {
    this.rows.sort((a, b) => b.wallMs - a.wallMs);
    await writeFile(this.outputFile, JSON.stringify(this.rows, null, 1) + '\n');
  }
}
