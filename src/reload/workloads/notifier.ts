/**
 * Workload notification (docs/hot-reload.md, the hot-reload guide's "Alternatives"): after a sync that
 * changed values, workloads in the SMC's namespace annotated
 * `secret-management.octopilot.io/reload: "<smc>[,<smc>]"` are rolled (pod-template annotation with
 * the new content digest) or have each ready pod's reload endpoint POSTed. Changes reaching the same
 * workload within a window are coalesced into one reload carrying the latest digest.
 *
 * The digest covers the synced revision and the entries' store version ids, never a value.
 */
import { createHash } from 'node:crypto';
import { ANNOTATIONS, API_GROUP } from '../../api/constants.js';
import type { PodSpecLike } from './consumption.js';
import { type EvictOptions, evictOldPods } from './evict.js';
import { postToPods } from './http-reload.js';
import { type Clock, PendingReloads, realClock } from './pending.js';

/** Pod-template annotation written by the `restart` strategy: `<smc>@<digest>`. */
export const RESTARTED_FOR_ANNOTATION = `${API_GROUP}/restartedFor`;

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout';
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'];

export type ReloadStrategy = 'restart' | 'evict' | 'http' | 'none';
export type ReloadResult = 'success' | 'error' | 'skipped';

/** The parts of a workload the notifier reads. */
export interface Workload {
  kind: WorkloadKind;
  metadata: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    creationTimestamp?: string | Date;
  };
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpecLike };
    workloadRef?: unknown;
  };
}

export interface PodInfo {
  name: string;
  uid?: string;
  podIP?: string;
  /** Ready=True and not being deleted. */
  ready: boolean;
  /** `creationTimestamp` in ms. */
  createdAt?: number;
  /** Has a `deletionTimestamp`. */
  deleting?: boolean;
}

/** What an eviction came to: done, refused for a PodDisruptionBudget (HTTP 429), or the pod was gone. */
export type EvictionResult = 'evicted' | 'blocked' | 'gone';

/** Kubernetes access the notifier needs (a fake in unit tests). */
export interface WorkloadApi {
  /** Workloads of a kind in a namespace; `undefined` when the kind is not served (e.g. no Argo Rollouts CRD). */
  list(kind: WorkloadKind, namespace: string): Promise<Workload[] | undefined>;
  /** Merge-patch `spec.template.metadata.annotations`. */
  patchTemplateAnnotations(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    annotations: Record<string, string>,
  ): Promise<void>;
  listPods(namespace: string, labelSelector: string): Promise<PodInfo[]>;
  /** Merge-patch the workload (metadata annotations, pod-template annotations). */
  patch?(kind: WorkloadKind, namespace: string, name: string, body: WorkloadPatch): Promise<void>;
  /** Evict one pod through the Eviction API (PodDisruptionBudgets are enforced by the API server). */
  evictPod?(namespace: string, name: string): Promise<EvictionResult>;
}

export interface WorkloadPatch {
  metadata?: { annotations: Record<string, string> };
  spec?: { template: { metadata: { annotations: Record<string, string> } } };
}

/** POST with a timeout; resolves to the HTTP status code. */
export type HttpPost = (url: string, timeoutMs: number) => Promise<number>;

export interface SmcRef {
  namespace: string;
  name: string;
  uid?: string;
}

export interface WorkloadReloadReport {
  kind: WorkloadKind;
  name: string;
  strategy: ReloadStrategy;
  result: ReloadResult;
  digest: string;
  /** Which SMC changes this reload carries. */
  smcs: string[];
  detail: string;
}

export interface WorkloadNotifierOptions {
  api: WorkloadApi;
  post?: HttpPost;
  /** Coalescing window (ms), or a function asked at each scheduling (live settings); default 2000. */
  windowMs?: number | (() => number);
  clock?: Clock;
  /** Per-POST timeout (ms); default 5000. */
  httpTimeoutMs?: number;
  /** POST attempts per pod; default 3. */
  httpAttempts?: number;
  /** First retry delay (ms), doubled each time; default 200. */
  httpRetryBaseMs?: number;
  /** Count `workload_reloads_total{strategy,result}`. */
  count?: (strategy: ReloadStrategy, result: ReloadResult) => void;
  /** Each finished reload, reported to every SMC it carries (Events, status). */
  onReload?: (smc: SmcRef, report: WorkloadReloadReport) => void | Promise<void>;
  /** `evict`: waits for replacements; default 5 min per pod. */
  evict?: EvictOptions;
  /** `evict`: between two tries while a PodDisruptionBudget refuses (ms); default 5000. */
  evictBlockedRetryMs?: number;
  /** Called by `stop()` after running reloads finished (flush status writers). */
  onStop?: () => Promise<void>;
  log?: (level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, msg: string) => void;
}

/** SMC names listed in a workload's `reload` annotation (comma/space separated, deduplicated). */
export function reloadTargets(annotations: Record<string, string> | undefined): string[] {
  const raw = annotations?.[ANNOTATIONS.reload];
  if (!raw) return [];
  return [
    ...new Set(
      raw
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** `reload-strategy`, default `restart`; an unknown value is reported as `undefined`. */
export function reloadStrategy(annotations: Record<string, string> | undefined): ReloadStrategy | undefined {
  const raw = (annotations?.[ANNOTATIONS.reloadStrategy] ?? 'restart').trim().toLowerCase();
  return raw === 'restart' || raw === 'evict' || raw === 'http' || raw === 'none' ? raw : undefined;
}

/** `reload-http: "8080/reload"` (or `"8080"`, `"8080/"`) → port and path. */
export function parseReloadHttp(value: string | undefined): { port: number; path: string } | undefined {
  const m = /^\s*(\d{1,5})(\/[^\s]*)?\s*$/.exec(value ?? '') ?? /^\s*(\d{1,5})\/?$/.exec(value ?? '');
  if (!m) return undefined;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return undefined;
  const path = m[2] && m[2] !== '/' ? m[2] : '/reload';
  return { port, path };
}

/**
 * Content digest of a sync: the revision and each entry's store version id (never a value).
 * Order-independent; `lastUpdateTime` and states are left out so the same content gives the same digest.
 */
export function contentDigest(
  revision: string | undefined,
  entries: readonly { key?: string; storeName?: string; kind?: string; version?: string }[] | undefined,
): string {
  const lines = (entries ?? [])
    .map((e) => `${e.kind ?? ''}\u0000${e.storeName ?? e.key ?? ''}\u0000${e.version ?? ''}`)
    .sort();
  const h = createHash('sha256').update(`${revision ?? ''}\n`);
  for (const l of lines) h.update(`${l}\n`);
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}

/** Notify only after a sync that changed store values (never after a no-op or a failure with no writes). */
export function shouldNotify(outcome: { writes: number }): boolean {
  return outcome.writes > 0;
}

export function selectorOf(w: Workload): string | undefined {
  const labels = w.spec?.selector?.matchLabels;
  if (!labels || Object.keys(labels).length === 0) return undefined;
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

interface Pending {
  workload: Workload;
  smc: SmcRef;
  smcs: Map<string, SmcRef>;
  digest: string;
  /** When the latest change reached it (`evict`: pods created before are replaced). */
  at: number;
}

export class WorkloadNotifier {
  private readonly pending: PendingReloads<Pending>;
  private readonly windowMs: () => number;

  constructor(private readonly o: WorkloadNotifierOptions) {
    this.pending = new PendingReloads(o.clock ?? realClock, (key) => this.fire(key));
    const w = o.windowMs ?? 2000;
    this.windowMs = typeof w === 'function' ? w : () => w;
  }

  /** Workloads in `smc`'s namespace that name it in their `reload` annotation. */
  async discover(smc: SmcRef): Promise<Workload[]> {
    const found: Workload[] = [];
    for (const kind of WORKLOAD_KINDS) {
      let list: Workload[] | undefined;
      try {
        list = await this.o.api.list(kind, smc.namespace);
      } catch (e) {
        this.o.log?.(
          'warn',
          { kind, namespace: smc.namespace, err: (e as Error).message },
          'workload list failed',
        );
        continue;
      }
      for (const w of list ?? [])
        if (reloadTargets(w.metadata.annotations).includes(smc.name)) found.push({ ...w, kind });
    }
    return found;
  }

  /**
   * A sync of `smc` changed values, giving content `digest`: schedule a reload of each opted-in
   * workload. A workload already pending keeps its timer and takes the latest digest.
   */
  async notify(smc: SmcRef, digest: string): Promise<number> {
    if (this.pending.stopped) return 0;
    const workloads = await this.discover(smc);
    if (this.pending.stopped) return 0;
    const smcKey = `${smc.namespace}/${smc.name}`;
    for (const w of workloads) {
      const key = `${w.kind}/${w.metadata.namespace}/${w.metadata.name}`;
      const p = this.pending.get(key);
      if (p) {
        p.workload = w;
        p.digest = digest;
        p.smc = smc;
        p.smcs.set(smcKey, smc);
        p.at = Date.now();
        continue;
      }
      const entry: Pending = { workload: w, smc, smcs: new Map([[smcKey, smc]]), digest, at: Date.now() };
      this.pending.schedule(key, entry, this.windowMs());
    }
    return workloads.length;
  }

  /** Pending reloads (for tests and shutdown). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Wait for reloads that already started. */
  idle(): Promise<void> {
    return this.pending.idle();
  }

  /** Cancel pending reloads; wait for running ones. */
  async stop(): Promise<void> {
    await this.pending.stop();
    await this.o.onStop?.();
  }

  private fire(key: string): void {
    const p = this.pending.take(key);
    if (!p) return;
    this.pending.track(
      this.reload(p).catch((e: unknown) => {
        this.o.log?.('warn', { workload: key, err: (e as Error).message }, 'workload reload failed');
      }),
    );
  }

  private async reload(p: Pending): Promise<void> {
    const w = p.workload;
    const strategy = reloadStrategy(w.metadata.annotations);
    let report: Omit<WorkloadReloadReport, 'smcs' | 'digest' | 'kind' | 'name'>;
    if (strategy === undefined) {
      report = {
        strategy: 'none',
        result: 'error',
        detail: `unknown ${ANNOTATIONS.reloadStrategy} "${w.metadata.annotations?.[ANNOTATIONS.reloadStrategy] ?? ''}"`,
      };
    } else if (strategy === 'none') {
      report = { strategy, result: 'skipped', detail: 'reload-strategy none' };
    } else if (strategy === 'restart') {
      report = { strategy, ...(await this.restart(w, p)) };
    } else if (strategy === 'evict') {
      report = { strategy, ...(await this.evict(w, p)) };
    } else {
      report = { strategy, ...(await this.http(w)) };
    }
    const full: WorkloadReloadReport = {
      kind: w.kind,
      name: w.metadata.name,
      digest: p.digest,
      smcs: [...p.smcs.keys()],
      ...report,
    };
    this.o.count?.(full.strategy, full.result);
    this.o.log?.(
      full.result === 'error' ? 'warn' : 'info',
      { workload: `${w.kind}/${w.metadata.namespace}/${w.metadata.name}`, ...full },
      'workload reload',
    );
    for (const smc of p.smcs.values()) {
      try {
        await this.o.onReload?.(smc, full);
      } catch {
        // reporting is best effort
      }
    }
  }

  private async restart(w: Workload, p: Pending): Promise<{ result: ReloadResult; detail: string }> {
    if (w.spec?.workloadRef !== undefined && w.spec.template === undefined)
      return { result: 'skipped', detail: 'Rollout with workloadRef has no pod template to annotate' };
    const value = `${p.smc.name}@${p.digest}`;
    if (w.spec?.template?.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION] === value)
      return { result: 'skipped', detail: `pod template already at ${value}` };
    try {
      await this.o.api.patchTemplateAnnotations(w.kind, w.metadata.namespace, w.metadata.name, {
        [RESTARTED_FOR_ANNOTATION]: value,
      });
      return { result: 'success', detail: `pod template annotated ${value}` };
    } catch (e) {
      return { result: 'error', detail: `patch failed: ${(e as Error).message}` };
    }
  }

  /**
   * `evict` (./evict.ts): evict the pods created before the change, one at a time; a
   * PodDisruptionBudget that forbids it is waited for, 5 s at a time, up to a minute.
   */
  private async evict(w: Workload, p: Pending): Promise<{ result: ReloadResult; detail: string }> {
    // Second precision, as `creationTimestamp`: the second of the change counts as before it (see auto.ts).
    const cutoff = Math.ceil(p.at / 1000) * 1000;
    if (Date.now() < cutoff) await new Promise((resolve) => setTimeout(resolve, cutoff - Date.now() + 10));
    let evicted = 0;
    for (let attempt = 0; ; attempt++) {
      const r = await evictOldPods(this.o.api, w, cutoff, {
        ...this.o.evict,
        stopping: () => this.pending.stopped,
      });
      evicted += r.evicted;
      if (r.result === 'stopped')
        return {
          result: 'skipped',
          detail: `stopped after ${evicted} pod(s) evicted: the controller is shutting down`,
        };
      if (r.result === 'done')
        return evicted
          ? { result: 'success', detail: `${evicted} pod(s) evicted` }
          : { result: 'skipped', detail: 'no pod started before the change' };
      if (r.result === 'error') return { result: 'error', detail: r.detail };
      if (attempt >= 12 || this.pending.stopped)
        return {
          result: 'skipped',
          detail: `eviction of pod ${r.pod} refused by a PodDisruptionBudget for a minute; ${r.left} pod(s) left`,
        };
      await new Promise((resolve) => setTimeout(resolve, this.o.evictBlockedRetryMs ?? 5000));
    }
  }

  private async http(w: Workload): Promise<{ result: ReloadResult; detail: string }> {
    const target = parseReloadHttp(w.metadata.annotations?.[ANNOTATIONS.reloadHttp]);
    if (!target)
      return {
        result: 'error',
        detail: `${ANNOTATIONS.reloadHttp} must be "<port>/<path>", got "${w.metadata.annotations?.[ANNOTATIONS.reloadHttp] ?? ''}"`,
      };
    const selector = selectorOf(w);
    if (!selector) return { result: 'error', detail: 'workload has no spec.selector.matchLabels' };
    if (!this.o.post) return { result: 'error', detail: 'no HTTP client' };
    let pods: PodInfo[];
    try {
      pods = await this.o.api.listPods(w.metadata.namespace, selector);
    } catch (e) {
      return { result: 'error', detail: `pod list failed: ${(e as Error).message}` };
    }
    const ready = pods.filter((pod) => pod.ready && pod.podIP);
    if (ready.length === 0) return { result: 'skipped', detail: 'no ready pods' };
    const failed = await postToPods(this.o.post, ready, target, {
      attempts: this.o.httpAttempts,
      retryBaseMs: this.o.httpRetryBaseMs,
      timeoutMs: this.o.httpTimeoutMs,
    });
    if (failed.length)
      return { result: 'error', detail: `POST ${target.port}${target.path} failed for ${failed.join(', ')}` };
    return { result: 'success', detail: `POST ${target.port}${target.path} to ${ready.length} ready pod(s)` };
  }
}
