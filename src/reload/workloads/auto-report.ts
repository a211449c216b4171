/**
 * How an `auto` evaluation (./auto.ts) is reported: counted (`workload_reloads_total`), logged, and
 * sent to every SMC whose change-set it carried (Events, status). Names only, never a value.
 */
import type { ChangeSet } from './change-set.js';
import type { ReloadResult, ReloadStrategy, SmcRef, WorkloadKind } from './notifier.js';

export type AutoResult = 'restarted' | 'evicted' | 'notified' | 'skipped' | 'failed';

/** What one evaluation of one workload did, for Events, status and metrics. Names only. */
export interface AutoReport {
  /** `Kind/name`. */
  workload: string;
  result: AutoResult;
  /** `env var DB_PASSWORD; subPath mount /etc/app/key`, `rate limited: …`. */
  reason: string;
  /** How: `restart` (pod template), `evict`, `http`, `live` (the kubelet updates the files), `none`. */
  strategy: ReloadStrategy | 'live';
  /** The change-sets this evaluation carried. */
  changeSets: string[];
  /** Skipped because every change-set was already applied (a resume): logged and counted, not announced. */
  alreadyApplied?: boolean;
}

export interface AutoReportSinks {
  /** Each evaluation's report, to every SMC whose change-set it carried. */
  report?: (smc: SmcRef, report: AutoReport) => void | Promise<void>;
  /** `workload_reloads_total{strategy,result}`. */
  count?: (strategy: string, result: ReloadResult) => void;
  log?: (level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, msg: string) => void;
}

/** The pending evaluation a report is about. */
export interface Reported {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  changeSets: Map<string, ChangeSet>;
  /** Skipped reports already sent for these change-sets (rate limited, blocked), not repeated. */
  announced: Set<string>;
}

export class AutoReporter {
  constructor(private readonly o: AutoReportSinks) {}

  /** The evaluation's outcome: counted and sent. Resolves to `undefined` (nothing to retry). */
  async finish(p: Reported, report: AutoReport): Promise<undefined> {
    this.o.count?.(
      report.strategy,
      report.result === 'failed' ? 'error' : report.result === 'skipped' ? 'skipped' : 'success',
    );
    await this.send(p, report);
    return undefined;
  }

  /** A skip that will be retried: counted and announced once per pending evaluation, not at every retry. */
  async announceOnce(p: Reported, what: string, report: AutoReport): Promise<void> {
    if (p.announced.has(what)) return;
    p.announced.add(what);
    this.o.count?.(report.strategy, 'skipped');
    await this.send(p, report);
  }

  /** Every change-set was applied before (a resumed fan-out): counted and logged, not announced. */
  alreadyDone(strategy: ReloadStrategy, base: { workload: string; changeSets: string[] }): void {
    this.o.count?.(strategy === 'evict' ? 'evict' : 'restart', 'skipped');
    this.o.log?.('info', base, 'workload already reloaded for these change-sets');
  }

  private async send(p: Reported, report: AutoReport): Promise<void> {
    this.o.log?.(
      report.result === 'failed' ? 'warn' : 'info',
      { ...report, workload: `${p.kind}/${p.namespace}/${p.name}` },
      'workload reload',
    );
    const smcs = new Map<string, SmcRef>();
    for (const cs of p.changeSets.values()) smcs.set(`${cs.smc.namespace}/${cs.smc.name}`, cs.smc);
    for (const smc of smcs.values()) {
      try {
        await this.o.report?.(smc, report);
      } catch {
        // reporting is best effort
      }
    }
  }
}
