/**
 * `msmctl reconcile NAME [--wait] [--timeout]`: asks the controller for an immediate reconcile by
 * setting annotation `secret-management.octopilot.io/reconcile` to a new value; with --wait, waits
 * until the controller records that value in `status.lastHandledReconcileAt` and reports the
 * outcome (exit 0 Ready, 1 failed, 4 timed out).
 */
import type { Command } from 'commander';
import { ANNOTATIONS, parseDuration } from '../../api/index.js';
import { addKubeOptions, CliExit, connect, EXIT_NOT_READY, EXIT_TIMEOUT, type KubeOptions } from '../kube.js';
import { writeLines } from '../output.js';
import { condition, getSmc, patchSmc, smcLabel, type SmcObject } from '../smc-api.js';

interface ReconcileOptions extends KubeOptions {
  wait?: boolean;
  timeout: string;
}

const POLL_MS = 500;

/** `Syncing: syncing revision … (reconcile requested)`: what the controller says it is doing. */
function progressOf(smc: SmcObject): string {
  return `${smc.status?.phase ?? 'not reconciled yet'}${smc.status?.description ? `: ${smc.status.description}` : ''}`;
}

export function registerReconcile(program: Command): void {
  addKubeOptions(
    program
      .command('reconcile')
      .description('request an immediate reconcile (annotation secret-management.octopilot.io/reconcile)')
      .argument('<name>', 'SecretManagerConfig name'),
  )
    .option('--wait', 'wait until the controller has handled the request and report Ready/Failed')
    .option('--timeout <duration>', 'how long --wait waits (e.g. 30s, 5m)', '5m')
    .action(async (name: string, opts: ReconcileOptions) => {
      const timeoutMs = parseDuration(opts.timeout, { field: '--timeout' });
      const k = connect(opts);
      const what = smcLabel(k.namespace, name);
      const before = await getSmc(k, name);
      if (before.spec?.suspend === true) {
        throw new CliExit(
          EXIT_NOT_READY,
          `${what} is suspended (spec.suspend: true): the controller will not reconcile it; run msmctl resume ${name} first`,
        );
      }
      const requested = new Date().toISOString();
      await patchSmc(k, name, { metadata: { annotations: { [ANNOTATIONS.reconcile]: requested } } });
      writeLines(process.stdout, `${what}: reconcile requested (${ANNOTATIONS.reconcile}=${requested})`);
      if (!opts.wait) return;

      const deadline = Date.now() + timeoutMs;
      // Progress on stderr (stdout keeps the result): each new phase and description the controller writes.
      let shown = progressOf(before);
      for (;;) {
        const smc = await getSmc(k, name);
        const progress = progressOf(smc);
        if (progress !== shown && smc.status?.lastHandledReconcileAt !== requested) {
          process.stderr.write(`${what}: ${progress}\n`);
          shown = progress;
        }
        if (smc.status?.lastHandledReconcileAt === requested) {
          const ready = condition(smc, 'Ready');
          if (ready?.status === 'True') {
            writeLines(
              process.stdout,
              `${what}: Ready${smc.status.lastSyncedRevision ? ` at revision ${smc.status.lastSyncedRevision}` : ''}: ${ready.message}`,
            );
            return;
          }
          throw new CliExit(
            EXIT_NOT_READY,
            `${what}: reconcile failed: phase ${smc.status.phase ?? '-'}, Ready=${ready?.status ?? 'Unknown'}${ready ? ` (${ready.reason}): ${ready.message}` : ''}`,
          );
        }
        if (Date.now() >= deadline) {
          throw new CliExit(
            EXIT_TIMEOUT,
            `${what}: the controller did not handle the reconcile request within ${opts.timeout} (status.lastHandledReconcileAt is ${smc.status?.lastHandledReconcileAt ?? 'unset'}); is the controller running?`,
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
      }
    });
}
