/**
 * Notifications and tracing end to end, the controller as a separate process (its ServiceAccount,
 * the shipped RBAC) against the GCP Secret Manager emulator:
 * - a Flux notification `Provider` of type `generic` (its address in a Secret) points at a local
 *   HTTP receiver: a drift (store verification every 10 s) and a failure (a missing source, retried
 *   with backoff) each arrive there once, value-free, however often they are found again;
 * - with `tracing_enabled` (settings ConfigMap) and `OTEL_EXPORTER_OTLP_ENDPOINT`, a local OTLP/HTTP receiver gets the
 *   reconcile traces: a `reconcile` span with the stage spans as children, and no value.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { type OtlpReceiver, startOtlpReceiver } from '../observability/tracing-otlp-receiver.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { smcClient } from './smc.js';
import { type WebhookReceiver, startWebhookReceiver } from '../controller/notifications-receiver.js';

const kube = useKube();

let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let hook: WebhookReceiver;
let otlp: OtlpReceiver;
let scratch: string;
let ns: string;
let smcs: ReturnType<typeof smcClient>;

interface FluxEventBody {
  involvedObject: { kind: string; name: string; namespace: string };
  severity: string;
  reason: string;
  message: string;
  metadata?: Record<string, string>;
}

function posted(name: string, reason?: string): FluxEventBody[] {
  return hook.requests
    .map((r) => JSON.parse(r.body) as FluxEventBody)
    .filter((e) => e.involvedObject.name === name && (reason === undefined || e.reason === reason));
}

function spec(project: string, extra: Record<string, unknown> = {}) {
  return {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
    notifications: { fluxcd: { providerRef: { name: 'webhook' } } },
    ...extra,
  };
}

/** Total `count` of the Events with this reason on an SMC (repeats are aggregated into one Event). */
async function eventCount(name: string, reason: string): Promise<number> {
  const list = await kube()
    .client(CoreV1Api)
    .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name},reason=${reason}` });
  return list.items.reduce((n, e) => n + (e.count ?? 1), 0);
}

/** Every value the controller wrote to a project (long enough to be telling if found elsewhere). */
async function storedValues(project: string): Promise<string[]> {
  const [secrets] = await gcp.client().listSecrets({ parent: `projects/${project}` });
  const values: string[] = [];
  for (const s of secrets) {
    // A disabled entry (commented out in Git) has no enabled version to read: skipped.
    const read = await gcp
      .client()
      .accessSecretVersion({ name: `${s.name}/versions/latest` })
      .catch(() => undefined);
    if (read) values.push(Buffer.from(read[0].payload!.data as Uint8Array).toString('utf8'));
  }
  return values.filter((v) => v.length >= 8);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-notify-'));
  const tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  [gcp, artifacts, hook, otlp] = await Promise.all([
    startGcpSecretManager(),
    startArtifactServer(),
    startWebhookReceiver(),
    startOtlpReceiver(),
  ]);
  ns = await kube().createNamespace('e2e-notify');
  const core = kube().client(CoreV1Api);
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
  });
  // The Provider's address lives in its Secret, as Flux recommends for addresses with tokens.
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'webhook-address' }, stringData: { address: `${hook.url}/flux?token=t0ken` } },
  });
  await kube()
    .client(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: 'notification.toolkit.fluxcd.io',
      version: 'v1beta3',
      namespace: ns,
      plural: 'providers',
      body: {
        apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
        kind: 'Provider',
        metadata: { name: 'webhook' },
        spec: { type: 'generic', secretRef: { name: 'webhook-address' } },
      },
    });
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  await createFluxSource(kube(), ref);
  const artifact = await artifacts.publishDirectory(ref, tree, {
    revision: gitRevision('main', '2'.repeat(40)),
  });
  await setFluxArtifact(kube(), ref, artifact);
  const access = await shippedRbacAccess(kube(), ns);
  // tracing_enabled from the settings ConfigMap, not TRACING_ENABLED: the environment would win
  // over the ConfigMap, which the hot-reload test below changes (docs/operations.md).
  await kube()
    .client(CoreV1Api)
    .createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'secret-manager-controller-config' }, data: { tracing_enabled: 'true' } },
    });
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
    DRIFT_CHECK_INTERVAL: '10s',
    MIN_RECONCILE_INTERVAL_SECS: '1',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  smcs = smcClient(kube, ns, () => controller.log());
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await Promise.all([gcp?.stop(), artifacts?.stop(), hook?.stop(), otlp?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('Flux notification Provider (generic)', () => {
  const SECRET = 'payments-STRIPE_API_KEY';
  const OUT_OF_BAND = 'changed-in-the-console-e2e';

  it('drift found by every verification arrives once, value-free', async () => {
    const project = gcp.newProject();
    await smcs.create('drifty', spec(project, { diffDiscovery: true, reconcileInterval: '2s' }));
    await smcs.waitStatus('drifty', (x) => x.phase === 'Synced');
    const values = await storedValues(project);
    expect(values.length).toBeGreaterThan(3);
    await gcp.client().addSecretVersion({
      parent: `projects/${project}/secrets/${SECRET}`,
      payload: { data: Buffer.from(OUT_OF_BAND) },
    });
    const t0 = performance.now();
    const [event] = await waitFor(
      'the drift event at the receiver',
      async () => {
        const e = posted('drifty', 'DriftDetected');
        return e.length ? e : undefined;
      },
      { timeoutMs: 40_000, log: () => controller.log() },
    );
    console.log(
      `e2e: drift notification received ${(performance.now() - t0).toFixed(0)} ms after the change`,
    );
    expect(event).toMatchObject({
      involvedObject: { kind: 'SecretManagerConfig', namespace: ns, name: 'drifty' },
      severity: 'error',
      reason: 'DriftDetected',
      metadata: { 'secret-management.octopilot.io/revision': gitRevision('main', '2'.repeat(40)) },
    });
    expect(event!.message).toContain(SECRET);
    // The next verification finds the same drift (its Event count goes up): nothing new is sent.
    await waitFor(
      'a second verification finding the drift',
      async () => ((await eventCount('drifty', 'DriftDetected')) >= 2 ? true : undefined),
      { timeoutMs: 40_000, log: () => controller.log() },
    );
    expect(posted('drifty')).toHaveLength(1);
    const bodies = hook.requests.map((r) => r.body).join('\n');
    for (const v of [...values, OUT_OF_BAND]) expect(bodies).not.toContain(v);
    for (const v of [...values, OUT_OF_BAND]) expect(controller.log()).not.toContain(v);
    expect(hook.requests.every((r) => r.headers['gotk-component'] === 'secret-manager-controller')).toBe(
      true,
    );
    expect(hook.requests.every((r) => r.path === '/flux?token=t0ken')).toBe(true);
    expect(controller.log()).not.toContain('t0ken');
  });

  it('a failure retried with backoff arrives once', async () => {
    const project = gcp.newProject();
    await smcs.create('broken', spec(project, { sourceRef: { kind: 'GitRepository', name: 'absent' } }));
    const [event] = await waitFor(
      'the failure event at the receiver',
      async () => {
        const e = posted('broken');
        return e.length ? e : undefined;
      },
      { timeoutMs: 30_000, log: () => controller.log() },
    );
    expect(event).toMatchObject({ severity: 'error', reason: 'SourceNotFound' });
    expect(event!.message).toContain(`GitRepository ${ns}/absent`);
    await waitFor(
      'three failed reconciles',
      async () => ((await eventCount('broken', 'SourceNotFound')) >= 3 ? true : undefined),
      { timeoutMs: 30_000, log: () => controller.log() },
    );
    const retries = await eventCount('broken', 'SourceNotFound');
    expect(posted('broken')).toHaveLength(1);
    console.log(`e2e: ${retries} failed reconciles of "broken", 1 notification`);
  });
});

describe('OpenTelemetry traces (TRACING_ENABLED, OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('a reconcile trace with source, render, decrypt, plan and apply spans; no value exported', async () => {
    const project = gcp.newProject();
    await smcs.create('traced', spec(project));
    await smcs.waitStatus('traced', (x) => x.phase === 'Synced');
    const trace = await waitFor(
      'the reconcile trace of "traced"',
      async () => {
        const spans = otlp.spans();
        const root = spans.find(
          (s) =>
            s.name === 'reconcile' &&
            s.attributes['smc.name'] === 'traced' &&
            s.attributes['smc.result'] === 'success',
        );
        if (!root) return undefined;
        const children = spans.filter((s) => s.traceId === root.traceId && s.spanId !== root.spanId);
        // The batch may arrive in pieces: wait for the stages too. The SMCs of this file share one
        // source: the render may be another reconcile's (`shared: 1`, no decrypt spans then).
        const render = children.find((c) => c.name === 'render');
        const stages = [
          'source',
          'render',
          'plan',
          'apply',
          ...(render?.attributes.shared === 0 ? ['decrypt'] : []),
        ];
        return render && stages.every((n) => children.some((c) => c.name === n))
          ? { root, children }
          : undefined;
      },
      { timeoutMs: 30_000, log: () => controller.log() },
    );
    expect(trace.root.attributes).toMatchObject({
      'smc.namespace': ns,
      'smc.name': 'traced',
      'smc.result': 'success',
      'smc.revision': gitRevision('main', '2'.repeat(40)),
    });
    expect(Number(trace.root.attributes['smc.writes'])).toBeGreaterThan(0);
    expect(trace.root.resource['service.name']).toBe('secret-manager-controller');
    const byId = new Map([trace.root, ...trace.children].map((s) => [s.spanId, s.name]));
    for (const name of ['source', 'render', 'plan', 'apply'])
      expect(trace.children.filter((c) => c.name === name).map((c) => byId.get(c.parentSpanId!))).toEqual(
        expect.arrayContaining(['reconcile']),
      );
    expect(
      trace.children.filter((c) => c.name === 'decrypt').every((c) => byId.get(c.parentSpanId!) === 'render'),
    ).toBe(true);
    const payload = otlp.payloads.join('\n');
    for (const v of await storedValues(project)) expect(payload).not.toContain(v);
    console.log(`e2e: ${otlp.spans().length} spans in ${otlp.payloads.length} OTLP request(s)`);
    // The SOPS metrics are fed by the same stage hook.
    expect(
      await controller.metric('secret_manager_sops_decryption_total', { result: 'success' }),
    ).toBeGreaterThan(0);
  });
});

describe('tracing_enabled swapped live (settings ConfigMap, spec.hotReload)', () => {
  const CM = 'secret-manager-controller-config';
  // The ConfigMap exists from the start (beforeAll); `_create` kept for the call sites' readability.
  const setTracing = async (value: 'true' | 'false', _create: boolean) => {
    const body = { metadata: { name: CM, namespace: ns }, data: { tracing_enabled: value } };
    await kube().client(CoreV1Api).replaceNamespacedConfigMap({ namespace: ns, name: CM, body });
  };
  const logged = (msg: string) =>
    waitFor(
      `"${msg}" in the controller log`,
      async () => (controller.log().includes(`"msg":"${msg}"`) ? true : undefined),
      {
        timeoutMs: 20_000,
        log: () => controller.log(),
      },
    );

  afterAll(async () => {
    await kube()
      .client(CoreV1Api)
      .deleteNamespacedConfigMap({ namespace: ns, name: CM })
      .catch(() => undefined);
  });

  it('off: the sync that writes is not traced; on again: the next reconcile is', async () => {
    await smcs.create('hot', { ...spec(gcp.newProject()), hotReload: { enabled: true } });
    await smcs.waitStatus('hot', (x) => x.phase === 'Synced');
    await setTracing('false', true);
    await logged('tracing switched off');
    await smcs.create('untraced', spec(gcp.newProject()));
    await smcs.waitStatus('untraced', (x) => x.phase === 'Synced' && (x.secretsCount ?? 0) > 0);
    await setTracing('true', false);
    await logged('tracing switched on');
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject({
        group: 'secret-management.octopilot.io',
        version: 'v1beta1',
        namespace: ns,
        plural: 'secretmanagerconfigs',
        name: 'untraced',
        body: [
          {
            op: 'add',
            path: '/metadata/annotations',
            value: { 'secret-management.octopilot.io/reconcile': 'after-tracing-on' },
          },
        ],
      });
    const spans = await waitFor(
      'a reconcile span of "untraced"',
      async () => {
        const r = otlp
          .spans()
          .filter((s) => s.name === 'reconcile' && s.attributes['smc.name'] === 'untraced');
        return r.length ? r : undefined;
      },
      { timeoutMs: 30_000, log: () => controller.log() },
    );
    // Only the requested reconcile (nothing to write) was traced, not the first sync (which wrote).
    expect(spans.map((s) => s.attributes['smc.writes'])).toEqual(spans.map(() => 0));
  });
});
