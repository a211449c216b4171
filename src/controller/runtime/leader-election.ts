/**
 * Leader election on a `coordination.k8s.io/v1` Lease, the client-go way: candidates try to take
 * the Lease every `retryPeriodMs`; the holder renews it; another holder's claim counts as expired
 * only after `leaseDurationSeconds` have passed on *our* clock since we last saw the record change
 * (so clock skew between replicas does not matter). Every write is a replace carrying the read
 * `resourceVersion`, so two candidates racing for one Lease cannot both win.
 *
 * The leader steps down (`onStoppedLeading`) as soon as it sees another holder, or when it has not
 * renewed for `renewDeadlineMs` — which is shorter than the lease duration, so it stops writing
 * before anyone else may start. `stop()` releases the Lease (empty holder), so a standby takes over
 * within one retry period instead of waiting for expiry.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '../../kube/client-node.js';
import type { Logger } from 'pino';

/** The Lease calls the elector makes; the default wraps CoordinationV1Api (tests wrap it to inject faults). */
export interface LeaseClient {
  /** The Lease, or undefined when it does not exist. */
  read(namespace: string, name: string): Promise<V1Lease | undefined>;
  /** Create; rejects with HTTP 409 when it already exists. */
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  /** Replace with `metadata.resourceVersion` set; rejects with HTTP 409 on a stale version. */
  replace(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export function leaseClient(kubeConfig: KubeConfig): LeaseClient {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  return {
    async read(namespace, name) {
      try {
        return await api.readNamespacedLease({ namespace, name });
      } catch (e) {
        if (httpCode(e) === 404) return undefined;
        throw e;
      }
    },
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    replace: (namespace, name, body) => api.replaceNamespacedLease({ namespace, name, body }),
  };
}

export type LeaderState = 'standby' | 'leading' | 'stopped';

/** The Lease of the default shard. */
export const LEASE_NAME = 'secret-manager-controller-leader';
const SHARD_FOR_LEASE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Lease a replica of shard `shardKey` elects its leader on: one per shard
 * (`secret-manager-controller-leader-<shard>`), so each shard has its own leader; the default shard
 * keeps `secret-manager-controller-leader`. A shard key that cannot be part of a Lease name
 * (uppercase, `_`, `.`) is refused rather than mangled, so two shards never share a Lease.
 */
export function leaseNameFor(shardKey: string): string {
  if (shardKey === '') return LEASE_NAME;
  if (!SHARD_FOR_LEASE.test(shardKey)) {
    throw new Error(
      `shard_key "${shardKey}" cannot name the leader-election Lease: with --leader-elect use lowercase letters, digits and '-'`,
    );
  }
  return `${LEASE_NAME}-${shardKey}`;
}

export interface LeaderElectionOptions {
  client: LeaseClient;
  namespace: string;
  /** Lease name, e.g. `secret-manager-controller-leader`. */
  name: string;
  /** Unique per replica; default `<hostname>_<uuid>`. */
  identity?: string;
  /** Default 15 s (whole seconds on the Lease). */
  leaseDurationMs?: number;
  /** Default 10 s; must be shorter than the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  /** Became leader; `signal` aborts when leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void;
  /** Leadership ended (stepped down, lost the Lease, or stopped). Stop writing now. */
  onStoppedLeading?: () => void;
  /** The observed holder changed (undefined: nobody). */
  onNewLeader?: (identity: string | undefined) => void;
  logger?: Logger;
}

export class LeaderElector {
  readonly identity: string;
  private readonly o: Required<
    Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>
  > &
    LeaderElectionOptions;
  private _state: LeaderState = 'standby';
  private leaderAbort: AbortController | undefined;
  private readonly stopAbort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastRenew = 0;
  /** The Lease as we last wrote or read it. */
  private current: V1Lease | undefined;
  /** Holder + renewTime of the last record seen, and when (our clock) it last changed. */
  private observed: { key: string; at: number } | undefined;
  private observedHolder: string | undefined;

  constructor(options: LeaderElectionOptions) {
    const o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...options,
    };
    if (o.renewDeadlineMs >= o.leaseDurationMs)
      throw new RangeError('leader election: renewDeadlineMs must be shorter than leaseDurationMs');
    if (o.retryPeriodMs >= o.renewDeadlineMs)
      throw new RangeError('leader election: retryPeriodMs must be shorter than renewDeadlineMs');
    this.o = o;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
  }

  get state(): LeaderState {
    return this._state;
  }

  get isLeader(): boolean {
    return this._state === 'leading';
  }

  /** The holder last seen on the Lease (ourselves when leading). */
  get leader(): string | undefined {
    return this.observedHolder;
  }

  /** Start campaigning in the background. */
  start(): void {
    if (this.loop || this._state === 'stopped') return;
    this.loop = this.run();
  }

  /** Stop campaigning; when leading, release the Lease and call `onStoppedLeading`. */
  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    this.stopAbort.abort();
    await this.loop;
    this.endLeadership();
    // Also when a final attempt took the Lease just as we stopped: never leave it held by us.
    await this.release();
    this._state = 'stopped';
  }

  private async run(): Promise<void> {
    while (!this.stopAbort.signal.aborted) {
      const started = Date.now();
      const budget = this.isLeader
        ? Math.max(1, this.lastRenew + this.o.renewDeadlineMs - started)
        : this.o.renewDeadlineMs;
      const outcome = await withTimeout(this.tryAcquireOrRenew(), budget).catch((e: unknown) => {
        this.o.logger?.warn(
          { lease: this.leaseRef, err: errorText(e) },
          'leader election: lease request failed',
        );
        return 'failed' as const;
      });
      if (this.stopAbort.signal.aborted && outcome !== 'held') break;
      const now = Date.now();
      if (outcome === 'held') {
        this.lastRenew = now;
        if (!this.isLeader && !this.stopAbort.signal.aborted) this.beginLeadership();
      } else if (this.isLeader) {
        if (outcome === 'other-holder') {
          this.o.logger?.warn(
            { lease: this.leaseRef, holder: this.observedHolder },
            'leader election: lease taken by another holder; stepping down',
          );
          this.endLeadership();
        } else if (now - this.lastRenew >= this.o.renewDeadlineMs) {
          this.o.logger?.warn(
            { lease: this.leaseRef },
            'leader election: could not renew in time; stepping down',
          );
          this.endLeadership();
        }
      }
      if (this.stopAbort.signal.aborted) break;
      await sleep(this.o.retryPeriodMs, this.stopAbort.signal);
    }
  }

  private get leaseRef(): string {
    return `${this.o.namespace}/${this.o.name}`;
  }

  private beginLeadership(): void {
    this._state = 'leading';
    this.leaderAbort = new AbortController();
    this.o.logger?.info({ lease: this.leaseRef, identity: this.identity }, 'leader election: leading');
    safely(() => this.o.onStartedLeading?.(this.leaderAbort!.signal));
  }

  private endLeadership(): void {
    if (this._state !== 'leading') return;
    this._state = 'standby';
    this.leaderAbort?.abort();
    this.leaderAbort = undefined;
    safely(() => this.o.onStoppedLeading?.());
  }

  private async tryAcquireOrRenew(): Promise<'held' | 'other-holder' | 'failed'> {
    const { client, namespace, name } = this.o;
    const now = Date.now();
    const lease = await client.read(namespace, name);
    const durationSeconds = Math.max(1, Math.ceil(this.o.leaseDurationMs / 1000));
    if (!lease) {
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        this.current = await client.create(namespace, body);
      } catch (e) {
        if (httpCode(e) === 409) return 'failed';
        throw e;
      }
      this.observe(this.current, now);
      return 'held';
    }

    this.current = lease;
    this.observe(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity || undefined;
    if (holder !== undefined && holder !== this.identity) {
      const ttlMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (this.observed!.at + ttlMs > now) return 'other-holder';
    }
    const mine = holder === this.identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.current = await client.replace(namespace, name, body);
    } catch (e) {
      if (httpCode(e) === 409) return 'failed';
      throw e;
    }
    this.observe(this.current, now);
    return 'held';
  }

  /** Track the record: a change of holder or renew time restarts the expiry clock. */
  private observe(lease: V1Lease, now: number): void {
    const holder = lease.spec?.holderIdentity || undefined;
    const renew = lease.spec?.renewTime;
    const key = `${holder ?? ''}|${renew instanceof Date ? renew.getTime() : String(renew ?? '')}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      safely(() => this.o.onNewLeader?.(holder));
    }
  }

  /** Give the Lease up (empty holder) so a standby takes over at its next retry. */
  private async release(): Promise<void> {
    const lease = this.current;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = Date.now();
    try {
      const released = await this.o.client.replace(this.o.namespace, this.o.name, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: undefined,
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
        },
      });
      this.current = released;
      this.o.logger?.info({ lease: this.leaseRef }, 'leader election: lease released');
    } catch (e) {
      // Someone else changed it (409), or the apiserver is unreachable: the Lease expires on its own.
      this.o.logger?.warn({ lease: this.leaseRef, err: errorText(e) }, 'leader election: release failed');
    }
  }
}

function microTime(ms: number): V1MicroTime {
  return new V1MicroTime(ms);
}

function httpCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function errorText(e: unknown): string {
  const code = httpCode(e);
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return code ? `HTTP ${code}: ${msg}` : String(msg);
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A failing callback must not break the election loop.
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`lease request timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
