import path from 'node:path';
import type { Command } from 'commander';
import { SmcError } from '../../errors.js';
import type { DeletionPolicy } from '../../plan/actions.js';
import { openLocalSource } from '../../source/local.js';
import { sync, type ProgressEvent, type RenderMode, type SyncResult } from '../../sync.js';
import { keyringFromOptions, type KeyOptions } from '../keys.js';
import { formatStructured, formatTable, parseOutputFormat } from '../output.js';
import { STORE_SPEC_HELP, storeFromSpec } from '../store-spec.js';
import { collect, EXIT_FAILED_ENTRIES, ownerFromOption } from './common.js';

interface SyncOptions extends KeyOptions {
  env: string;
  store: string;
  configStore?: string;
  kustomizePath?: string;
  basePath?: string;
  prefix?: string;
  suffix?: string;
  smc?: string;
  deletionPolicy: string;
  triggerUpdate: boolean;
  adopt?: boolean;
  sops: boolean;
  dryRun?: boolean;
  progress?: boolean;
  output: string;
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('run the whole pipeline on a local directory: render, decrypt, name, plan, apply')
    .argument('<path>', 'GitOps source directory')
    .requiredOption('--env <environment>', 'environment (profile directory, e.g. dev)')
    .requiredOption('--store <type:target>', 'where secrets go, e.g. local:./out')
    .option(
      '--config-store <type:target>',
      'where configs (application.properties) go; default: one JSON secret',
    )
    .option('--kustomize-path <path>', 'kustomize-build mode: path of the overlay inside the source')
    .option('--base-path <path>', 'raw-file mode: search root inside the source')
    .option('--prefix <prefix>', 'name prefix (default: the service name)')
    .option('--suffix <suffix>', 'name suffix')
    .option('--smc <namespace/name>', 'owner recorded on entries (default: local/<directory name>)')
    .option(
      '--deletion-policy <policy>',
      'Retain | Disable | Delete, for keys removed from the source',
      'Retain',
    )
    .option('--no-trigger-update', 'only create missing entries; never overwrite existing ones')
    .option('--adopt', 'take over existing entries not created by this tool')
    .option('--no-sops', 'do not decrypt SOPS files (an encrypted file is then an error)')
    .option('--age-key-file <file>', 'age identity file (repeatable; also SOPS_AGE_KEY_FILE)', collect, [])
    .option('--gpg-key-file <file>', 'ASCII-armoured PGP private key file (repeatable)', collect, [])
    .option('--dry-run', 'show the plan with values masked; write nothing')
    .option('--progress', 'print progress to stderr (default when stderr is a terminal)')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .addHelpText('after', `\nStores:\n${STORE_SPEC_HELP}`)
    .action(async (dir: string, opts: SyncOptions) => {
      const output = parseOutputFormat(opts.output);
      const deletionPolicy = parseDeletionPolicy(opts.deletionPolicy);
      const source = await openLocalSource(dir);
      const render: RenderMode = opts.kustomizePath
        ? { mode: 'kustomize', kustomizePath: opts.kustomizePath }
        : { mode: 'raw', basePath: opts.basePath };
      const showProgress = opts.progress ?? process.stderr.isTTY;
      const storeContext = { environment: opts.env, prefix: opts.prefix };
      const secretStore = storeFromSpec(opts.store, storeContext);
      const configStore = opts.configStore ? storeFromSpec(opts.configStore, storeContext) : undefined;
      const result = await sync({
        source,
        owner: ownerFromOption(opts.smc, path.basename(source.root)),
        environment: opts.env,
        render,
        prefix: opts.prefix,
        suffix: opts.suffix,
        sops: { enabled: opts.sops, keyring: opts.sops ? await keyringFromOptions(opts) : undefined },
        secretStore,
        configStore,
        deletionPolicy,
        triggerUpdate: opts.triggerUpdate,
        adopt: opts.adopt ?? false,
        dryRun: opts.dryRun,
        onProgress: showProgress ? printProgress : undefined,
      }).finally(() => Promise.all([secretStore.close?.(), configStore?.close?.()]));
      process.stdout.write(formatSyncResult(result, output) + '\n');
      if (result.failed > 0) process.exitCode = EXIT_FAILED_ENTRIES;
    });
}

export function formatSyncResult(result: SyncResult, output: 'table' | 'json' | 'yaml'): string {
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
  return `${table}\n\n${summary}; ${result.writes} write(s), ${result.failed} failed`;
}

function parseDeletionPolicy(value: string): DeletionPolicy {
  if (value === 'Retain' || value === 'Disable' || value === 'Delete') return value;
  throw new SmcError('InvalidSpec', `--deletion-policy must be Retain, Disable or Delete (got "${value}")`);
}

function printProgress(e: ProgressEvent): void {
  const line =
    e.stage === 'render'
      ? `rendered ${e.entries} entries`
      : e.stage === 'plan'
        ? `planned ${e.actions} actions for ${e.store}`
        : `applied ${e.done}/${e.total} actions to ${e.store}`;
  process.stderr.write(`msmctl: ${line}\n`);
}
