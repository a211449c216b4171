/**
 * `msmctl check [--pre]`. With --pre: can this cluster run the controller (server version, the
 * CRD API, Flux / Argo CD CRDs, permission to install)? Without: is the installed controller
 * healthy (CRD installed, Established and equal to this msmctl's, Deployment available, which
 * SecretManagerConfigs are not Ready)? One line per check: ok / warn / fail; exit 1 on any fail.
 * This file is the command and its output; the checks are in `check/pre.ts` and `check/health.ts`.
 */
import type { Command } from 'commander';
import { addKubeOptions, CliExit, connect, EXIT_NOT_READY, failWith, type KubeOptions } from '../kube.js';
import { PACKAGE_CONFIG_DIR, renderKustomization } from '../manifests.js';
import { type OutputFormat, formatStructured, outputOption, writeLines } from '../output.js';
import { healthChecks } from './check/health.js';
import { preChecks } from './check/pre.js';

export { MIN_KUBERNETES } from './check/pre.js';

export type CheckResult = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  result: CheckResult;
  message: string;
}

interface CheckOptions extends KubeOptions {
  pre?: boolean;
  from?: string;
  output: OutputFormat;
}

export function registerCheck(program: Command): void {
  addKubeOptions(
    program
      .command('check')
      .description('check the cluster: --pre before installing, otherwise the installed controller'),
    { namespaceHelp: "the controller's namespace (default: secret-manager-controller-system)" },
  )
    .option('--pre', 'can this cluster run the controller, and may you install it?')
    .option('--from <dir>', "kustomize base it was installed from (default: this package's config/)")
    .addOption(outputOption())
    .action(async (opts: CheckOptions) => {
      const output = opts.output;
      const objects = await renderKustomization(opts.from ?? PACKAGE_CONFIG_DIR, {
        namespace: opts.namespace,
      });
      const k = connect(opts);
      // Unreachable or refusing us: one clear error (exit 2) rather than every check failing.
      await k.raw.request('GET', '/version').catch((e: unknown) => failWith(e, `API server ${k.server}`));
      const checks = opts.pre ? await preChecks(k, objects) : await healthChecks(k, objects, opts.from);
      if (output === 'table') {
        const width = Math.max(...checks.map((c) => c.name.length));
        writeLines(
          process.stdout,
          checks.map((c) => `${c.result.padEnd(4)}  ${c.name.padEnd(width)}  ${c.message}`),
        );
      } else {
        process.stdout.write(formatStructured({ checks }, output) + '\n');
      }
      const failed = checks.filter((c) => c.result === 'fail').length;
      if (failed) throw new CliExit(EXIT_NOT_READY, `${failed} check(s) failed`);
    });
}
