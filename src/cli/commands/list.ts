/**
 * `msmctl list`: one row per SecretManagerConfig (phase, counts, last sync, Ready, source,
 * provider). With `-w`, then one more row each time an SMC is added, changes what the row shows,
 * or is deleted, until interrupted (as `kubectl get -w`).
 */
import type { Command } from 'commander';
import { addKubeOptions, connect, type KubeContext, type KubeOptions } from '../kube.js';
import {
  type OutputFormat,
  columnWidths,
  formatAge,
  formatRow,
  formatStructured,
  formatTable,
  outputOption,
  writeLines,
} from '../output.js';
import { condition, listSmcs, providerOf, readyOf, sourceOf, type SmcObject } from '../smc-api.js';
import { abortOnSignals, followSmcs, listForWatch, type SmcEventType } from '../smc-watch.js';

interface ListOptions extends KubeOptions {
  output: OutputFormat;
  watch?: boolean;
}

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
    .option('-w, --watch', 'after the list, print a row for every change until interrupted (Ctrl-C)')
    .action(async (opts: ListOptions) => {
      const k = connect(opts);
      if (opts.watch) return listAndWatch(k, opts.output);
      const rows = (await listSmcs(k)).map(rowOf);
      if (opts.output !== 'table') {
        process.stdout.write(formatStructured({ items: rows }, opts.output) + '\n');
        return;
      }
      if (rows.length === 0) {
        writeLines(process.stderr, noneFound(k));
        return;
      }
      writeLines(process.stdout, formatTable(headersOf(k), rows.map(cellsOf(k, new Date()))));
    });
}

type Row = ReturnType<typeof rowOf>;

function rowOf(s: SmcObject) {
  return {
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
    suspended: s.spec?.suspend === true,
    creationTimestamp: s.metadata.creationTimestamp ?? null,
  };
}

const noneFound = (k: KubeContext) =>
  k.allNamespaces
    ? 'No SecretManagerConfigs found.'
    : `No SecretManagerConfigs found in namespace ${k.namespace} (all namespaces: msmctl list -A).`;

const HEADERS = ['NAME', 'PHASE', 'SECRETS', 'LAST SYNC', 'READY', 'REASON', 'SOURCE', 'PROVIDER', 'AGE'];
const headersOf = (k: KubeContext) => (k.allNamespaces ? ['NAMESPACE', ...HEADERS] : HEADERS);

const cellsOf = (k: KubeContext, now: Date, phase?: string) => (r: Row) => {
  const cells = [
    r.name,
    phase ?? r.phase ?? '-',
    r.secrets === null ? '-' : String(r.secrets),
    r.lastSyncTime ? formatAge(r.lastSyncTime, now) : '-',
    r.ready,
    r.reason ?? '-',
    r.source,
    r.provider,
    formatAge(r.creationTimestamp ?? undefined, now),
  ];
  return k.allNamespaces ? [r.namespace, ...cells] : cells;
};

/**
 * The list, then the changes. A table keeps the column widths of its first lines (a later, wider
 * cell pushes only its own row); structured output writes one `{type, item}` document per event.
 * A row is written again only when something it shows changed, not for every status write.
 */
async function listAndWatch(k: KubeContext, output: OutputFormat): Promise<void> {
  const { signal, dispose } = abortOnSignals();
  try {
    const scope = { namespace: k.allNamespaces ? undefined : k.namespace };
    const listing = await listForWatch(k, scope);
    const sorted = [...listing.items].sort(
      (a, b) =>
        a.metadata.namespace.localeCompare(b.metadata.namespace) ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
    const shown = new Map(sorted.map((s) => [keyOf(s), fingerprint(rowOf(s))]));
    let widths: number[] = [];
    if (output === 'table') {
      const cells = sorted.map(rowOf).map(cellsOf(k, new Date()));
      widths = columnWidths(headersOf(k), cells);
      writeLines(process.stdout, formatTable(headersOf(k), cells));
      if (sorted.length === 0) writeLines(process.stderr, noneFound(k));
    } else {
      for (const s of sorted) writeEvent('ADDED', rowOf(s), output);
    }
    await followSmcs(
      k,
      scope,
      listing,
      (type, smc) => {
        const row = rowOf(smc);
        const print = fingerprint(row);
        if (type !== 'DELETED' && shown.get(keyOf(smc)) === print) return;
        if (type === 'DELETED') shown.delete(keyOf(smc));
        else shown.set(keyOf(smc), print);
        if (output !== 'table') return writeEvent(type, row, output);
        const phase = type === 'DELETED' ? 'Deleted' : undefined;
        writeLines(process.stdout, formatRow(widths, cellsOf(k, new Date(), phase)(row)));
      },
      signal,
    );
  } finally {
    dispose();
  }
}

const keyOf = (s: SmcObject) => `${s.metadata.namespace}/${s.metadata.name}`;

/** What a row shows, without the ages that change by themselves. */
const fingerprint = (r: Row) =>
  JSON.stringify([r.phase, r.secrets, r.configs, r.lastSyncTime, r.ready, r.reason, r.source, r.provider]);

function writeEvent(type: SmcEventType, item: Row, output: 'json' | 'yaml'): void {
  const doc = formatStructured({ type, item }, output);
  process.stdout.write(output === 'yaml' ? `---\n${doc}` : `${doc}\n`);
}
