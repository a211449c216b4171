/**
 * Automatic workload reload (`spec.hotReload.workloads: auto`, docs/hot-reload.md): after a sync
 * changed keys of the Kubernetes Secret an SMC writes, every Deployment, StatefulSet, DaemonSet and
 * Argo Rollout of its namespace is looked at (from the informer caches, no LIST) and
 *
 * - restarted if its pod template reads a changed key in a way that never updates live (env var,
 *   envFrom, subPath mount; ./consumption.ts), by rolling its pod template or, with
 *   `reload-strategy: evict`, by evicting its pods one at a time (./evict.ts);
 * - notified if it only mounts the Secret as a volume (the kubelet updates the files): reported, and
 *   its pods' reload endpoint POSTed with `reload-strategy: http`;
 * - left alone otherwise.
 *
 * Once per change-set: changes reaching a workload within `workload_reload_window_ms` of the first
 * one (any number of Secrets and SMCs) make one restart. The workload records the change-sets it was
 * restarted for (./change-set.ts), so a restarted controller or a new leader, resuming from the
 * SMC's `status.hotReload.changeSet`, never restarts it for them again. Restarts are rate-limited
 * per workload and per namespace (./rate-limit.ts); a refused one is reported and retried when
 * allowed, never dropped.
 */
import { ANNOTATIONS } from '../../api/constants.js';
import { type ChangeSet, readRecord, recordAnnotations } from './change-set.js';
import { affectedBy, classifyConsumption } from './consumption.js';
import { evictOldPods, podsToEvict, type EvictOptions } from './evict.js';
import {
  type Clock,
  type HttpPost,
  type PodInfo,
  RESTARTED_FOR_ANNOTATION,
  type ReloadResult,
  type ReloadStrategy,
  type SmcRef,
  WORKLOAD_KINDS,
  type Workload,
  type WorkloadApi,
  type WorkloadKind,
  parseReloadHttp,
  reloadStrategy,
  reloadTargets,
  selectorOf,
} from './notifier.js';
import { type RestartLimits, RestartRateLimiter } from './rate-limit.js';

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

export interface AutoReloaderOptions {
  api: WorkloadApi;
  post?: HttpPost;
  /** Debounce (ms) from the first change reaching a workload; asked at each scheduling. */
  windowMs: () => number;
  limits: () => RestartLimits;
  clock?: Clock;
  now?: () => number;
  /** Retry of an eviction a PodDisruptionBudget blocked (ms); default 5000. */
  blockedRetryMs?: number;
  evict?: EvictOptions;
  /** POST attempts for `http`; default 3, 200 ms apart doubling, 5 s timeout each. */
  httpAttempts?: number;
  /** Each evaluation's report, to every SMC whose change-set it carried. */
  report?: (smc: SmcRef, report: AutoReport) => void | Promise<void>;
  /** `workload_reloads_total{strategy,result}`. */
  count?: (strategy: string, result: ReloadResult) => void;
  log?: (level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, msg: string) => void;
}

interface Pending {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  changeSets: Map<string, ChangeSet>;
  timer: unknown;
  /** Skipped reports already sent for these change-sets (rate limited, blocked), not repeated. */
  announced: Set<string>;
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

const key = (kind: WorkloadKind, ns: string, name: string) => `${kind}/${ns}/${name}`;

/** Whether `w` names `smc` in its `reload` annotation. */
function annotatedFor(w: Workload, smc: SmcRef): boolean {
  return reloadTargets(w.metadata.annotations).includes(smc.name);
}

export class AutoReloader {
  private readonly pending = new Map<string, Pending>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly now: () => number;
  private readonly limiter: RestartRateLimiter;
  private stopped = false;

  constructor(private readonly o: AutoReloaderOptions) {
    this.clock = o.clock ?? realClock;
    this.now = o.now ?? Date.now;
    this.limiter = new RestartRateLimiter(o.limits, this.now);
  }

  /** The workloads of the namespace that use `cs.secret` or name the SMC in their `reload` annotation. */
  private async discover(cs: ChangeSet): Promise<Workload[]> {
    const secrets = new Set([cs.secret]);
    const found: Workload[] = [];
    for (const kind of WORKLOAD_KINDS) {
      let list: Workload[] | undefined;
      try {
        list = await this.o.api.list(kind, cs.smc.namespace);
      } catch (e) {
        this.o.log?.(
          'warn',
          { kind, namespace: cs.smc.namespace, err: (e as Error).message },
          'workload list failed',
        );
        continue;
      }
      for (const w of list ?? []) {
        if (classifyConsumption(w.spec?.template?.spec, secrets).length > 0 || annotatedFor(w, cs.smc))
          found.push({ ...w, kind });
      }
    }
    return found;
  }

  /**
   * A change-set was written (or is resumed from an SMC's status): schedule an evaluation of each
   * workload that uses the Secret. One already pending takes the change-set into its evaluation.
   */
  async changed(cs: ChangeSet): Promise<number> {
    if (this.stopped) return 0;
    const workloads = await this.discover(cs);
    if (this.stopped) return 0;
    for (const w of workloads) {
      const k = key(w.kind, w.metadata.namespace, w.metadata.name);
      const p = this.pending.get(k);
      if (p) {
        p.changeSets.set(cs.id, cs);
        continue;
      }
      const entry: Pending = {
        kind: w.kind,
        namespace: w.metadata.namespace,
        name: w.metadata.name,
        changeSets: new Map([[cs.id, cs]]),
        timer: undefined,
        announced: new Set(),
      };
      this.pending.set(k, entry);
      this.schedule(k, entry, this.o.windowMs());
    }
    return workloads.length;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Wait for running evaluations. */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** Cancel pending evaluations (a successor resumes them from the SMCs' status); wait for running ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer);
    this.pending.clear();
    await this.idle();
  }

  private schedule(k: string, p: Pending, ms: number): void {
    p.timer = this.clock.setTimeout(() => this.fire(k), ms);
  }

  private fire(k: string): void {
    const p = this.pending.get(k);
    if (!p || this.stopped) return;
    this.pending.delete(k);
    const run = this.evaluate(p)
      .then((retryInMs) => {
        if (retryInMs === undefined || this.stopped) return;
        // Not dropped: back in the queue, merged with whatever arrived meanwhile.
        const again = this.pending.get(k);
        if (again) {
          for (const [id, cs] of p.changeSets) if (!again.changeSets.has(id)) again.changeSets.set(id, cs);
          for (const a of p.announced) again.announced.add(a);
          return;
        }
        this.pending.set(k, p);
        this.schedule(k, p, retryInMs);
      })
      .catch((e: unknown) => {
        this.o.log?.('warn', { workload: k, err: (e as Error).message }, 'workload reload failed');
      })
      .finally(() => this.inflight.delete(run));
    this.inflight.add(run);
  }

  /** The workload as the cache has it now (it may have changed or gone since the change). */
  private async current(p: Pending): Promise<Workload | undefined> {
    const list = await this.o.api.list(p.kind, p.namespace);
    const w = list?.find((x) => x.metadata.name === p.name);
    return w ? { ...w, kind: p.kind } : undefined;
  }

  /** Evaluate and act; returns when to try again (rate limited, blocked), if it must. */
  private async evaluate(p: Pending): Promise<number | undefined> {
    const w = await this.current(p);
    if (!w) return undefined;
    const all = [...p.changeSets.values()];
    const record = readRecord(w.metadata.annotations);
    const fresh = all.filter((cs) => !record.ids.includes(cs.id));
    const strategy = reloadStrategy(w.metadata.annotations);
    const workload = `${w.kind}/${w.metadata.name}`;
    const base = { workload, changeSets: all.map((c) => c.id) };

    if (strategy === undefined) {
      return this.finish(p, {
        ...base,
        strategy: 'none',
        result: 'failed',
        reason: `unknown ${ANNOTATIONS.reloadStrategy} "${w.metadata.annotations?.[ANNOTATIONS.reloadStrategy] ?? ''}"`,
      });
    }
    // An eviction this or another controller started for an applied change-set, not finished yet.
    if (strategy === 'evict' && fresh.length < all.length && record.at !== undefined) {
      const left = await this.oldPods(w, record.at);
      if (left.length > 0) return this.evict(p, w, base, 'finishing an eviction', record.at, false);
    }

    const verdict = this.verdict(w, fresh);
    if (verdict.restart.length === 0 && verdict.live.length === 0) {
      if (fresh.length < all.length && this.verdict(w, all).restart.length > 0) {
        this.o.count?.(strategy, 'skipped');
        this.o.log?.(
          'info',
          { workload, changeSets: base.changeSets },
          'workload already reloaded for these change-sets',
        );
      }
      return undefined;
    }
    if (verdict.restart.length === 0) {
      // Updates live: the kubelet swaps the files; an http endpoint is told.
      const reason = `updates live: ${verdict.live.join('; ')}`;
      if (strategy === 'http') {
        const r = await this.http(w);
        return this.finish(p, {
          ...base,
          strategy,
          result: r.ok ? 'notified' : 'failed',
          reason: `${reason}; ${r.detail}`,
        });
      }
      return this.finish(p, { ...base, strategy: 'live', result: 'notified', reason });
    }
    const why = verdict.restart.join('; ');
    if (strategy === 'none')
      return this.finish(p, {
        ...base,
        strategy,
        result: 'skipped',
        reason: `reload-strategy none (needs a restart: ${why})`,
      });
    if (w.spec?.template === undefined)
      return this.finish(p, {
        ...base,
        strategy,
        result: 'skipped',
        reason: `no pod template (workloadRef) (needs a restart: ${why})`,
      });

    const rate = this.limiter.take(
      w.metadata.namespace,
      key(w.kind, w.metadata.namespace, w.metadata.name),
      record.at,
    );
    if (!rate.ok) {
      const reason = `${rate.reason}; retry in ${Math.ceil(rate.retryInMs / 1000)}s (needs a restart: ${why})`;
      await this.announceOnce(p, 'rate', {
        ...base,
        strategy: strategy === 'evict' ? 'evict' : 'restart',
        result: 'skipped',
        reason,
      });
      return rate.retryInMs;
    }
    const at = new Date(this.now());
    const ids = fresh.map((c) => c.id);
    if (strategy === 'evict') {
      try {
        await this.o.api.patch!(w.kind, w.metadata.namespace, w.metadata.name, {
          metadata: { annotations: recordAnnotations(record, ids, at) },
        });
      } catch (e) {
        return this.finish(p, {
          ...base,
          strategy,
          result: 'failed',
          reason: `record patch failed: ${(e as Error).message}`,
        });
      }
      return this.evict(p, w, base, why, at.getTime(), true);
    }
    // Roll the pod template; the record goes in the same patch, so both land or neither does.
    const smcs = [...new Set(fresh.map((c) => c.smc.name))].sort().join(',');
    try {
      await this.o.api.patch!(w.kind, w.metadata.namespace, w.metadata.name, {
        metadata: { annotations: recordAnnotations(record, ids, at) },
        spec: {
          template: { metadata: { annotations: { [RESTARTED_FOR_ANNOTATION]: `${smcs}@${ids.join(',')}` } } },
        },
      });
    } catch (e) {
      return this.finish(p, {
        ...base,
        strategy: 'restart',
        result: 'failed',
        reason: `patch failed: ${(e as Error).message}`,
      });
    }
    return this.finish(p, { ...base, strategy: 'restart', result: 'restarted', reason: why });
  }

  /** Union over change-sets of the uses of their changed keys (plus the `reload` annotation's opt-in). */
  private verdict(w: Workload, changeSets: readonly ChangeSet[]): { restart: string[]; live: string[] } {
    if (changeSets.length === 0) return { restart: [], live: [] };
    const changed = new Map<string, Set<string>>();
    for (const cs of changeSets) {
      const keys = changed.get(cs.secret) ?? new Set<string>();
      for (const k of cs.keys) keys.add(k);
      changed.set(cs.secret, keys);
    }
    const uses = classifyConsumption(w.spec?.template?.spec, new Set(changed.keys()));
    const v = affectedBy(uses, changed);
    if (v.restart.length === 0 && uses.length === 0 && changeSets.some((cs) => annotatedFor(w, cs.smc))) {
      // Opted in by annotation without reading the Secret from its pod template (e.g. over the API).
      const strategy = reloadStrategy(w.metadata.annotations);
      (strategy === 'http' ? v.live : v.restart).push(`${ANNOTATIONS.reload} annotation`);
    }
    return v;
  }

  private async oldPods(w: Workload, cutoff: number): Promise<PodInfo[]> {
    const selector = selectorOf(w);
    if (!selector) return [];
    try {
      return podsToEvict(await this.o.api.listPods(w.metadata.namespace, selector), cutoff);
    } catch {
      return [];
    }
  }

  private async evict(
    p: Pending,
    w: Workload,
    base: { workload: string; changeSets: string[] },
    why: string,
    cutoff: number,
    first: boolean,
  ): Promise<number | undefined> {
    const r = await evictOldPods(this.o.api, w, cutoff, this.o.evict);
    if (r.result === 'blocked') {
      await this.announceOnce(p, 'pdb', {
        ...base,
        strategy: 'evict',
        result: 'skipped',
        reason: `eviction of pod ${r.pod} refused by a PodDisruptionBudget; ${r.left} pod(s) left, retrying (needs a restart: ${why})`,
      });
      return this.o.blockedRetryMs ?? 5000;
    }
    if (r.result === 'error')
      return this.finish(p, { ...base, strategy: 'evict', result: 'failed', reason: `${r.detail} (${why})` });
    if (!first && r.evicted === 0) return undefined;
    return this.finish(p, {
      ...base,
      strategy: 'evict',
      result: 'evicted',
      reason: `${r.evicted} pod(s) evicted (${why})`,
    });
  }

  /** A skip that will be retried: counted and announced once per pending evaluation, not at every retry. */
  private async announceOnce(p: Pending, what: string, report: AutoReport): Promise<void> {
    if (p.announced.has(what)) return;
    p.announced.add(what);
    this.o.count?.(report.strategy, 'skipped');
    await this.send(p, report);
  }

  private async finish(p: Pending, report: AutoReport): Promise<undefined> {
    this.o.count?.(
      report.strategy,
      report.result === 'failed' ? 'error' : report.result === 'skipped' ? 'skipped' : 'success',
    );
    await this.send(p, report);
    return undefined;
  }

  private async send(p: Pending, report: AutoReport): Promise<void> {
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

  private async http(w: Workload): Promise<{ ok: boolean; detail: string }> {
    const target = parseReloadHttp(w.metadata.annotations?.[ANNOTATIONS.reloadHttp]);
    if (!target) return { ok: false, detail: `${ANNOTATIONS.reloadHttp} must be "<port>/<path>"` };
    const selector = selectorOf(w);
    if (!selector || !this.o.post) return { ok: false, detail: 'no pod selector or HTTP client' };
    const pods = (await this.o.api.listPods(w.metadata.namespace, selector).catch(() => [])).filter(
      (x) => x.ready && x.podIP,
    );
    const failed: string[] = [];
    await Promise.all(
      pods.map(async (pod) => {
        const host = pod.podIP!.includes(':') ? `[${pod.podIP}]` : pod.podIP!;
        let ok = false;
        for (let i = 0; i < (this.o.httpAttempts ?? 3) && !ok; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** (i - 1)));
          const code = await this.o.post!(`http://${host}:${target.port}${target.path}`, 5000).catch(() => 0);
          ok = code >= 200 && code < 300;
          if (code >= 400 && code < 500 && code !== 408 && code !== 429) break;
        }
        if (!ok) failed.push(pod.name);
      }),
    );
    if (failed.length)
      return {
        ok: false,
        detail: `POST ${target.port}${target.path} failed for ${failed.sort().join(', ')}`,
      };
    return { ok: true, detail: `POST ${target.port}${target.path} to ${pods.length} ready pod(s)` };
  }
}
