/**
 * `msmctl diff PATH --env ENV --store TYPE:TARGET`: what a sync would change, without changing it.
 * Runs the pipeline's own plan (sync with dryRun) and prints one row per entry —
 * create / update / enable / disable / delete / noop / conflict — never a value. Exit code like
 * diff(1): 0 no differences, 1 differences, 2 trouble (bad input, an entry that cannot be synced).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { SmcError } from '../../errors.js';
import type { DeletionPolicy } from '../../plan/actions.js';
import { openLocalSource } from '../../source/local.js';
import { sync, type EntryOutcome, type RenderMode } from '../../sync.js';
import { keyringFromOptions, type KeyOptions } from '../keys.js';
import { EXIT_NOT_READY } from '../kube.js';
import { formatStructured, formatTable, parseOutputFormat } from '../output.js';
import { STORE_SPEC_HELP, storeFromSpec } from '../store-spec.js';
import { collect, EXIT_ERROR, ownerFromOption } from './common.js';

interface DiffOptions extends KeyOptions {
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
  output: string;
}

export type Change = 'create' | 'update' | 'enable' | 'disable' | 'delete' | 'noop' | 'conflict' | 'error';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare what the source would sync with what the store holds (values masked)')
    .argument('<path>', 'GitOps source directory')
    .requiredOption('--env <environment>', 'environment (profile directory, e.g. dev)')
    .requiredOption('--store <type:target>', 'the store to compare with, e.g. local:./out')
    .option(
      '--config-store <type:target>',
      'where configs (application.properties) go; default: one JSON secret',
    )
    .option('--kustomize-path <path>', 'kustomize-build mode: path of the overlay inside the source')
    .option('--base-path <path>', 'raw-file mode: search root inside the source')
    .option('--prefix <prefix>', 'name prefix (default: the service name)')
    .option('--suffix <suffix>', 'name suffix')
    .option('--smc <namespace/name>', 'owner of the entries (default: local/<directory name>)')
    .option(
      '--deletion-policy <policy>',
      'Retain | Disable | Delete, for keys removed from the source',
      'Retain',
    )
    .option('--no-trigger-update', 'as sync would run: only create missing entries')
    .option('--adopt', 'as sync would run: take over existing entries not created by this tool')
    .option('--no-sops', 'do not decrypt SOPS files (an encrypted file is then an error)')
    .option('--age-key-file <file>', 'age identity file (repeatable; also SOPS_AGE_KEY_FILE)', collect, [])
    .option('--gpg-key-file <file>', 'ASCII-armoured PGP private key file (repeatable)', collect, [])
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .addHelpText('after', `\nStores:\n${STORE_SPEC_HELP}`)
    .action(async (dir: string, opts: DiffOptions) => {
      const output = parseOutputFormat(opts.output);
      const deletionPolicy = parseDeletionPolicy(opts.deletionPolicy);
      const source = await openLocalSource(dir);
      const render: RenderMode = opts.kustomizePath
        ? { mode: 'kustomize', kustomizePath: opts.kustomizePath }
        : { mode: 'raw', basePath: opts.basePath };
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
        dryRun: true,
      }).finally(() => Promise.all([secretStore.close?.(), configStore?.close?.()]));

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
        process.stdout.write(
          `${table}\n\n${summary}; ${differences === 0 ? 'no differences' : `${differences} difference(s)`}\n`,
        );
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

function parseDeletionPolicy(value: string): DeletionPolicy {
  if (value === 'Retain' || value === 'Disable' || value === 'Delete') return value;
  throw new SmcError('InvalidSpec', `--deletion-policy must be Retain, Disable or Delete (got "${value}")`);
}
