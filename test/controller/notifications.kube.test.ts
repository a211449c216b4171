/**
 * The Notifier (src/controller/notifications/) against the real kube-apiserver, authenticated as the
 * controller's ServiceAccount with the shipped RBAC: Flux notification Providers (the real v1beta3
 * CRD) and their Secrets are read and events POSTed to a local receiver; Argo CD Applications (the
 * real CRD) get the subscription, drift and failure annotations by merge patch; problems become one
 * Warning Event each.
 */
import { createHmac } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DriftFindings } from '../../src/controller/drift.js';
import { EventRecorder } from '../../src/controller/runtime/events.js';
import { Notifier, type NotifiableOutcome } from '../../src/controller/notifications/index.js';
import {
  DRIFT_ANNOTATION,
  FAILURE_ANNOTATION,
  SUBSCRIPTIONS_ANNOTATION,
} from '../../src/controller/notifications/argo-annotations.js';
import { createLogger } from '../../src/observability/logger.js';
import { createArgoApplication } from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { removeShippedRbac, shippedRbacAccess } from '../e2e/rbac.js';
import { type WebhookReceiver, startWebhookReceiver } from './notifications-receiver.js';

const kube = useKube();
const logger = createLogger({ level: 'silent', format: 'json' });
let ns: string;
let otherNs: string;
let sa: KubeConfig;
let rx: WebhookReceiver;
let settings = { no_cross_namespace_refs: false };
let clock = Date.parse('2026-11-26T08:00:00Z');

beforeAll(async () => {
  rx = await startWebhookReceiver();
  ns = await kube().createNamespace('notify');
  otherNs = await kube().createNamespace('notify-other');
  sa = (await shippedRbacAccess(kube(), ns)).kubeConfig();
}, 60_000);

afterAll(async () => {
  await removeShippedRbac(kube(), ns);
  await rx?.stop();
});

beforeEach(() => {
  rx.requests.length = 0;
  settings = { no_cross_namespace_refs: false };
});

function notifier(): Notifier {
  return new Notifier({
    kubeConfig: sa,
    events: new EventRecorder(sa, logger, 'test'),
    logger,
    settings: () => settings,
    instance: 'test',
    now: () => new Date((clock += 1000)),
    retry: { attempts: 2, baseMs: 10 },
  });
}

async function createSecret(namespace: string, name: string, data: Record<string, string>) {
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
}

async function createProvider(namespace: string, name: string, spec: Record<string, unknown>) {
  await kube()
    .client(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: 'notification.toolkit.fluxcd.io',
      version: 'v1beta3',
      namespace,
      plural: 'providers',
      body: {
        apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
        kind: 'Provider',
        metadata: { name },
        spec,
      },
    });
}

async function warnings(name: string): Promise<string[]> {
  const list = await kube()
    .client(CoreV1Api)
    .listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.name=${name},reason=NotificationFailed`,
    });
  return list.items.map((e) => e.message ?? '');
}

const fail = (reason: string, message: string): NotifiableOutcome => ({
  result: 'error',
  error: { reason, message },
  revision: 'main@sha1:1111111111111111111111111111111111111111',
});

function fluxSmc(name: string, providerRef: Record<string, string>) {
  return {
    namespace: ns,
    name,
    uid: `uid-${name}`,
    spec: {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      notifications: { fluxcd: { providerRef } },
    },
  };
}

describe('Flux notification Provider', () => {
  it('generic: Secret address and headers; a failure repeated by retries is POSTed once', async () => {
    await createSecret(ns, 'hook-generic', { address: `${rx.url}/generic`, headers: 'X-Team: payments\n' });
    await createProvider(ns, 'generic', {
      type: 'generic',
      address: 'http://127.0.0.1:1/unused',
      secretRef: { name: 'hook-generic' },
    });
    const n = notifier();
    const smc = fluxSmc('app-generic', { name: 'generic' });
    const outcome = fail('SourceNotReady', `GitRepository ${ns}/config: no artifact yet`);
    await n.notify(smc, outcome);
    await n.notify(smc, outcome);
    await n.notify(smc, outcome);
    expect(rx.requests).toHaveLength(1);
    const r = rx.requests[0]!;
    expect(r.path).toBe('/generic'); // the Secret's address wins over spec.address
    expect(r.headers['x-team']).toBe('payments');
    expect(r.headers['gotk-component']).toBe('secret-manager-controller');
    expect(JSON.parse(r.body)).toMatchObject({
      involvedObject: {
        kind: 'SecretManagerConfig',
        namespace: ns,
        name: 'app-generic',
        uid: 'uid-app-generic',
      },
      severity: 'error',
      reason: 'SourceNotReady',
      message: `GitRepository ${ns}/config: no artifact yet`,
      reportingController: 'secret-manager-controller',
      metadata: { 'secret-management.octopilot.io/revision': outcome.revision },
    });
    // Recovery, then the same failure again: a new notice.
    await n.notify(smc, { result: 'success' });
    await n.notify(smc, outcome);
    expect(rx.requests).toHaveLength(2);
  });

  it('generic-hmac: X-Signature is the HMAC of the body with the Secret token', async () => {
    await createSecret(ns, 'hook-hmac', { token: 'hmac-token-kube' });
    await createProvider(ns, 'hmac', {
      type: 'generic-hmac',
      address: `${rx.url}/hmac`,
      secretRef: { name: 'hook-hmac' },
    });
    await notifier().notify(fluxSmc('app-hmac', { name: 'hmac' }), fail('ProviderUnavailable', 'gcp: 503'));
    const r = rx.requests[0]!;
    expect(r.headers['x-signature']).toBe(
      `sha256=${createHmac('sha256', 'hmac-token-kube').update(r.body).digest('hex')}`,
    );
  });

  it('an unsupported type is one Warning Event naming the type; nothing is sent, nothing crashes', async () => {
    await createProvider(ns, 'slack', { type: 'slack', address: `${rx.url}/slack` });
    const n = notifier();
    const smc = fluxSmc('app-slack', { name: 'slack' });
    await n.notify(smc, fail('A', 'first'));
    await n.notify(smc, fail('B', 'second'));
    expect(rx.requests).toHaveLength(0);
    const w = await warnings('app-slack');
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(`Flux notification Provider ${ns}/slack has type "slack"`);
    expect(w[0]).toContain('supported: generic, generic-hmac');
  });

  it('a suspended Provider sends nothing; a missing one and a missing Secret are named in a Warning', async () => {
    await createProvider(ns, 'paused', { type: 'generic', address: `${rx.url}/paused`, suspend: true });
    await createProvider(ns, 'nosecret', { type: 'generic', secretRef: { name: 'absent' } });
    const n = notifier();
    await n.notify(fluxSmc('app-paused', { name: 'paused' }), fail('A', 'x'));
    await n.notify(fluxSmc('app-missing', { name: 'nope' }), fail('A', 'x'));
    await n.notify(fluxSmc('app-nosecret', { name: 'nosecret' }), fail('A', 'x'));
    expect(rx.requests).toHaveLength(0);
    expect(await warnings('app-paused')).toEqual([]);
    expect(await warnings('app-missing')).toEqual([
      `spec.notifications.fluxcd: Flux notification Provider ${ns}/nope not found`,
    ]);
    expect(await warnings('app-nosecret')).toEqual([
      `spec.notifications.fluxcd: Flux notification Provider ${ns}/nosecret: spec.secretRef: Secret ${ns}/absent not found`,
    ]);
  });

  it('a Provider in another namespace: used by default, refused under no_cross_namespace_refs', async () => {
    await createProvider(otherNs, 'shared', { type: 'generic', address: `${rx.url}/shared` });
    settings = { no_cross_namespace_refs: true };
    const n = notifier();
    await n.notify(fluxSmc('app-cross', { name: 'shared', namespace: otherNs }), fail('A', 'x'));
    expect(rx.requests).toHaveLength(0);
    expect((await warnings('app-cross'))[0]).toContain('no_cross_namespace_refs');
    settings = { no_cross_namespace_refs: false };
    await notifier().notify(fluxSmc('app-cross', { name: 'shared', namespace: otherNs }), fail('A', 'x'));
    expect(rx.requests.map((r) => r.path)).toEqual(['/shared']);
  });
});

describe('Argo CD Application annotations', () => {
  const appName = 'payments';
  const subs = [
    { trigger: 'on-secret-drift', service: 'slack', channel: 'platform' },
    { trigger: 'on-secret-failure', service: 'email', channel: 'ops@example.com' },
  ];
  const argoSmc = (s: unknown[] | undefined) => ({
    namespace: ns,
    name: 'argo-app',
    spec: {
      sourceRef: { kind: 'Application', name: appName },
      ...(s ? { notifications: { argocd: { subscriptions: s } } } : {}),
    },
  });
  const annotations = async () =>
    (
      (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'applications',
        name: appName,
      })) as { metadata: { annotations?: Record<string, string> } }
    ).metadata.annotations ?? {};
  const driftOutcome = (names: string[]): NotifiableOutcome => ({
    result: 'success',
    drift: {
      verified: true,
      report: true,
      policy: 'Report',
      entries: names.map((storeName) => ({ storeName, kind: 'secret', store: 'gcp', corrected: false })),
    } satisfies DriftFindings,
  });

  beforeAll(async () => {
    await createArgoApplication(kube(), ns, appName, {
      repoURL: 'https://git.example/config.git',
      path: 'apps',
    });
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'applications',
        name: appName,
        body: [{ op: 'add', path: '/metadata/annotations', value: { 'team.example/owner': 'payments' } }],
      });
  });

  it('subscriptions are added, tracked, updated and removed; other annotations stay', async () => {
    const n = notifier();
    await n.notify(argoSmc(subs), { result: 'success' });
    let a = await annotations();
    expect(a).toMatchObject({
      'team.example/owner': 'payments',
      'notifications.argoproj.io/subscribe.on-secret-drift.slack': 'platform',
      'notifications.argoproj.io/subscribe.on-secret-failure.email': 'ops@example.com',
    });
    expect(JSON.parse(a[SUBSCRIPTIONS_ANNOTATION]!)).toEqual({
      [`${ns}/argo-app`]: [
        'notifications.argoproj.io/subscribe.on-secret-drift.slack',
        'notifications.argoproj.io/subscribe.on-secret-failure.email',
      ],
    });
    // A channel changes, the email subscription goes.
    await n.notify(argoSmc([{ ...subs[0]!, channel: 'payments-alerts' }]), { result: 'success' });
    a = await annotations();
    expect(a['notifications.argoproj.io/subscribe.on-secret-drift.slack']).toBe('payments-alerts');
    expect(a).not.toHaveProperty('notifications.argoproj.io/subscribe.on-secret-failure.email');
    // A new process (nothing remembered) with no subscriptions left: ours are removed.
    await notifier().notify(argoSmc(undefined), { result: 'success' });
    a = await annotations();
    expect(Object.keys(a).filter((k) => k.startsWith('notifications.argoproj.io/'))).toEqual([]);
    expect(a).not.toHaveProperty(SUBSCRIPTIONS_ANNOTATION);
    expect(a['team.example/owner']).toBe('payments');
  });

  it('drift and failure set value-free annotations once; a recovery removes last-failure', async () => {
    const n = notifier();
    await n.notify(argoSmc(subs), driftOutcome(['payments-DB_PASSWORD']));
    const first = (await annotations())[DRIFT_ANNOTATION];
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: 1 entry changed outside Git \(.+\/argo-app\)$/);
    // The same drift found by the next verification: not set again (the clock moved on).
    await n.notify(argoSmc(subs), driftOutcome(['payments-DB_PASSWORD']));
    expect((await annotations())[DRIFT_ANNOTATION]).toBe(first);

    const f = fail('SopsMacMismatch', 'payments.env: MAC mismatch');
    await n.notify(argoSmc(subs), f);
    const failure = (await annotations())[FAILURE_ANNOTATION];
    expect(failure).toMatch(/: SopsMacMismatch \(.+\/argo-app\)$/);
    await n.notify(argoSmc(subs), f);
    expect((await annotations())[FAILURE_ANNOTATION]).toBe(failure);
    await n.notify(argoSmc(subs), { result: 'success' });
    expect(await annotations()).not.toHaveProperty(FAILURE_ANNOTATION);
    // A verification that finds no drift clears the drift annotation.
    await n.notify(argoSmc(subs), driftOutcome([]));
    expect(await annotations()).not.toHaveProperty(DRIFT_ANNOTATION);
  });

  it('a missing Application is one Warning Event, not an error', async () => {
    const n = notifier();
    const smc = {
      ...argoSmc(subs),
      name: 'argo-missing',
      spec: { ...argoSmc(subs).spec, sourceRef: { kind: 'Application', name: 'absent' } },
    };
    await n.notify(smc, { result: 'success' });
    await n.notify(smc, fail('A', 'x'));
    expect(await warnings('argo-missing')).toEqual([
      `spec.notifications.argocd: Argo CD Application ${ns}/absent not found; its annotations are not set`,
    ]);
  });
});
