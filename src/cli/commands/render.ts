import path from 'node:path';
import type { Command } from 'commander';
import { openLocalSource } from '../../source/local.js';
import { renderSource } from '../../sync.js';
import { addKmsOptions, keyringFromOptions, type KeyOptions } from '../keys.js';
import { addLimitOptions, limitsFromOptions, type LimitOptions } from '../limit-options.js';
import { type OutputFormat, formatStructured, formatTable, outputOption, writeLines } from '../output.js';
import { collect, ownerFromOption } from './common.js';
import { CLI_ALLOW_SWITCHES, renderModeFromOptions } from './pipeline-run.js';

interface RenderOptions extends KeyOptions, LimitOptions {
  env: string;
  kustomizePath?: string;
  basePath?: string;
  prefix?: string;
  smc?: string;
  sops: boolean;
  allowPlaintext?: boolean;
  output: OutputFormat;
  allowKustomizeRemote?: boolean;
}

const MASK = '<redacted>';

export function registerRender(program: Command): void {
  const cmd = program
    .command('render')
    .description('show what would be synced from a source directory, values masked')
    .argument('<path>', 'GitOps source directory')
    .requiredOption('--env <environment>', 'environment (profile directory, e.g. dev)')
    .option('--kustomize-path <path>', 'kustomize-build mode: path of the overlay inside the source')
    .option('--allow-kustomize-remote', 'let kustomize fetch remote resources and bases (refused by default)')
    .option('--base-path <path>', 'raw-file mode: search root inside the source')
    .option('--prefix <prefix>', 'service name for a source whose root holds deployment-configuration/')
    .option('--smc <namespace/name>', 'SecretManagerConfig this stands for (default: local/<directory name>)')
    .option('--no-sops', 'do not decrypt SOPS files (an encrypted file is then an error)')
    .option('--age-key-file <file>', 'age identity file (repeatable; also SOPS_AGE_KEY_FILE)', collect, [])
    .option('--gpg-key-file <file>', 'ASCII-armoured PGP private key file (repeatable)', collect, [])
    .option('--allow-plaintext', 'accept unencrypted application.secrets.* files (tests only)')
    .addOption(outputOption());
  addLimitOptions(addKmsOptions(cmd)).action(async (dir: string, opts: RenderOptions) => {
    const output = opts.output;
    const source = await openLocalSource(dir);
    const render = renderModeFromOptions(opts);
    const entries = await renderSource({
      source,
      owner: ownerFromOption(opts.smc, path.basename(source.root)),
      environment: opts.env,
      render,
      prefix: opts.prefix,
      sops: { enabled: opts.sops, keyring: opts.sops ? await keyringFromOptions(opts) : undefined },
      allow: { plaintext: opts.allowPlaintext ?? false },
      allowSwitches: CLI_ALLOW_SWITCHES,
      limits: limitsFromOptions(opts),
    });
    const rows = entries.map((e) => ({
      service: e.service ?? null,
      key: e.key,
      kind: e.kind,
      enabled: e.enabled,
      origin: e.origin,
      value: MASK,
    }));
    if (output !== 'table') process.stdout.write(formatStructured({ entries: rows }, output) + '\n');
    else
      writeLines(
        process.stdout,
        formatTable(
          ['SERVICE', 'KEY', 'KIND', 'ENABLED', 'ORIGIN', 'VALUE'],
          rows.map((r) => [r.service ?? '-', r.key, r.kind, String(r.enabled), r.origin, r.value]),
        ),
      );
  });
}
