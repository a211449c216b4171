/**
 * What `msmctl sync` and `msmctl diff` share: the options that describe a pipeline run (source
 * layout, store, naming, keys, policies) and the run itself on a local directory. `sync` applies
 * the plan; `diff` runs it with `dryRun` and reports the differences.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { SmcError } from '../../errors.js';
import type { DeletionPolicy } from '../../plan/actions.js';
import { openLocalSource } from '../../source/local.js';
import { type ProgressEvent, type RenderMode, type SyncResult, sync } from '../../sync.js';
import { type KeyOptions, keyringFromOptions } from '../keys.js';
import { addLimitOptions, type LimitOptions, limitsFromOptions } from '../limit-options.js';
import { STORE_SPEC_HELP, storeFromSpec } from '../store-spec.js';
import { collect, ownerFromOption } from './common.js';

export interface PipelineOptions extends KeyOptions, LimitOptions {
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
}

/** Add the pipeline options to `cmd` (`storeHelp` describes `--store` for this command). */
export function addPipelineOptions(cmd: Command, storeHelp: string): Command {
  return addLimitOptions(cmd)
    .argument('<path>', 'GitOps source directory')
    .requiredOption('--env <environment>', 'environment (profile directory, e.g. dev)')
    .requiredOption('--store <type:target>', storeHelp)
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
    .addHelpText('after', `\nStores:\n${STORE_SPEC_HELP}`);
}

export function parseDeletionPolicy(value: string): DeletionPolicy {
  if (value === 'Retain' || value === 'Disable' || value === 'Delete') return value;
  throw new SmcError('InvalidSpec', `--deletion-policy must be Retain, Disable or Delete (got "${value}")`);
}

/** Run the pipeline on directory `dir` as the options say; the stores are closed afterwards. */
export async function runPipeline(
  dir: string,
  opts: PipelineOptions,
  run: { dryRun?: boolean; onProgress?: (e: ProgressEvent) => void },
): Promise<SyncResult> {
  const deletionPolicy = parseDeletionPolicy(opts.deletionPolicy);
  const source = await openLocalSource(dir);
  const render: RenderMode = opts.kustomizePath
    ? { mode: 'kustomize', kustomizePath: opts.kustomizePath }
    : { mode: 'raw', basePath: opts.basePath };
  const storeContext = { environment: opts.env, prefix: opts.prefix };
  const secretStore = storeFromSpec(opts.store, storeContext);
  const configStore = opts.configStore ? storeFromSpec(opts.configStore, storeContext) : undefined;
  return sync({
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
    limits: limitsFromOptions(opts),
    dryRun: run.dryRun,
    onProgress: run.onProgress,
  }).finally(() => Promise.all([secretStore.close?.(), configStore?.close?.()]));
}
