import type { Command } from 'commander';
import type { ProgressEvent, SyncResult } from '../../sync.js';
import { type OutputFormat, formatStructured, formatTable, outputOption, writeLines } from '../output.js';
import { EXIT_FAILED_ENTRIES } from './common.js';
import { type PipelineOptions, addPipelineOptions, runPipeline } from './pipeline-run.js';

interface SyncOptions extends PipelineOptions {
  dryRun?: boolean;
  progress?: boolean;
  output: OutputFormat;
}

export function registerSync(program: Command): void {
  addPipelineOptions(
    program
      .command('sync')
      .description('run the whole pipeline on a local directory: render, decrypt, name, plan, apply'),
    'where secrets go, e.g. local:./out',
  )
    .option('--dry-run', 'show the plan with values masked; write nothing')
    .option('--progress', 'print progress to stderr (default when stderr is a terminal)')
    .addOption(outputOption())
    .action(async (dir: string, opts: SyncOptions) => {
      const output = opts.output;
      const showProgress = opts.progress ?? process.stderr.isTTY;
      const result = await runPipeline(dir, opts, {
        dryRun: opts.dryRun,
        onProgress: showProgress ? printProgress : undefined,
      });
      const text = formatSyncResult(result, output);
      if (typeof text === 'string') process.stdout.write(text + '\n');
      else writeLines(process.stdout, text);
      if (result.failed > 0) process.exitCode = EXIT_FAILED_ENTRIES;
    });
}

/** JSON or YAML text, or the lines of the table and its summary. */
export function formatSyncResult(result: SyncResult, output: OutputFormat): string | string[] {
  const entries = result.outcomes.map((o) => ({
    key: o.key ?? null,
    name: o.storeName,
    kind: o.kind,
    action: o.action,
    result: o.result,
    message: o.message ?? null,
  }));
  if (output !== 'table') return formatStructured({ entries }, output);
  const counts = new Map<string, number>();
  for (const o of result.outcomes) counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
  const summary = [...counts].map(([a, n]) => `${n} ${a}`).join(', ') || 'nothing to sync';
  const table = formatTable(
    ['KEY', 'NAME', 'KIND', 'ACTION', 'RESULT', 'MESSAGE'],
    entries.map((e) => [e.key ?? '-', e.name, e.kind, e.action, e.result, e.message ?? '']),
  );
  return [...table, '', `${summary}; ${result.writes} write(s), ${result.failed} failed`];
}

function printProgress(e: ProgressEvent): void {
  const line =
    e.stage === 'render'
      ? `rendered ${e.entries} entries`
      : e.stage === 'plan'
        ? `planned ${e.actions} actions for ${e.store}`
        : `applied ${e.done}/${e.total} actions to ${e.store}`;
  writeLines(process.stderr, `msmctl: ${line}`);
}
