/**
 * `msmctl status NAME`: one SecretManagerConfig in detail — phase, conditions, revision, sync times
 * and the per-entry table (names and states only; an SMC's status never holds a value).
 * Exit code 0 when Ready=True, 1 otherwise. With `-w`, the status is printed again on every change
 * until Ctrl-C (the exit code then says whether the last status was Ready) or until the SMC is
 * deleted (exit 3).
 */
import type { Command } from 'commander';
import {
  addKubeOptions,
  apiErrorMessage,
  CliExit,
  connect,
  EXIT_NOT_FOUND,
  EXIT_NOT_READY,
  type KubeContext,
  type KubeOptions,
} from '../kube.js';
import {
  type OutputFormat,
  formatAge,
  formatStructured,
  formatTable,
  outputOption,
  writeLines,
} from '../output.js';
import { getSmc, providerOf, readyOf, smcLabel, sourceOf, type SmcObject } from '../smc-api.js';
import { abortOnSignals, followSmcs } from '../smc-watch.js';

export function registerStatus(program: Command): void {
  addKubeOptions(
    program
      .command('status')
      .description('show one SecretManagerConfig: phase, conditions, revision, entries (never values)')
      .argument('<name>', 'SecretManagerConfig name'),
  )
    .addOption(outputOption())
    .option(
      '-w, --watch',
      'print the status again each time it changes, until interrupted (Ctrl-C) or the SMC is deleted',
    )
    .action(async (name: string, opts: KubeOptions & { output: OutputFormat; watch?: boolean }) => {
      const k = connect(opts);
      const smc = await getSmc(k, name);
      await printStatus(k, smc, opts.output);
      let last = smc;
      if (opts.watch) {
        const { signal, abort, dispose } = abortOnSignals();
        let shown = fingerprint(smc);
        let deleted = false;
        const printing: Promise<void>[] = [];
        try {
          await followSmcs(
            k,
            { namespace: k.namespace, name },
            { items: [smc], resourceVersion: smc.metadata.resourceVersion ?? '' },
            (type, next) => {
              if (type === 'DELETED') {
                deleted = true;
                return abort();
              }
              last = next;
              if (fingerprint(next) === shown) return;
              shown = fingerprint(next);
              printing.push(
                (printing.at(-1) ?? Promise.resolve()).then(() =>
                  printStatus(k, next, opts.output, `--- ${new Date().toISOString()}`),
                ),
              );
            },
            signal,
          );
        } finally {
          dispose();
        }
        await Promise.all(printing);
        if (deleted) throw new CliExit(EXIT_NOT_FOUND, `${smcLabel(k.namespace, name)}: deleted`);
      }
      if (readyOf(last) !== 'True') process.exitCode = EXIT_NOT_READY;
    });
}

/** Everything `status` shows but the ages, which change by themselves. */
const fingerprint = (smc: SmcObject) => JSON.stringify([smc.metadata.generation, smc.spec, smc.status ?? {}]);

async function printStatus(
  k: KubeContext,
  smc: SmcObject,
  output: OutputFormat,
  separator?: string,
): Promise<void> {
  if (output === 'table') {
    const lines = [...formatStatus(smc), '', ...formatEvents(await recentEvents(k, smc))];
    writeLines(process.stdout, separator ? ['', separator, ...lines] : lines);
    return;
  }
  const doc = formatStructured(
    {
      name: smc.metadata.name,
      namespace: smc.metadata.namespace,
      generation: smc.metadata.generation ?? null,
      suspended: smc.spec?.suspend === true,
      suspendGitPulls: smc.spec?.suspendGitPulls === true,
      source: sourceOf(smc),
      provider: providerOf(smc),
      status: smc.status ?? {},
    },
    output,
  );
  process.stdout.write(separator && output === 'yaml' ? `---\n${doc}\n` : `${doc}\n`);
}

const RECENT_EVENTS = 10;

interface EventView {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  metadata?: { creationTimestamp?: string };
}

/** The SMC's latest Events (newest last), or why they could not be read. */
async function recentEvents(k: KubeContext, smc: SmcObject): Promise<EventView[] | string> {
  try {
    const list = await k.raw.request<{ items: EventView[] }>(
      'GET',
      `/api/v1/namespaces/${smc.metadata.namespace}/events`,
      {
        query: {
          fieldSelector: `involvedObject.kind=SecretManagerConfig,involvedObject.name=${smc.metadata.name}`,
        },
      },
    );
    const at = (e: EventView) =>
      Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '') || 0;
    return list.items.sort((a, b) => at(a) - at(b)).slice(-RECENT_EVENTS);
  } catch (e) {
    return apiErrorMessage(e);
  }
}

/** `Events:` as kubectl describe prints them: TYPE, REASON, AGE, MESSAGE (lines, escaped when written). */
export function formatEvents(events: EventView[] | string, now = new Date()): string[] {
  if (typeof events === 'string') return [`Events: cannot be listed (${events})`];
  if (events.length === 0) return ['Events: none'];
  return [
    'Events:',
    ...formatTable(
      ['TYPE', 'REASON', 'AGE', 'MESSAGE'],
      events.map((e) => [
        e.type ?? '-',
        e.reason ?? '-',
        `${formatAge(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp, now)}${e.count && e.count > 1 ? ` (x${e.count})` : ''}`,
        e.message ?? '',
      ]),
    ),
  ];
}

function when(ts: string | undefined, now: Date): string {
  return ts ? `${ts} (${formatAge(ts, now)} ago)` : '-';
}

/** The lines `msmctl status` prints (escaped when written). */
export function formatStatus(smc: SmcObject, now = new Date()): string[] {
  const s = smc.status ?? {};
  const ready = smc.status?.conditions?.find((c) => c.type === 'Ready');
  const fields: [string, string][] = [
    ['Name', smc.metadata.name],
    ['Namespace', smc.metadata.namespace],
    ['Phase', s.phase ?? '-'],
    ['Ready', ready ? `${ready.status} (${ready.reason})` : readyOf(smc)],
    ['Description', s.description ?? '-'],
    ['Suspended', String(smc.spec?.suspend === true)],
    ['Git pulls suspended', String(smc.spec?.suspendGitPulls === true)],
    ['Source', sourceOf(smc)],
    ['Provider', providerOf(smc)],
    ['Revision', s.lastSyncedRevision ?? '-'],
    ['Last sync', when(s.lastSyncTime, now)],
    ['Last attempt', when(s.lastAttemptTime, now)],
    ['Next reconcile', s.nextReconcileTime ?? '-'],
    [
      'Generation',
      `${smc.metadata.generation ?? '-'} (observed ${s.observedGeneration !== undefined ? s.observedGeneration : '-'})`,
    ],
    ['Secrets', s.secretsCount !== undefined ? String(s.secretsCount) : '-'],
    ['Configs', s.configsCount !== undefined ? String(s.configsCount) : '-'],
    ['Last handled reconcile', s.lastHandledReconcileAt ?? '-'],
  ];
  const width = Math.max(...fields.map(([k]) => k.length)) + 2;
  const lines = fields.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`);
  const conditions = s.conditions ?? [];
  lines.push(
    '',
    ...(conditions.length
      ? [
          'Conditions:',
          ...formatTable(
            ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
            conditions.map((c) => [
              c.type,
              c.status,
              c.reason,
              formatAge(c.lastTransitionTime, now),
              c.message,
            ]),
          ),
        ]
      : ['Conditions: none yet (not reconciled)']),
  );
  const entries = s.entries ?? [];
  lines.push(
    '',
    ...(entries.length
      ? [
          'Entries:',
          ...formatTable(
            ['KEY', 'STORE NAME', 'KIND', 'STATE', 'VERSION', 'UPDATED', 'MESSAGE'],
            entries.map((e) => [
              e.key,
              e.storeName,
              e.kind,
              e.state,
              e.version ?? '-',
              e.lastUpdateTime ? formatAge(e.lastUpdateTime, now) : '-',
              e.message ?? '',
            ]),
          ),
        ]
      : ['Entries: none']),
  );
  return lines;
}
