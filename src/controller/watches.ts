/**
 * Watch events → work-queue keys (docs/architecture.md, "The controller", Watch): the SMC watch,
 * and which of this shard's SMCs a change of an SMC, a Flux source, an Argo CD Application or a
 * Secret they read concerns. Also the Secret watch and poll behind those Secret changes, and the
 * one question across SMCs that workload reload asks (is another SMC on the same revision still
 * syncing?). It decides what is queued, never what a reconcile does.
 */
import { CoreV1Api, type KubeConfig } from '../kube/client-node.js';
import { API_GROUP, API_VERSION_NAME, KIND, LABELS, PLURAL } from '../api/index.js';
import type { Logger, SmcLogger } from '../observability/logger.js';
import { reloadMode, writtenSecret } from '../reload/workloads/index.js';
import { isDeleting } from './finalizer.js';
import { DEFAULT_SOPS_SECRET } from './keys.js';
import { requestedReconcile } from './reconcile.js';
import {
  type Collection,
  type WatchEvent,
  watchCollection,
  watchSecretChanges,
} from './runtime/informers.js';
import type { WorkQueue } from './runtime/queue.js';
import { SecretPoller } from './secret-poll.js';
import type { Settings } from './settings.js';
import type { SmcMemory } from './smc-memory.js';
import { type SecretArea, type SmcResource, type SmcView, SmcViews } from './smc-view.js';
import type { ApplicationResource } from './sources/argo.js';
import { applicationFingerprint } from './sources/argo-source.js';
import type { FluxResource } from './sources/flux.js';

const SECRET_CHANGES: Record<SecretArea, string> = {
  sops: 'SOPS key',
  git: 'Git credentials',
  provider: 'store credentials',
};

export interface WatchesOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  settings: () => Settings;
  controllerNamespace: string;
  queue: Pick<WorkQueue<string>, 'add'>;
  memory: SmcMemory;
  /** The loggers of one SMC. */
  log(smc: SmcResource, view: SmcView): SmcLogger;
  /** The SMC was deleted (`deleted`) or left this shard: forget it. */
  gone(smc: SmcResource, view: SmcView, deleted: boolean): void;
  /** The SMC follows another source now: release what it did to the old one. */
  sourceChanged(old: SmcResource, view: SmcView): void;
  /** An SMC was added or deleted, or its spec or shard changed (settings hot reload reads those only). */
  changed(): void;
  /** A Secret an SMC reads changed (a cached copy of it is dropped). */
  secretChanged(namespace: string, name: string): void;
  /** The revision of the Flux source an SMC follows, when it is one. */
  fluxRevision(view: SmcView): string | undefined;
}

/** Same generation (spec) and shard label: what an update that changes only status keeps. */
function sameSpecAndShard(a: SmcResource, b: SmcResource): boolean {
  const shard = (o: SmcResource) => o.metadata.labels?.[LABELS.shardKey];
  return a.metadata.generation === b.metadata.generation && shard(a) === shard(b);
}

export class Watches {
  readonly smcs: Collection<SmcResource>;
  readonly views: SmcViews;
  private secretWatch: { stop(): void } | undefined;
  /** Referenced Secrets outside the watch (tenant key and credentials Secrets): polled by metadata. */
  private secretPoll: SecretPoller | undefined;

  constructor(private readonly o: WatchesOptions) {
    this.views = new SmcViews(o.controllerNamespace);
    this.smcs = watchCollection<SmcResource>({
      kubeConfig: o.kubeConfig,
      type: { group: API_GROUP, version: API_VERSION_NAME, plural: PLURAL, kind: KIND },
      namespaces: o.settings().watch_namespaces,
      logger: o.logger,
      onEvent: (event, obj, old) => {
        this.onSmcEvent(event, obj, old);
        // A status write (most events) changes neither spec nor shard; handing hot reload all N
        // SMCs on each event made a fleet's sync O(N²) (docs/performance.md).
        if (event !== 'update' || !old || !sameSpecAndShard(old, obj)) o.changed();
      },
    });
  }

  /** Watch the controller-wide key Secret and poll the other Secrets SMCs read. */
  startSecrets(): void {
    // RBAC lets the controller watch one Secret only: the controller-wide key (docs/security.md).
    this.secretWatch = watchSecretChanges({
      kubeConfig: this.o.kubeConfig,
      namespace: this.o.controllerNamespace,
      name: DEFAULT_SOPS_SECRET,
      logger: this.o.logger,
      onChange: (namespace, name) => this.onSecretChange(namespace, name),
    });
    this.secretPoll = new SecretPoller({
      core: this.o.kubeConfig.makeApiClient(CoreV1Api),
      secrets: () => this.polledSecrets(),
      intervalMs: () => this.o.settings().secret_poll_interval,
      onChange: (namespace, name) => this.onSecretChange(namespace, name),
      logger: this.o.logger,
    });
    this.secretPoll.start();
  }

  stopSecrets(): void {
    this.secretWatch?.stop();
    this.secretPoll?.stop();
  }

  /** A referenced Secret was read at `resourceVersion`: the poll compares later reads with it. */
  observeSecret(namespace: string, name: string, resourceVersion: string | undefined): void {
    this.secretPoll?.observe(namespace, name, resourceVersion);
  }

  inShard(smc: SmcResource): boolean {
    return (this.views.of(smc).shard ?? '') === this.o.settings().shard_key;
  }

  /** The SMCs of this replica's shard. */
  shardSmcs(): SmcResource[] {
    return this.smcs.list().filter((s) => this.inShard(s));
  }

  private onSmcEvent(event: WatchEvent, obj: SmcResource, old: SmcResource | undefined): void {
    const view = this.views.of(obj);
    if (event === 'delete' || !this.inShard(obj)) {
      this.o.gone(obj, view, event === 'delete');
      return;
    }
    const before = old ? this.views.of(old) : undefined;
    if (old && before && before.sourceKey !== view.sourceKey) this.o.sourceChanged(old, before);
    if (
      event === 'add' ||
      !old ||
      old.metadata.generation !== obj.metadata.generation ||
      isDeleting(old) !== isDeleting(obj) ||
      requestedReconcile(old.metadata.annotations) !== requestedReconcile(obj.metadata.annotations) ||
      before?.shard !== view.shard
    ) {
      this.o.queue.add(view.key);
    }
    // A status-only update (our own write) triggers nothing.
  }

  /** This shard's SMCs that follow the source `kind namespace/name`. */
  private following(kind: string, namespace: string | undefined, name: string | undefined): SmcView[] {
    const out: SmcView[] = [];
    for (const smc of this.smcs.list()) {
      const view = this.views.of(smc);
      const { source } = view;
      if (source.kind !== kind || source.name !== name || source.namespace !== namespace) continue;
      if (this.inShard(smc)) out.push(view);
    }
    return out;
  }

  /** A Flux source's artifact or readiness changed: its SMCs reconcile, in the source's fair lane. */
  onFluxSourceEvent(kind: string, obj: FluxResource, old: FluxResource | undefined): void {
    const rev = (o: FluxResource | undefined) =>
      `${o?.status?.artifact?.revision ?? ''}|${o?.status?.artifact?.digest ?? ''}|${
        o?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? ''
      }`;
    if (old && rev(old) === rev(obj)) return;
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    const now = Date.now();
    for (const { key } of this.following(kind, ns, name)) {
      const revision = obj.status?.artifact?.revision;
      if (revision) this.o.memory.sawRevision(key, revision, now);
      this.o.queue.add(key, `${kind} ${ns}/${name}`); // the source's fair lane (src/controller/runtime/queue.ts)
    }
  }

  /** An Application's source or synced revision changed: its SMCs pull and reconcile at once. */
  onApplicationEvent(obj: ApplicationResource, old: ApplicationResource | undefined): void {
    if (old && applicationFingerprint(old) === applicationFingerprint(obj)) return;
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    for (const { key } of this.following('Application', ns, name)) {
      this.o.memory.forgetPull(key);
      this.o.queue.add(key, `Application ${ns}/${name}`);
    }
  }

  /**
   * The Secrets this shard's SMCs read that the watch does not cover, leaving out references the
   * settings refuse (they are never read, so their changes do not matter).
   */
  private *polledSecrets(): Generator<string> {
    const watched = `${this.o.controllerNamespace}/${DEFAULT_SOPS_SECRET}`;
    const noCross = this.o.settings().no_cross_namespace_refs;
    for (const smc of this.smcs.list()) {
      if (!this.inShard(smc)) continue;
      const { secrets } = this.views.of(smc);
      for (const s of [...secrets.sops, ...secrets.provider, ...secrets.git]) {
        if (s === watched) continue;
        if (noCross && !s.startsWith(`${smc.metadata.namespace}/`)) continue;
        yield s;
      }
    }
  }

  /** A Secret an SMC reads changed: that SMC runs its whole pipeline once. */
  private onSecretChange(namespace: string, name: string): void {
    const secret = `${namespace}/${name}`;
    this.o.secretChanged(namespace, name); // a SOPS key Secret read earlier is read again
    for (const smc of this.smcs.list()) {
      if (!this.inShard(smc)) continue;
      const view = this.views.of(smc);
      const area = (['sops', 'git', 'provider'] as const).find((a) => view.secrets[a].includes(secret));
      if (!area) continue;
      this.o
        .log(smc, view)
        .area(area)
        .info({ secret }, `${SECRET_CHANGES[area]} Secret changed: reconciling`);
      this.o.memory.of(view.key).forced = true;
      this.o.queue.add(view.key, `Secret ${secret}`);
    }
  }

  /**
   * Workload reload (docs/hot-reload.md): whether another `auto` SMC of `smc`'s namespace, on the same
   * Flux source still at `revision`, has yet to finish a reconcile of it (restarts then wait for it).
   */
  revisionSyncing(smc: { namespace: string; name: string }, revision: string | undefined): boolean {
    const self = this.smcs.get(smc.namespace, smc.name);
    if (!self || revision === undefined) return false;
    const view = this.views.of(self);
    // Moved on (or not a Flux source): nothing more comes for it.
    if (this.o.fluxRevision(view) !== revision) return false;
    return this.smcs.list().some((o) => {
      const { namespace, name } = o.metadata;
      if (namespace !== smc.namespace || name === smc.name || !this.inShard(o)) return false;
      if (this.views.of(o).sourceKey !== view.sourceKey) return false;
      if (reloadMode(o.spec) !== 'auto' || writtenSecret(o.metadata, o.spec) === undefined) return false;
      const attempted =
        this.o.memory.peek(`${namespace}/${name}`)?.written?.revision ?? o.status?.lastSyncedRevision;
      return attempted !== revision;
    });
  }
}
