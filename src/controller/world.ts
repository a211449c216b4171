/**
 * The world a reconcile sees (docs/architecture.md, "The controller", Reconcile): the SMC's source
 * through the Flux and Argo CD adapters (`sources/`), its SOPS keys (`keys.ts`), its stores
 * (`stores.ts`, each logging its per-entry results) and the settings' limits. The reconciler reads
 * nothing from the cluster itself: all it uses comes through here.
 */
import { CoreV1Api, type KubeConfig } from '../kube/client-node.js';
import type { SecretManagerConfigSpec } from '../api/index.js';
import { type SmcLogger, entryLoggingStore } from '../observability/logger.js';
import { type ControllerMetrics, storeMetricsObserver } from '../observability/metrics.js';
import { RenderCache } from '../render/cache.js';
import { SopsKeyLoader } from './keys.js';
import type { ReconcileWorld, SmcObject, SmcStores } from './reconcile.js';
import type { Settings } from './settings.js';
import type { SmcView } from './smc-view.js';
import type { ArgoSources } from './sources/argo.js';
import type { FluxSources } from './sources/flux.js';
import { StoreFactory } from './stores.js';

export interface ReconcileWorldsOptions {
  kubeConfig: KubeConfig;
  controllerNamespace: string;
  settings: () => Settings;
  metrics: ControllerMetrics;
  flux: FluxSources;
  argo: ArgoSources;
  /** A Secret an SMC reads was read at `resourceVersion` (its changes then trigger a reconcile). */
  observeSecret(namespace: string, name: string, resourceVersion: string | undefined): void;
}

/** The SMC a world is for. */
export interface WorldSubject {
  smc: SmcObject;
  view: SmcView;
  log: SmcLogger;
}

export class ReconcileWorlds {
  private readonly keys: SopsKeyLoader;
  /** Rendered entries shared by the SMCs of one source with the same settings and keys. */
  private readonly renders = new RenderCache();
  /** Stores and their credentials (src/controller/stores.ts). */
  private storeFactory: StoreFactory | undefined;

  constructor(private readonly o: ReconcileWorldsOptions) {
    const settings = o.settings();
    this.keys = new SopsKeyLoader(
      o.kubeConfig.makeApiClient(CoreV1Api),
      {
        controllerNamespace: o.controllerNamespace,
        noCrossNamespaceRefs: settings.no_cross_namespace_refs,
        controllerKeyNamespaces: settings.controller_key_namespaces,
        workloadIdentityNamespaces: () => this.o.settings().sops_workload_identity_namespaces,
        keySecretCacheMs: () => this.o.settings().secret_poll_interval,
      },
      (namespace, name, rv) => o.observeSecret(namespace, name, rv),
      () => this.o.settings().max_key_file_bytes,
    );
  }

  /** What the reconciler may use for `subject`, under the settings of now. */
  of(subject: WorldSubject): ReconcileWorld {
    const s = this.o.settings();
    const { smc, view, log } = subject;
    const { flux, argo } = this.o;
    const source = flux.sourceOf(view);
    return {
      now: () => new Date(),
      source,
      fetchArtifact: (artifact, sourceName) =>
        flux.fetchArtifact(view, artifact, sourceName, s.artifact_max_bytes),
      sopsKeyring: (sp: SecretManagerConfigSpec, fresh?: boolean) =>
        this.keys.keyringFor(smc.metadata.namespace, sp, fresh),
      openStores: (sp: SecretManagerConfigSpec) => this.openStores(subject, sp),
      driftCheckIntervalMs: s.drift_check_interval,
      minReconcileIntervalMs: s.min_reconcile_interval_secs * 1000,
      maxSecretsPerResource: s.max_secrets_per_resource,
      maxSecretSizeBytes: s.max_secret_size_bytes,
      inputLimits: {
        maxSourceFileBytes: s.max_source_file_bytes,
        maxKeyFileBytes: s.max_key_file_bytes,
        maxRenderedBytes: s.max_rendered_bytes,
      },
      noCrossNamespaceRefs: s.no_cross_namespace_refs,
      allowKustomizeRemote: s.allow_kustomize_remote,
      renderCache: this.renders,
      ...(view.source.kind === 'Application' ? { argo: argo.world(smc, view, log) } : {}),
      suspendFluxSource: (suspend: boolean) => flux.suspend(smc, view, log, source, suspend),
    };
  }

  /** A key Secret changed: its cached copy is dropped (read again by the next reconcile that needs it). */
  forgetKeySecret(namespace: string, name: string): void {
    this.keys.forget(namespace, name);
  }

  /** The SMC is gone: the store clients only it used are closed. */
  forget(smc: SmcObject): void {
    this.storeFactory?.forget(smc.metadata);
  }

  /** Shutdown: every cached store client is closed (those in use once their stores close). */
  close(): void {
    this.storeFactory?.close();
    this.renders.clear();
  }

  /** The SMC's stores, each logging its per-entry results (`secrets` / `properties` areas). */
  async openStores({ smc, log }: WorldSubject, spec: SecretManagerConfigSpec): Promise<SmcStores> {
    const { secretStore, configStore } = await this.openStoresOf(smc, spec);
    log.area('provider').debug(
      {
        secretStore: `${secretStore.type} ${secretStore.target}`,
        ...(configStore ? { configStore: `${configStore.type} ${configStore.target}` } : {}),
      },
      'stores opened',
    );
    return {
      secretStore: entryLoggingStore(secretStore, log),
      ...(configStore ? { configStore: entryLoggingStore(configStore, log) } : {}),
    };
  }

  private openStoresOf(smc: SmcObject, spec: SecretManagerConfigSpec): Promise<SmcStores> {
    const { kubeConfig, controllerNamespace, settings, metrics } = this.o;
    this.storeFactory ??= new StoreFactory({
      core: kubeConfig.makeApiClient(CoreV1Api),
      kubeConfig,
      controllerNamespace,
      policy: () => ({
        noCrossNamespaceRefs: settings().no_cross_namespace_refs,
        storeAllowlist: settings().store_allowlist,
        maxWritesPerSecond: settings().provider_max_rps,
      }),
      observer: (type) => storeMetricsObserver(metrics, type),
      onSecretRead: (namespace, name, rv) => this.o.observeSecret(namespace, name, rv),
    });
    return this.storeFactory.open(smc.metadata, spec);
  }
}
