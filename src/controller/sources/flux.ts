/**
 * Flux sources in the controller (docs/sources.md): the GitRepository, OCIRepository and Bucket
 * watches, each at the version the API server serves (`flux-versions.ts`); the source an SMC
 * references and its artifact, downloaded into the digest-keyed cache
 * (`src/source/flux-artifact.ts`); and `suspendGitPulls` on the source (`flux-suspend.ts`), with an
 * Event on the SMC for each change.
 */
import type { CustomObjectsApi, KubeConfig, KubernetesObject } from '../../kube/client-node.js';
import type { Logger, SmcLogger } from '../../observability/logger.js';
import type { ControllerMetrics } from '../../observability/metrics.js';
import type { SourceCheckout } from '../../source/source.js';
import { type FluxArtifactRef, fetchFluxArtifact } from '../../source/flux-artifact.js';
import type { FluxSourceObject, SmcObject } from '../reconcile.js';
import type { EventRecorder } from '../runtime/events.js';
import { type Collection, watchCollection } from '../runtime/informers.js';
import type { SmcView } from '../smc-view.js';
import { type SuspendableSource, patchSuspend, suspendAction } from './flux-suspend.js';
import { discoverFluxSources, fluxSourceTypes } from './flux-versions.js';

export type FluxResource = KubernetesObject & FluxSourceObject & SuspendableSource;

export interface FluxSourcesOptions {
  kubeConfig: KubeConfig;
  custom: CustomObjectsApi;
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  /** Empty: all namespaces. */
  namespaces: () => readonly string[];
  /** The artifact cache (keyed by digest). */
  cacheDir: string;
  /** A source's artifact or readiness changed (or it appeared, or went). */
  onEvent(kind: string, obj: FluxResource, old: FluxResource | undefined): void;
}

export class FluxSources {
  /** Per kind; created at start, once API discovery chose each kind's version. */
  private readonly collections = new Map<string, Collection<FluxResource>>();
  private running = false;

  constructor(private readonly o: FluxSourcesOptions) {}

  /** Watch the Flux sources, each kind at the version the API server serves (v1, else v1beta2). */
  async start(): Promise<void> {
    this.running = true;
    const served = await discoverFluxSources(this.o.kubeConfig, this.o.logger);
    if (!this.running) return;
    for (const type of fluxSourceTypes(served)) {
      if (this.collections.has(type.kind)) continue;
      if (type.version !== 'v1')
        this.o.logger.info({ kind: type.kind, version: type.version }, 'watching an older Flux source API');
      this.collections.set(
        type.kind,
        watchCollection<FluxResource>({
          kubeConfig: this.o.kubeConfig,
          type,
          namespaces: this.o.namespaces(),
          logger: this.o.logger,
          optional: true,
          onEvent: (_event, obj, old) => this.o.onEvent(type.kind, obj, old),
        }),
      );
    }
    await Promise.all([...this.collections.values()].map((s) => s.start()));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.collections.values()].map((s) => s.stop()));
  }

  /** Every kind is watched and has its first list. */
  get synced(): boolean {
    return this.collections.size > 0 && [...this.collections.values()].every((s) => s.synced);
  }

  /** The source an SMC references, when it is a Flux source the cache holds. */
  sourceOf(view: SmcView): FluxResource | undefined {
    const { kind, namespace, name } = view.source;
    return name ? this.collections.get(kind)?.get(namespace, name) : undefined;
  }

  /** Download, verify and extract an artifact of the SMC's source (cached by digest), timed. */
  async fetchArtifact(
    view: SmcView,
    artifact: FluxArtifactRef,
    sourceName: string,
    maxBytes: number,
  ): Promise<SourceCheckout> {
    const end = this.o.metrics.artifactDownloadDuration.startTimer();
    try {
      return await fetchFluxArtifact({
        artifact,
        cacheDir: this.o.cacheDir,
        sourceName,
        limits: { maxBytes },
        resolveArtifact: async () => this.sourceOf(view)?.status?.artifact,
      });
    } finally {
      end();
    }
  }

  /**
   * `suspendGitPulls` (src/controller/sources/flux-suspend.ts): suspend or resume the referenced
   * source, with an Event on the SMC. Returns a note for the status description.
   */
  async suspend(
    smc: SmcObject,
    view: SmcView,
    log: SmcLogger,
    source: FluxResource | undefined,
    desired: boolean,
  ): Promise<string | undefined> {
    const type = this.collections.get(view.source.kind)?.type;
    const ns = source?.metadata?.namespace;
    const name = source?.metadata?.name;
    if (!source || !type || !ns || !name) return undefined;
    const owner = view.key;
    const shown = `${type.kind} ${ns}/${name}`;
    const target = { namespace: smc.metadata.namespace, name: smc.metadata.name, uid: smc.metadata.uid };
    const action = suspendAction(source, desired, owner);
    if (action === 'suspend' || action === 'resume') {
      try {
        await patchSuspend(this.o.custom, type, ns, name, action, owner);
      } catch (e) {
        const code = (e as { code?: number }).code;
        const message = `cannot ${action} ${shown} for spec.suspendGitPulls (HTTP ${code ?? 'error'})`;
        log.area('git').warn({ source: shown, code }, message);
        await this.o.events.record(target, { type: 'Warning', reason: 'GitPullsSuspendFailed', message });
        return message;
      }
      const message =
        action === 'suspend'
          ? `Git pulls suspended: set spec.suspend=true on ${shown} (spec.suspendGitPulls)`
          : `Git pulls resumed: set spec.suspend=false on ${shown}`;
      log.area('git').info({ source: shown }, message);
      await this.o.events.record(target, {
        type: 'Normal',
        reason: action === 'suspend' ? 'GitPullsSuspended' : 'GitPullsResumed',
        message,
      });
      return action === 'suspend' ? `Git pulls suspended (${shown} spec.suspend=true)` : undefined;
    }
    if (action === 'none' && desired) return `Git pulls suspended (${shown} spec.suspend=true)`;
    if (action === 'suspendedByOther')
      return `Git pulls suspended (${shown} was already suspended by someone else)`;
    if (action === 'leftSuspended') return `${shown} is suspended by someone else; left as it is`;
    return undefined;
  }

  /**
   * Resume the Flux source an SMC references when that SMC suspended it (it is gone, or follows
   * another); `log` gives the SMC's loggers, asked for only then.
   */
  release(view: SmcView, log: () => SmcLogger): void {
    const { kind, namespace: ns, name } = view.source;
    const collection = this.collections.get(kind);
    if (!name || !collection) return;
    const source = collection.get(ns, name);
    const owner = view.key;
    if (!source || suspendAction(source, false, owner) !== 'resume') return;
    const shown = `${collection.type.kind} ${ns}/${name}`;
    const git = log().area('git');
    patchSuspend(this.o.custom, collection.type, ns, name, 'resume', owner).then(
      () => git.info({ source: shown }, 'Git pulls resumed: the SMC no longer uses the source'),
      (e: unknown) =>
        git.warn({ source: shown, code: (e as { code?: number }).code }, 'cannot resume the source'),
    );
  }
}
