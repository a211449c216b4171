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
import { backoffDelayMs } from '../../backoff.js';
import { AutoReporter, type AutoReportSinks, type Reported } from './auto-report.js';
import { annotatedFor, restartRefusal, workloadVerdict } from './auto-verdict.js';
import { type ChangeSet, readRecord, recordAnnotations } from './change-set.js';
import { classifyConsumption } from './consumption.js';
import { evictOldPods, podsToEvict, type EvictOptions } from './evict.js';
import { postToPods } from './http-reload.js';
import {
  type HttpPost,
  type PodInfo,
  RESTARTED_FOR_ANNOTATION,
  type ReloadStrategy,
  WORKLOAD_KINDS,
  type Workload,
  type WorkloadApi,
  type WorkloadKind,
  parseReloadHttp,
  reloadStrategy,
  selectorOf,
} from './notifier.js';
import { type Clock, PendingReloads, realClock } from './pending.js';
import { type RestartLimits, RestartRateLimiter } from './rate-limit.js';

export interface AutoReloaderOptions extends AutoReportSinks {
  api: WorkloadApi;
  post?: HttpPost;
  /** Debounce (ms) from the first change reaching a workload; asked at each scheduling. */
  windowMs: () => number;
  limits: () => RestartLimits;
  clock?: Clock;
  now?: () => number;
  /**
   * Whether other SMCs are still syncing `cs`'s revision (same namespace and source): the evaluation
   * then waits for them, one more debounce at a time, up to `maxWaitWindows` debounces in all, so
   * one revision that changes several SMCs makes one restart.
   */
  syncing?: (cs: ChangeSet) => boolean;
  /** Default 10. */
  maxWaitWindows?: number;
  /** Retry of an eviction a PodDisruptionBudget blocked (ms); default 5000. */
  blockedRetryMs?: number;
  evict?: EvictOptions;
  /** POST attempts for `http`; default 3, 200 ms apart doubling, 5 s timeout each. */
  httpAttempts?: number;
}

interface Pending extends Reported {
  /** When the first change reached it (the waiting for other SMCs is bounded from here). */
  firstAt: number;
  /** `evict`: the eviction started (counted by the rate limit once), and how many pods went so far. */
  evicting?: boolean;
  evicted?: number;
  /** Evaluations that threw (an API error): retried, a few times. */
  errors?: number;
}

const key = (kind: WorkloadKind, ns: string, name: string) => `${kind}/${ns}/${name}`;

/** An evaluation that throws (the API failed) is tried this many times, 5 s then 10 s apart. */
const ERROR_ATTEMPTS = 3;
const ERROR_RETRY = { baseMs: 5000 };

export class AutoReloader {
  private readonly pending: PendingReloads<Pending>;
  /** The injected timers (a test shares them with a second reloader). */
  private readonly clock: Clock;
  private readonly now: () => number;
  private readonly limiter: RestartRateLimiter;
  private readonly reports: AutoReporter;

  constructor(private readonly o: AutoReloaderOptions) {
    this.reports = new AutoReporter(o);
    this.clock = o.clock ?? realClock;
    this.pending = new PendingReloads(this.clock, (k) => this.fire(k));
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
    if (this.pending.stopped) return 0;
    const workloads = await this.discover(cs);
    if (this.pending.stopped) return 0;
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
        firstAt: this.now(),
        announced: new Set(),
      };
      this.pending.schedule(k, entry, this.o.windowMs());
    }
    return workloads.length;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Wait for running evaluations. */
  idle(): Promise<void> {
    return this.pending.idle();
  }

  /** Cancel pending evaluations (a successor resumes them from the SMCs' status); wait for running ones. */
  stop(): Promise<void> {
    return this.pending.stop();
  }

  private fire(k: string): void {
    const p = this.pending.get(k);
    if (!p || this.pending.stopped) return;
    const window = this.o.windowMs();
    const waited = this.now() - p.firstAt;
    if (
      this.o.syncing &&
      waited < window * (this.o.maxWaitWindows ?? 10) &&
      [...p.changeSets.values()].some((cs) => this.o.syncing!(cs))
    ) {
      // The rest of this change-set is still being written by other SMCs: wait for it.
      this.pending.schedule(k, p, Math.max(window, 100));
      return;
    }
    this.pending.take(k);
    const run = this.evaluate(p)
      .catch((e: unknown) => {
        p.errors = (p.errors ?? 0) + 1;
        const again = p.errors < ERROR_ATTEMPTS;
        this.o.log?.(
          'warn',
          { workload: k, err: (e as Error).message, attempt: p.errors, retry: again },
          'workload reload failed',
        );
        return again ? backoffDelayMs(ERROR_RETRY, p.errors) : undefined;
      })
      .then((retryInMs) => {
        if (retryInMs === undefined || this.pending.stopped) return;
        // Not dropped: back in the queue, merged with whatever arrived meanwhile.
        const again = this.pending.get(k);
        if (again) {
          for (const [id, cs] of p.changeSets) if (!again.changeSets.has(id)) again.changeSets.set(id, cs);
          for (const a of p.announced) again.announced.add(a);
          again.evicting ||= p.evicting;
          again.evicted = (again.evicted ?? 0) + (p.evicted ?? 0);
          return;
        }
        this.pending.schedule(k, p, retryInMs);
      });
    this.pending.track(run);
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
    const strategy = reloadStrategy(w.metadata.annotations);
    const workload = `${w.kind}/${w.metadata.name}`;
    const base = { workload, changeSets: all.map((c) => c.id) };
    if (strategy === undefined) {
      return this.reports.finish(p, {
        ...base,
        strategy: 'none',
        result: 'failed',
        reason: `unknown ${ANNOTATIONS.reloadStrategy} "${w.metadata.annotations?.[ANNOTATIONS.reloadStrategy] ?? ''}"`,
      });
    }
    if (strategy === 'evict') return this.evaluateEvict(p, w, all, base);

    // Change-sets the workload records were applied already (by this or another controller).
    const record = readRecord(w.metadata.annotations);
    const fresh = all.filter((cs) => !record.ids.includes(cs.id));
    const verdict = workloadVerdict(w, fresh);
    if (verdict.restart.length === 0 && verdict.live.length === 0) {
      if (fresh.length < all.length && workloadVerdict(w, all).restart.length > 0)
        this.reports.alreadyDone(strategy, base);
      return undefined;
    }
    if (verdict.restart.length === 0) return this.notifyLive(p, w, strategy, verdict.live, base);
    const why = verdict.restart.join('; ');
    const refused = restartRefusal(w, strategy, why);
    if (refused) return this.reports.finish(p, { ...base, ...refused });
    const rate = this.limiter.take(
      w.metadata.namespace,
      key(w.kind, w.metadata.namespace, w.metadata.name),
      record.at,
    );
    if (!rate.ok) return this.rateLimited(p, base, 'restart', rate, why);

    // Roll the pod template; the record goes in the same patch, so both land or neither does.
    const ids = fresh.map((c) => c.id);
    const smcs = [...new Set(fresh.map((c) => c.smc.name))].sort().join(',');
    try {
      await this.o.api.patch!(w.kind, w.metadata.namespace, w.metadata.name, {
        metadata: { annotations: recordAnnotations(record, ids, new Date(this.now())) },
        spec: {
          template: { metadata: { annotations: { [RESTARTED_FOR_ANNOTATION]: `${smcs}@${ids.join(',')}` } } },
        },
      });
    } catch (e) {
      return this.reports.finish(p, {
        ...base,
        strategy: 'restart',
        result: 'failed',
        reason: `patch failed: ${(e as Error).message}`,
      });
    }
    return this.reports.finish(p, { ...base, strategy: 'restart', result: 'restarted', reason: why });
  }

  /**
   * `evict` writes nothing on the workload (a metadata change bumps a Deployment's generation): the
   * pods themselves are the record. A pod created before the change-set was written (or in the same
   * second: `creationTimestamp` has second precision) may have read the old values and is evicted;
   * a newer one never is. So a second evaluation, by this controller or a successor, only finishes
   * what is left.
   */
  private async evaluateEvict(
    p: Pending,
    w: Workload,
    all: readonly ChangeSet[],
    base: { workload: string; changeSets: string[] },
  ): Promise<number | undefined> {
    const verdict = workloadVerdict(w, all);
    if (verdict.restart.length === 0) {
      if (verdict.live.length === 0) return undefined;
      return this.notifyLive(p, w, 'evict', verdict.live, base);
    }
    const why = verdict.restart.join('; ');
    const refused = restartRefusal(w, 'evict', why);
    if (refused) return this.reports.finish(p, { ...base, ...refused });
    // `creationTimestamp` has second precision: a pod created in the second of the change counts as
    // old, and evictions start only once that second is over, so no replacement ever does.
    const cutoff = Math.ceil(Math.max(...all.map((cs) => Date.parse(cs.at))) / 1000) * 1000;
    if (this.now() < cutoff) return cutoff - this.now() + 10;
    const old = await this.oldPods(w, cutoff);
    if (old === undefined)
      return this.reports.finish(p, {
        ...base,
        strategy: 'evict',
        result: 'failed',
        reason: `pod list failed (${why})`,
      });
    if (old.length === 0) {
      if (!p.evicting) this.reports.alreadyDone('evict', base);
      return undefined;
    }
    if (!p.evicting) {
      const rate = this.limiter.take(
        w.metadata.namespace,
        key(w.kind, w.metadata.namespace, w.metadata.name),
      );
      if (!rate.ok) return this.rateLimited(p, base, 'evict', rate, why);
      p.evicting = true;
    }
    return this.evict(p, w, base, why, cutoff);
  }

  /** Updates live: the kubelet swaps the files; an http endpoint is told. */
  private async notifyLive(
    p: Pending,
    w: Workload,
    strategy: ReloadStrategy,
    live: readonly string[],
    base: { workload: string; changeSets: string[] },
  ): Promise<undefined> {
    const reason = `updates live: ${live.join('; ')}`;
    if (strategy === 'http') {
      const r = await this.http(w);
      return this.reports.finish(p, {
        ...base,
        strategy,
        result: r.ok ? 'notified' : 'failed',
        reason: `${reason}; ${r.detail}`,
      });
    }
    return this.reports.finish(p, { ...base, strategy: 'live', result: 'notified', reason });
  }

  private async rateLimited(
    p: Pending,
    base: { workload: string; changeSets: string[] },
    strategy: 'restart' | 'evict',
    rate: { retryInMs: number; reason: string },
    why: string,
  ): Promise<number> {
    const reason = `${rate.reason}; retry in ${Math.ceil(rate.retryInMs / 1000)}s (needs a restart: ${why})`;
    await this.reports.announceOnce(p, 'rate', { ...base, strategy, result: 'skipped', reason });
    return rate.retryInMs;
  }

  /** The pods of `w` created before `cutoff`; undefined when they cannot be listed. */
  private async oldPods(w: Workload, cutoff: number): Promise<PodInfo[] | undefined> {
    const selector = selectorOf(w);
    if (!selector) return [];
    try {
      return podsToEvict(await this.o.api.listPods(w.metadata.namespace, selector), cutoff);
    } catch {
      return undefined;
    }
  }

  private async evict(
    p: Pending,
    w: Workload,
    base: { workload: string; changeSets: string[] },
    why: string,
    cutoff: number,
  ): Promise<number | undefined> {
    const r = await evictOldPods(this.o.api, w, cutoff, {
      ...this.o.evict,
      stopping: () => this.pending.stopped,
    });
    const evicted = (p.evicted = (p.evicted ?? 0) + r.evicted);
    if (r.result === 'blocked') {
      await this.reports.announceOnce(p, 'pdb', {
        ...base,
        strategy: 'evict',
        result: 'skipped',
        reason: `eviction of pod ${r.pod} refused by a PodDisruptionBudget; ${r.left} pod(s) left, retrying (needs a restart: ${why})`,
      });
      return this.o.blockedRetryMs ?? 5000;
    }
    if (r.result === 'stopped') return undefined; // a successor resumes the change-set
    if (r.result === 'error')
      return this.reports.finish(p, {
        ...base,
        strategy: 'evict',
        result: 'failed',
        reason: `${r.detail} (${why})`,
      });
    if (evicted === 0) return undefined; // gone meanwhile
    return this.reports.finish(p, {
      ...base,
      strategy: 'evict',
      result: 'evicted',
      reason: `${evicted} pod(s) evicted (${why})`,
    });
  }

  private async http(w: Workload): Promise<{ ok: boolean; detail: string }> {
    const target = parseReloadHttp(w.metadata.annotations?.[ANNOTATIONS.reloadHttp]);
    if (!target) return { ok: false, detail: `${ANNOTATIONS.reloadHttp} must be "<port>/<path>"` };
    const selector = selectorOf(w);
    if (!selector || !this.o.post) return { ok: false, detail: 'no pod selector or HTTP client' };
    const pods = (await this.o.api.listPods(w.metadata.namespace, selector).catch(() => [])).filter(
      (x) => x.ready && x.podIP,
    );
    const failed = await postToPods(this.o.post, pods, target, { attempts: this.o.httpAttempts });
    if (failed.length)
      return { ok: false, detail: `POST ${target.port}${target.path} failed for ${failed.join(', ')}` };
    return { ok: true, detail: `POST ${target.port}${target.path} to ${pods.length} ready pod(s)` };
  }
}
