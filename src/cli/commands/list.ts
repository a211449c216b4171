/** `msmctl list`: one row per SecretManagerConfig (phase, counts, last sync, Ready, source, provider). */
import type { Command } from 'commander';
import { addKubeOptions, connect, type KubeOptions } from '../kube.js';
import {
  type OutputFormat,
  formatAge,
  formatStructured,
  formatTable,
  outputOption,
  writeLines,
} from '../output.js';
import { condition, listSmcs, providerOf, readyOf, sourceOf } from '../smc-api.js';

export function registerList(program: Command): void {
  addKubeOptions(
    program
      .command('list')
      .alias('ls')
      .description(
        'list SecretManagerConfigs: phase, secrets, last sync, Ready and its reason, source, provider',
      ),
    { allNamespaces: true },
  )
    .addOption(outputOption())
    .action(async (opts: KubeOptions & { output: OutputFormat }) => {
      const output = opts.output;
      const k = connect(opts);
      const smcs = await listSmcs(k);
      const rows = smcs.map((s) => ({
        namespace: s.metadata.namespace,
        name: s.metadata.name,
        phase: s.status?.phase ?? null,
        secrets: s.status?.secretsCount ?? null,
        configs: s.status?.configsCount ?? null,
        lastSyncTime: s.status?.lastSyncTime ?? null,
        ready: readyOf(s),
        reason: condition(s, 'Ready')?.reason ?? null,
        source: sourceOf(s),
        provider: providerOf(s),
        suspended: s.spec.suspend === true,
        creationTimestamp: s.metadata.creationTimestamp ?? null,
      }));
      if (output !== 'table') {
        process.stdout.write(formatStructured({ items: rows }, output) + '\n');
        return;
      }
      if (rows.length === 0) {
        writeLines(
          process.stderr,
          k.allNamespaces
            ? 'No SecretManagerConfigs found.'
            : `No SecretManagerConfigs found in namespace ${k.namespace} (all namespaces: msmctl list -A).`,
        );
        return;
      }
      const now = new Date();
      const headers = [
        'NAME',
        'PHASE',
        'SECRETS',
        'LAST SYNC',
        'READY',
        'REASON',
        'SOURCE',
        'PROVIDER',
        'AGE',
      ];
      const table = formatTable(
        k.allNamespaces ? ['NAMESPACE', ...headers] : headers,
        rows.map((r) => {
          const cells = [
            r.name,
            r.phase ?? '-',
            r.secrets === null ? '-' : String(r.secrets),
            r.lastSyncTime ? formatAge(r.lastSyncTime, now) : '-',
            r.ready,
            r.reason ?? '-',
            r.source,
            r.provider,
            formatAge(r.creationTimestamp ?? undefined, now),
          ];
          return k.allNamespaces ? [r.namespace, ...cells] : cells;
        }),
      );
      writeLines(process.stdout, table);
    });
}
