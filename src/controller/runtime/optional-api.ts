/**
 * Optional APIs (the Argo CD and Argo Rollouts CRDs, the Flux source and notification CRDs): a
 * cluster may not serve them, and then a watch on them can only fail. Whether a resource is served
 * is asked once through API discovery (`GET /apis/GROUP/VERSION`); while it is not, the watch is
 * not started, that is logged once at info, and discovery is asked again every `recheckMs`
 * (default 3 minutes) until the CRD appears. A CRD removed later (a watch or list answered 404)
 * goes back to that state instead of restarting the watch every few seconds.
 */
import { CustomObjectsApi, type KubeConfig } from '../../kube/client-node.js';
import type { Logger } from '../../observability/logger.js';

export const OPTIONAL_API_RECHECK_MS = 180_000;

export interface ServedResource {
  group: string;
  version: string;
  plural: string;
}

/** Whether the apiserver serves `plural` in `group/version` (false when the group/version is unknown). */
export async function isServed(kubeConfig: KubeConfig, r: ServedResource): Promise<boolean> {
  try {
    const list = await kubeConfig
      .makeApiClient(CustomObjectsApi)
      .getAPIResources({ group: r.group, version: r.version });
    return (list.resources ?? []).some((x) => x.name === r.plural);
  } catch (e) {
    if ((e as { code?: number }).code === 404) return false;
    throw e;
  }
}

export interface OptionalApiGateOptions {
  kubeConfig: KubeConfig;
  resource: ServedResource;
  logger: Logger;
  /** Called when the resource is (again) served: start watching. */
  onServed(): Promise<void> | void;
  /** Called when it is found not served (at start, or lost later). */
  onNotServed?(): void;
  recheckMs?: number;
}

/**
 * Starts `onServed` once the resource is served: at once when it is, else after a later discovery
 * says so. `lost()` (a 404 from the watch) returns to waiting.
 */
export class OptionalApiGate {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private waiting = false;

  constructor(private readonly o: OptionalApiGateOptions) {}

  private get name(): string {
    const r = this.o.resource;
    return `${r.plural}.${r.group}/${r.version}`;
  }

  private get recheckMs(): number {
    return this.o.recheckMs ?? OPTIONAL_API_RECHECK_MS;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.check();
  }

  /** The watch found the resource gone (404): stop retrying it, wait for discovery again. */
  lost(): void {
    if (this.stopped || this.waiting) return;
    this.o.onNotServed?.();
    this.o.logger.info(
      { api: this.name, recheckMs: this.recheckMs },
      'optional API no longer served: not watching it; checking again periodically',
    );
    this.wait();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.stopped) return;
    let served: boolean;
    try {
      served = await isServed(this.o.kubeConfig, this.o.resource);
    } catch (e) {
      // Discovery itself failed (apiserver unreachable…): try the watch, which retries and logs.
      this.o.logger.warn({ api: this.name, err: e }, 'API discovery failed; watching anyway');
      served = true;
    }
    if (this.stopped) return;
    if (served) {
      if (this.waiting) this.o.logger.info({ api: this.name }, 'optional API now served: watching it');
      this.waiting = false;
      await this.o.onServed();
      return;
    }
    if (!this.waiting) {
      this.o.onNotServed?.();
      this.o.logger.info(
        { api: this.name, recheckMs: this.recheckMs },
        'optional API not served (CRD not installed): not watching it; checking again periodically',
      );
    }
    this.wait();
  }

  private wait(): void {
    this.waiting = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.recheckMs);
    this.timer.unref?.();
  }
}
