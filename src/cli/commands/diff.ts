/**
 * `msmctl diff PATH --env ENV --store TYPE:TARGET`: what a sync would change, without changing it.
 * Runs the pipeline's own plan (sync with dryRun) and prints one row per entry —
 * create / update / enable / disable / delete / noop / conflict — never a value. Exit code like
 * diff(1): 0 no differences, 1 differences, 2 trouble (bad input, an entry that cannot be synced).
 */
import type { Command } from 'commander';
import type { DeletionPolicy } from '../../plan/actions.js';
import type { EntryOutcome } from '../../sync.js';
import { EXIT_NOT_READY } from '../kube.js';
import { type OutputFormat, formatStructured, formatTable, outputOption, writeLines } from '../output.js';
import { EXIT_ERROR } from './common.js';
import {
  type PipelineOptions,
  addPipelineOptions,
  parseDeletionPolicy,
  runPipeline,
} from './pipeline-run.js';

interface DiffOptions extends PipelineOptions {
  output: OutputFormat;
}

export type Change = 'create' | 'update' | 'enable' | 'disable' | 'delete' | 'noop' | 'conflict' | 'error';

export function registerDiff(program: Command): void {
  addPipelineOptions(
    program
      .command('diff')
      .description('compare what the source would sync with what the store holds (values masked)'),
    'the store to compare with, e.g. local:./out',
  )
    .addOption(outputOption())
    .action(async (dir: string, opts: DiffOptions) => {
      const output = opts.output;
      const deletionPolicy = parseDeletionPolicy(opts.deletionPolicy);
      const result = await runPipeline(dir, opts, { dryRun: true });

      const rows = result.outcomes.map((o) => ({
        key: o.key ?? null,
        name: o.storeName,
        kind: o.kind,
        store: o.store,
        change: changeOf(o, deletionPolicy),
        reason: o.message ?? null,
      }));
      const differences = rows.filter((r) => r.change !== 'noop' && r.change !== 'error').length;
      const errors = rows.filter((r) => r.change === 'error').length;
      if (output !== 'table') {
        process.stdout.write(formatStructured({ entries: rows, differences, errors }, output) + '\n');
      } else {
        const table = formatTable(
          ['KEY', 'NAME', 'KIND', 'CHANGE', 'REASON'],
          rows.map((r) => [r.key ?? '-', r.name, r.kind, r.change, r.reason ?? '']),
        );
        const counts = new Map<string, number>();
        for (const r of rows) counts.set(r.change, (counts.get(r.change) ?? 0) + 1);
        const summary = [...counts].map(([c, n]) => `${n} ${c}`).join(', ') || 'nothing to compare';
        writeLines(process.stdout, [
          ...table,
          '',
          `${summary}; ${differences === 0 ? 'no differences' : `${differences} difference(s)`}`,
        ]);
      }
      if (errors) process.exitCode = EXIT_ERROR;
      else if (differences) process.exitCode = EXIT_NOT_READY;
    });
}

/** The plan's action as a change to the store: a prune is a `delete` or a `disable` per deletionPolicy. */
export function changeOf(o: EntryOutcome, deletionPolicy: DeletionPolicy): Change {
  if (o.result === 'failed') return 'error';
  if (o.action === 'prune') return deletionPolicy === 'Delete' ? 'delete' : 'disable';
  return o.action;
}
