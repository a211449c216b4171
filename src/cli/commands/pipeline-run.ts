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
import { type KeyOptions, addKmsOptions, keyringFromOptions } from '../keys.js';
import { addLimitOptions, type LimitOptions, limitsFromOptions } from '../limit-options.js';
import { STORE_SPEC_HELP, type StoreSpec, storeFromSpec, storeSpecOption } from '../store-spec.js';
import { collect, ownerFromOption } from './common.js';

export interface PipelineOptions extends KeyOptions, LimitOptions {
  env: string;
  store: StoreSpec;
  configStore?: StoreSpec;
  kustomizePath?: string;
  basePath?: string;
  prefix?: string;
  suffix?: string;
  smc?: string;
  deletionPolicy: string;
  triggerUpdate: boolean;
  adopt?: boolean;
  sops: boolean;
  allowPruneAll?: boolean;
  allowPlaintext?: boolean;
  allowNonEmptyDir?: boolean;
  allowKustomizeRemote?: boolean;
}

/** How a user of msmctl lifts the pipeline's refusals (quoted in their errors). */
export const CLI_ALLOW_SWITCHES = { pruneAll: '--allow-prune-all', plaintext: '--allow-plaintext' };

/** Add the pipeline options to `cmd` (`storeHelp` describes `--store` for this command). */
export function addPipelineOptions(cmd: Command, storeHelp: string): Command {
  return addLimitOptions(addKmsOptions(cmd))
    .argument('<path>', 'GitOps source directory')
    .requiredOption('--env <environment>', 'environment (profile directory, e.g. dev)')
    .requiredOption('--store <type:target>', storeHelp, storeSpecOption)
    .option(
      '--config-store <type:target>',
      'where configs (application.properties) go; default: one JSON secret',
      storeSpecOption,
    )
    .option('--kustomize-path <path>', 'kustomize-build mode: path of the overlay inside the source')
    .option('--allow-kustomize-remote', 'let kustomize fetch remote resources and bases (refused by default)')
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
    .option(
      '--allow-prune-all',
      'allow a run that would delete or disable every entry the target owns (refused by default)',
    )
    .option('--allow-plaintext', 'accept unencrypted application.secrets.* files (tests only)')
    .option('--no-sops', 'do not decrypt SOPS files (an encrypted file is then an error)')
    .option(
      '--allow-non-empty-dir',
      'local: stores may write into a non-empty directory that is not one of ours (nothing there is removed)',
    )
    .option('--age-key-file <file>', 'age identity file (repeatable; also SOPS_AGE_KEY_FILE)', collect, [])
    .option('--gpg-key-file <file>', 'ASCII-armoured PGP private key file (repeatable)', collect, [])
    .addHelpText('after', `\nStores:\n${STORE_SPEC_HELP}`);
}

export function parseDeletionPolicy(value: string): DeletionPolicy {
  if (value === 'Retain' || value === 'Disable' || value === 'Delete') return value;
  throw new SmcError('InvalidSpec', `--deletion-policy must be Retain, Disable or Delete (got "${value}")`);
}

/** Run the pipeline on directory `dir` as the options say; the stores are closed afterwards. */
/** `--kustomize-path` (with `--allow-kustomize-remote`) or raw-file mode under `--base-path`. */
export function renderModeFromOptions(opts: {
  kustomizePath?: string;
  basePath?: string;
  allowKustomizeRemote?: boolean;
}): RenderMode {
  return opts.kustomizePath
    ? {
        mode: 'kustomize',
        kustomizePath: opts.kustomizePath,
        allowRemote: opts.allowKustomizeRemote ?? false,
      }
    : { mode: 'raw', basePath: opts.basePath };
}

export async function runPipeline(
  dir: string,
  opts: PipelineOptions,
  run: { dryRun?: boolean; onProgress?: (e: ProgressEvent) => void },
): Promise<SyncResult> {
  const deletionPolicy = parseDeletionPolicy(opts.deletionPolicy);
  const source = await openLocalSource(dir);
  const render = renderModeFromOptions(opts);
  const storeContext = {
    environment: opts.env,
    prefix: opts.prefix,
    allowNonEmptyDir: opts.allowNonEmptyDir ?? false,
  };
  const secretStore = await storeFromSpec(opts.store, storeContext);
  const configStore = opts.configStore ? await storeFromSpec(opts.configStore, storeContext) : undefined;
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
    allow: { pruneAll: opts.allowPruneAll ?? false, plaintext: opts.allowPlaintext ?? false },
    allowSwitches: CLI_ALLOW_SWITCHES,
    adoptHint: 'pass --adopt to take it over',
    limits: limitsFromOptions(opts),
    dryRun: run.dryRun,
    onProgress: run.onProgress,
  }).finally(() => Promise.all([secretStore.close?.(), configStore?.close?.()]));
}
