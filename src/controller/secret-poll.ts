/**
 * Changes of the Secrets SMCs reference outside what the controller may watch (docs/security.md,
 * "Tenant isolation defaults"): SOPS key Secrets and store / Git credentials Secrets in tenant
 * namespaces. RBAC cannot limit `list`/`watch` to metadata, and a cluster-wide watch of Secrets
 * would hand the controller every Secret of the cluster, so the controller holds only a per-name
 * `get` there and asks for each referenced Secret's metadata (`PartialObjectMetadata`: no data
 * ever travels) every `secret_poll_interval`. A changed `resourceVersion` (or a Secret that
 * appeared or vanished) is reported, and the SMCs using it reconcile with the whole pipeline, as
 * after a watch event. The cost: one small GET per distinct Secret per interval, and a rotation is
 * seen within one interval instead of at once.
 */
import { type CoreV1Api, setHeaderOptions } from '../kube/client-node.js';
import pMap from 'p-map';
import type { Logger } from '../observability/logger.js';

/** Accept header that makes the API server return only the object's metadata. */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** Parallel metadata reads per round. */
const CONCURRENCY = 4;

export interface SecretPollOptions {
  core: Pick<CoreV1Api, 'readNamespacedSecret'>;
  /** `namespace/name` of every Secret to follow now (read at each round). */
  secrets(): Iterable<string>;
  /** Milliseconds between rounds (read at each round: `secret_poll_interval` is a live setting). */
  intervalMs(): number;
  /** A followed Secret changed since the previous round (not called for the first sighting). */
  onChange(namespace: string, name: string): void;
  logger: Logger;
}

/** What a round saw of one Secret: its resourceVersion, or that it does not exist. */
type Seen = string;
const ABSENT = '<absent>';

export class SecretPoller {
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: SecretPollOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.round().finally(() => this.schedule());
    }, this.o.intervalMs());
    this.timer.unref?.();
  }

  /**
   * A reconcile read `namespace/name` at `resourceVersion` (undefined: not found): the baseline a
   * later change is measured against, so a change made before the first round is not missed.
   */
  observe(namespace: string, name: string, resourceVersion: string | undefined): void {
    this.seen.set(`${namespace}/${name}`, resourceVersion ?? ABSENT);
  }

  /** One pass over the followed Secrets (exposed for tests). */
  async round(): Promise<void> {
    const wanted = new Set(this.o.secrets());
    for (const k of this.seen.keys()) if (!wanted.has(k)) this.seen.delete(k);
    await pMap(
      wanted,
      async (key) => {
        const slash = key.indexOf('/');
        const namespace = key.slice(0, slash);
        const name = key.slice(slash + 1);
        const now = await this.version(namespace, name);
        if (now === undefined || !this.running) return;
        const before = this.seen.get(key);
        this.seen.set(key, now);
        if (before !== undefined && before !== now) this.o.onChange(namespace, name);
      },
      { concurrency: CONCURRENCY },
    );
  }

  /** The Secret's resourceVersion, ABSENT, or undefined when it could not be read (kept as it was). */
  private async version(namespace: string, name: string): Promise<Seen | undefined> {
    try {
      const meta = await this.o.core.readNamespacedSecret(
        { namespace, name },
        setHeaderOptions('Accept', METADATA_ONLY),
      );
      return meta.metadata?.resourceVersion ?? ABSENT;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) return ABSENT;
      this.o.logger.debug({ secret: `${namespace}/${name}`, code }, 'referenced Secret not readable');
      return undefined;
    }
  }
}
