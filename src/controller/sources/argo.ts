/**
 * Argo CD Application sources in the controller (docs/sources.md): the Application watch (optional:
 * a cluster without Argo CD leaves it empty), and the reconciler's view of an SMC's Application and
 * its Git remote — `git ls-remote` and a shallow fetch into a per-SMC cache
 * (`src/source/argo-git.ts`), the credentials (`argo-source.ts`), the last pull
 * (`gitRepositoryPullInterval`, `git-pulls.ts`) and an Event when periodic pulls are suspended or
 * resumed.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '../../kube/client-node.js';
import { SmcError } from '../../errors.js';
import type { Logger, SmcLogger } from '../../observability/logger.js';
import type { ControllerMetrics } from '../../observability/metrics.js';
import { displayRepoURL, fetchArgoGit, lsRemoteRevision } from '../../source/argo-git.js';
import type { ArgoWorld, SmcObject } from '../reconcile.js';
import type { EventRecorder } from '../runtime/events.js';
import { type Collection, type ResourceType, watchCollection } from '../runtime/informers.js';
import type { Settings } from '../settings.js';
import type { SmcMemory } from '../smc-memory.js';
import type { SmcView } from '../smc-view.js';
import {
  ARGO_APPLICATIONS,
  ARGO_GROUP,
  ARGO_VERSION,
  type ArgoApplicationObject,
  GitCredentialResolver,
} from './argo-source.js';

export type ApplicationResource = KubernetesObject & ArgoApplicationObject;

const ARGO_APPLICATION_TYPE: ResourceType = {
  group: ARGO_GROUP,
  version: ARGO_VERSION,
  plural: ARGO_APPLICATIONS,
  kind: 'Application',
};

/**
 * A Git authentication failure with no credentials found: say where credentials come from (the
 * controller may not list Argo CD's repository Secrets unless granted, docs/security.md).
 */
function withoutCredentialsHint(e: unknown, credentials: unknown, appNamespace: string): unknown {
  if (credentials !== undefined || !(e instanceof SmcError) || e.code !== 'GitAuthFailed') return e;
  return new SmcError(
    e.code,
    `${e.message}; no Git credentials were found: name a Secret in spec.sourceRef.gitCredentials, or grant the controller list on Secrets in namespace ${appNamespace} to use Argo CD's repository Secrets (docs/security.md)`,
  );
}

export interface ArgoSourcesOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  memory: SmcMemory;
  settings: () => Settings;
  controllerNamespace: string;
  /** Git checkouts go under `<cacheDir>/git/<namespace>/<name>`. */
  cacheDir: string;
  /** An Application appeared, changed or went. */
  onEvent(obj: ApplicationResource, old: ApplicationResource | undefined): void;
}

export class ArgoSources {
  private readonly applications: Collection<ApplicationResource>;
  private readonly gitCredentials: GitCredentialResolver;

  constructor(private readonly o: ArgoSourcesOptions) {
    // Sources may live outside the watched namespaces (the documented layout keeps them in
    // flux-system / argocd), so they are watched cluster-wide unless the settings restrict namespaces.
    this.applications = watchCollection<ApplicationResource>({
      kubeConfig: o.kubeConfig,
      type: ARGO_APPLICATION_TYPE,
      namespaces: o.settings().watch_namespaces,
      logger: o.logger,
      optional: true,
      onEvent: (_event, obj, old) => o.onEvent(obj, old),
    });
    this.gitCredentials = new GitCredentialResolver(o.kubeConfig.makeApiClient(CoreV1Api), () => ({
      controllerNamespace: this.o.controllerNamespace,
      noCrossNamespaceRefs: this.o.settings().no_cross_namespace_refs,
      controllerKeyNamespaces: this.o.settings().controller_key_namespaces,
    }));
  }

  start(): Promise<void> {
    return this.applications.start();
  }

  stop(): Promise<void> {
    return this.applications.stop();
  }

  get synced(): boolean {
    return this.applications.synced;
  }

  /** An SMC is gone: drop its Git checkouts. */
  forget(smc: { namespace: string; name: string }): void {
    void rm(this.checkoutDir(smc), { recursive: true, force: true }).catch(() => undefined);
  }

  private checkoutDir(smc: { namespace: string; name: string }): string {
    return join(this.o.cacheDir, 'git', smc.namespace, smc.name);
  }

  /** The reconciler's view of an SMC's Argo CD Application and its Git remote. */
  world(smc: SmcObject, view: SmcView, smcLog: SmcLogger): ArgoWorld {
    const { key } = view;
    const { memory, events, metrics } = this.o;
    const appNamespace = view.source.namespace;
    const appName = view.source.name;
    const log = smcLog.area('git');
    return {
      application: this.applications.get(appNamespace, appName),
      lastPull: memory.peek(key)?.lastPull,
      minPullIntervalMs: this.o.settings().min_git_pull_interval_secs * 1000,
      pullsSuspended: async (suspended) => {
        const record = memory.of(key);
        if (suspended === (record.pullsSuspended === true)) return;
        record.pullsSuspended = suspended;
        const message = suspended
          ? `periodic Git pulls of Application ${appNamespace}/${appName} suspended (spec.suspendGitPulls)`
          : `periodic Git pulls of Application ${appNamespace}/${appName} resumed`;
        log.info(message);
        await events.record(
          { namespace: smc.metadata.namespace, name: smc.metadata.name, uid: smc.metadata.uid },
          { type: 'Normal', reason: suspended ? 'GitPullsSuspended' : 'GitPullsResumed', message },
        );
      },
      recordPull: (rec) => memory.recordPull(key, rec),
      credentials: async (repoURL) => {
        const found = await this.gitCredentials.resolve({
          smcNamespace: smc.metadata.namespace,
          ...(view.gitCredentials ? { gitCredentials: view.gitCredentials } : {}),
          applicationNamespace: appNamespace,
          repoURL,
        });
        log.debug({ repo: displayRepoURL(repoURL), found: found !== undefined }, 'Git credentials resolved');
        return found;
      },
      lsRemote: async (src, credentials) => {
        const sha = await lsRemoteRevision({
          repoURL: src.repoURL,
          targetRevision: src.targetRevision,
          ...(credentials ? { credentials } : {}),
        }).catch((e: unknown) => {
          throw withoutCredentialsHint(e, credentials, appNamespace);
        });
        log.debug({ repo: displayRepoURL(src.repoURL), revision: sha }, 'remote revision checked');
        return sha;
      },
      fetch: async (src, commit, credentials) => {
        const t0 = performance.now();
        const checkout = await fetchArgoGit({
          repoURL: src.repoURL,
          targetRevision: commit,
          path: src.path,
          cacheDir: this.checkoutDir(smc.metadata),
          ...(credentials ? { credentials } : {}),
        }).catch((e: unknown) => {
          throw withoutCredentialsHint(e, credentials, appNamespace);
        });
        if (checkout.fetched) metrics.gitFetchDuration.observe((performance.now() - t0) / 1000);
        const where = src.path ? `, path ${src.path}` : '';
        return {
          ...checkout,
          description: `Git ${displayRepoURL(src.repoURL)} at ${src.targetRevision} (${commit.slice(0, 12)})${where}`,
        };
      },
    };
  }
}
