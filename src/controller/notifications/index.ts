/**
 * Notifications (docs/crd-reference.md `notifications`): after each reconcile, forward new drift and failure
 * notices (src/controller/notifications/notices.ts) through the SMC's Flux notification Provider
 * (flux-provider.ts), and keep its Argo CD subscriptions and drift/failure annotations on the
 * Application its `sourceRef` names (argo-annotations.ts).
 *
 * Work for one SMC runs in order, in the background: a slow receiver never holds a reconcile.
 * Nothing here throws into the controller: a Provider or Application that cannot be used gives one
 * Warning Event and log line per distinct problem (e.g. an unsupported Provider type), never a crash.
 */
import { hostname } from 'node:os';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '../../kube/client-node.js';
import type { ArgoSubscription } from '../../api/index.js';
import type { Logger } from '../../observability/logger.js';
import type { EventTarget, SmcEvent } from '../runtime/events.js';
import {
  type ApplicationRef,
  ArgoApplicationAnnotator,
  clearedPatch,
  noticePatch,
  subscriptionPatch,
} from './argo-annotations.js';
import { fluxEvent } from './flux-event.js';
import { FluxProviderClient, type ProviderRef, postWithRetry } from './flux-provider.js';
import { type Notice, type NotifiableOutcome, NoticeTracker } from './notices.js';

export type { NotifiableOutcome, Notice } from './notices.js';

export const NOTIFICATION_WARNING_REASON = 'NotificationFailed';

export interface NotifierOptions {
  kubeConfig: KubeConfig;
  events: { record(target: EventTarget, event: SmcEvent): Promise<void> };
  logger: Logger;
  /** Read at each use (hot reload). */
  settings: () => { no_cross_namespace_refs: boolean };
  /** This replica (`reportingInstance`); default the host name (the pod name in a cluster). */
  instance?: string;
  now?: () => Date;
  /** Delivery retries (default 3 attempts from 500 ms). */
  retry?: { attempts?: number; baseMs?: number };
}

/** The SMC a reconcile was for. */
export interface NotifySubject {
  namespace: string;
  name: string;
  uid?: string;
  spec: unknown;
}

interface NotificationSpecView {
  sourceRef?: { kind?: string; name?: string; namespace?: string };
  notifications?: {
    fluxcd?: { providerRef?: { name?: string; namespace?: string } };
    argocd?: { subscriptions?: ArgoSubscription[] };
  };
}

export class Notifier {
  private readonly notices = new NoticeTracker();
  private readonly flux: FluxProviderClient;
  private readonly argo: ArgoApplicationAnnotator;
  /** Per SMC: the tail of its queue of notification work. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Per SMC: the problems already warned about. */
  private readonly warned = new Map<string, Set<string>>();
  /** Per SMC: the Application and subscriptions last made true. */
  private readonly subscribed = new Map<string, { app?: ApplicationRef; subs: string }>();

  constructor(private readonly o: NotifierOptions) {
    const custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    this.flux = new FluxProviderClient(custom, o.kubeConfig.makeApiClient(CoreV1Api));
    this.argo = new ArgoApplicationAnnotator(custom);
  }

  /** Queue the notifications of one reconcile's outcome; resolves when they are done. Never rejects. */
  notify(smc: NotifySubject, outcome: NotifiableOutcome): Promise<void> {
    const key = `${smc.namespace}/${smc.name}`;
    // The notices are decided now, in reconcile order; only the sending waits its turn.
    const changes = this.notices.next(key, outcome);
    const run = async () => {
      try {
        await this.deliver(key, smc, changes.send, changes.cleared);
      } catch (e) {
        this.o.logger.warn({ smc: key, err: (e as Error).message }, 'notification failed');
      }
    };
    const next = (this.chains.get(key) ?? Promise.resolve()).then(run);
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** The SMC is gone: drop what is remembered of it (its Application subscriptions are left). */
  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.notices.forget(key);
    this.warned.delete(key);
    this.subscribed.delete(key);
  }

  /** Wait for queued work (shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  private async deliver(
    key: string,
    smc: NotifySubject,
    send: readonly Notice[],
    cleared: readonly Notice['kind'][],
  ): Promise<void> {
    const spec = (smc.spec ?? {}) as NotificationSpecView;
    const ref = spec.sourceRef;
    const subs = spec.notifications?.argocd?.subscriptions;
    const source: ApplicationRef | undefined =
      ref?.kind === 'Application' && ref.name
        ? { namespace: ref.namespace ?? smc.namespace, name: ref.name }
        : undefined;
    // Without subscriptions, ours (if any, e.g. from before a restart) are removed once.
    await this.syncSubscriptions(key, smc, source, subs ?? []);
    // Drift and failure annotations only for SMCs that subscribe.
    const app = subs?.length ? source : undefined;

    const providerRef = spec.notifications?.fluxcd?.providerRef;
    const now = this.o.now?.() ?? new Date();
    for (const notice of send) {
      if (providerRef?.name)
        await this.sendFlux(
          key,
          smc,
          { namespace: providerRef.namespace ?? smc.namespace, name: providerRef.name },
          notice,
          now,
        );
      if (app) await this.annotate(key, smc, app, () => noticePatch(notice, key, now));
    }
    if (app)
      for (const kind of cleared) await this.annotate(key, smc, app, (cur) => clearedPatch(cur, kind, key));
  }

  private async syncSubscriptions(
    key: string,
    smc: NotifySubject,
    app: ApplicationRef | undefined,
    subs: readonly ArgoSubscription[],
  ): Promise<void> {
    const want = JSON.stringify(subs);
    const had = this.subscribed.get(key);
    const sameApp = had?.app?.namespace === app?.namespace && had?.app?.name === app?.name;
    if (had && sameApp && had.subs === want) return;
    // Subscriptions this SMC set on an Application it no longer uses (known while this process runs).
    if (had?.app && !sameApp)
      await this.annotate(key, smc, had.app, (cur) => subscriptionPatch(cur, key, []), { quiet: true });
    if (app) {
      const quiet = subs.length === 0; // nothing asked for: a missing Application is not worth a warning
      const done = await this.annotate(key, smc, app, (cur) => subscriptionPatch(cur, key, subs), { quiet });
      if (!done && !quiet) return; // retried with the next reconcile
    }
    this.subscribed.set(key, { ...(app ? { app } : {}), subs: want });
  }

  /** Patch the Application's annotations; warn (once per problem) and return false when that fails. */
  private async annotate(
    key: string,
    smc: NotifySubject,
    app: ApplicationRef,
    change: Parameters<ArgoApplicationAnnotator['update']>[1],
    opts: { quiet?: boolean } = {},
  ): Promise<boolean> {
    try {
      if (await this.argo.update(app, change)) return true;
      if (opts.quiet) return false;
      await this.warnOnce(
        key,
        smc,
        `spec.notifications.argocd: Argo CD Application ${app.namespace}/${app.name} not found; its annotations are not set`,
      );
    } catch (e) {
      if (opts.quiet)
        this.o.logger.warn({ smc: key, err: (e as Error).message }, 'Application annotations not updated');
      else await this.warnOnce(key, smc, `spec.notifications.argocd: ${(e as Error).message}`);
    }
    return false;
  }

  private async sendFlux(
    key: string,
    smc: NotifySubject,
    provider: ProviderRef,
    notice: Notice,
    now: Date,
  ): Promise<void> {
    if (provider.namespace !== smc.namespace && this.o.settings().no_cross_namespace_refs) {
      await this.warnOnce(
        key,
        smc,
        `spec.notifications.fluxcd.providerRef: Provider ${provider.namespace}/${provider.name} is in another namespace, which the no_cross_namespace_refs setting refuses`,
      );
      return;
    }
    const resolved = await this.flux.resolve(provider);
    if (resolved.kind === 'suspended') {
      this.o.logger.debug({ smc: key, reason: notice.reason }, `${resolved.provider} is suspended: not sent`);
      return;
    }
    if (resolved.kind === 'problem') {
      await this.warnOnce(key, smc, `spec.notifications.fluxcd: ${resolved.message}`);
      return;
    }
    const body = JSON.stringify(fluxEvent(smc, notice, now, this.o.instance ?? hostname()));
    try {
      await postWithRetry(resolved.delivery, body, this.o.retry);
      this.warned.delete(key);
      this.o.logger.info(
        {
          smc: key,
          reason: notice.reason,
          kind: notice.kind,
          provider: `${provider.namespace}/${provider.name}`,
        },
        'notification sent',
      );
    } catch (e) {
      const message = `spec.notifications.fluxcd: ${(e as Error).message}`;
      this.o.logger.warn({ smc: key, reason: notice.reason }, message);
      await this.o.events.record(smc, { type: 'Warning', reason: NOTIFICATION_WARNING_REASON, message });
    }
  }

  private async warnOnce(key: string, smc: NotifySubject, message: string): Promise<void> {
    const seen = this.warned.get(key) ?? new Set<string>();
    if (seen.has(message)) return;
    seen.add(message);
    this.warned.set(key, seen);
    this.o.logger.warn({ smc: key }, message);
    await this.o.events.record(smc, { type: 'Warning', reason: NOTIFICATION_WARNING_REASON, message });
  }
}
