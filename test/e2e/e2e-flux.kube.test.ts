/**
 * The controller end to end, as a separate process against the real kube-apiserver: a Flux
 * GitRepository whose artifact is served locally → SecretManagerConfig → the GCP Secret Manager
 * emulator, and → a Kubernetes Secret. Status, metrics, new revisions, no-op reconciles, bad input.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { generateX25519Identity } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpSecretManager, type GcpSecretManagerPeer } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  type FluxArtifact,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  sha256Digest,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const VERSION = 'v1beta1';
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}
interface SmcStatus {
  phase?: string;
  conditions?: Condition[];
  lastSyncTime?: string;
  lastAttemptTime?: string;
  lastSyncedRevision?: string;
  lastHandledReconcileAt?: string;
  nextReconcileTime?: string;
  secretsCount?: number;
  observedGeneration?: number;
  entries?: { key: string; storeName: string; state: string }[];
}

let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
/** The leader (started first), and a second replica standing by. */
let controller: ControllerProcess;
let standby: ControllerProcess;
let first: ControllerProcess | undefined;
let scratch: string;
let ns: string;
let tree: string;
let demoKey: string;

function commit(n: number): string {
  return n.toString(16).padStart(40, '0');
}

async function createSmc(
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
) {
  await kube()
    .client(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'secretmanagerconfigs',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'SecretManagerConfig',
        metadata: { name, namespace: ns, annotations },
        spec,
      },
    });
}

async function smc(name: string): Promise<{ metadata: { generation: number }; status?: SmcStatus }> {
  return (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name,
  })) as {
    metadata: { generation: number };
    status?: SmcStatus;
  };
}

function cond(s: SmcStatus | undefined, type: string): Condition | undefined {
  return s?.conditions?.find((c) => c.type === type);
}

async function waitStatus(
  name: string,
  ok: (s: SmcStatus) => boolean,
  timeoutMs = 20_000,
): Promise<SmcStatus> {
  return waitFor(
    `status of ${name}`,
    async () => {
      const s = (await smc(name)).status;
      return s && ok(s) ? s : undefined;
    },
    { timeoutMs, log: () => controller.log() },
  );
}

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

const gcpSecretNames = (project: string) => gcp.secretNames(project);

const WRITE_OPS = ['CreateSecret', 'AddSecretVersion', 'UpdateSecret', 'DeleteSecret'];
async function providerOps(write?: boolean): Promise<number> {
  if (write === undefined) return controller.metric('secret_manager_provider_operations_total');
  let n = 0;
  for (const op of WRITE_OPS)
    n += await controller.metric('secret_manager_provider_operations_total', { operation: op });
  return n;
}

async function publish(name: string, n: number): Promise<FluxArtifact> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', commit(n)) });
  await setFluxArtifact(kube(), ref, artifact);
  return artifact;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-flux-'));
  tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  [gcp, artifacts] = await Promise.all([startGcpSecretManager(), startArtifactServer()]);
  ns = await kube().createNamespace('e2e-flux');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
    });
  // The controller runs as its ServiceAccount with the shipped RBAC (config/rbac), two replicas
  // with leader election: the first one started leads.
  const access = await shippedRbacAccess(kube(), ns);
  const env = {
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    // The key Secret `sops-age` is polled (the controller may not watch it): every second here.
    SECRET_POLL_INTERVAL: '1s',
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  };
  controller = await startController(env, ['--leader-elect']);
  first = controller;
  await waitFor(
    'the first replica to lead',
    async () => (/"leading: starting/.test(controller.log()) ? true : undefined),
    {
      log: () => controller.log(),
    },
  );
  standby = await startController(env, ['--leader-elect']);
}, 120_000);

afterAll(async () => {
  // E2E_LOG_DIR=dir keeps both replicas' logs for debugging.
  if (process.env.E2E_LOG_DIR) {
    await writeFile(join(process.env.E2E_LOG_DIR, 'leader.log'), first?.log() ?? '');
    await writeFile(join(process.env.E2E_LOG_DIR, 'standby.log'), standby?.log() ?? '');
  }
  const codes = await Promise.all([controller?.stop(), standby?.stop()]);
  await removeShippedRbac(kube(), ns);
  await Promise.all([gcp?.stop(), artifacts?.stop()]);
  expect(codes).toEqual([0, 0]); // graceful SIGTERM
  await rm(scratch, { recursive: true, force: true });
});

let firstProject: string | undefined;
const project0 = (): string => firstProject ?? '';

describe('Flux GitRepository → SecretManagerConfig → GCP Secret Manager', () => {
  let project: string;

  it('syncs every secret and reports Synced / Ready=True with lastSyncTime', async () => {
    project = gcp.newProject();
    firstProject = project;
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
    await publish('config', 1);
    await createSmc('payments', {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: { gcp: { projectId: project } },
      secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
      // Far beyond any wait below: a new revision that lands was acted on from the source's change.
      reconcileInterval: '1h',
    });
    const s = await waitStatus('payments', (x) => x.phase === 'Synced');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(cond(s, 'Reconciling')?.status).toBe('False');
    expect(cond(s, 'Stalled')?.status).toBe('False');
    expect(cond(s, 'SourceReady')?.status).toBe('True');
    expect(s.lastSyncTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(s.lastSyncedRevision).toBe(gitRevision('main', commit(1)));
    expect(s.observedGeneration).toBe(1);
    expect(s.secretsCount).toBeGreaterThanOrEqual(5);
    // Every entry synced, but the keys commented out in Git: Disabled from the first sync on.
    const disabled = (s.entries ?? []).filter((e) => e.state !== 'Synced');
    expect(disabled.map((e) => [e.storeName, e.state])).toEqual([
      ['catalog-cache-warmup-token', 'Disabled'],
      ['payments-LEGACY_API_TOKEN', 'Disabled'],
    ]);
    expect(s.secretsCount).toBe((s.entries ?? []).length - disabled.length);
    expect(JSON.stringify(s)).not.toContain('sk_test_demo_51Hx'); // never a value in status
    expect(await gcpValue(project, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');
    // Every entry was written once: the disabled ones too (created disabled).
    expect(await controller.metric('secret_manager_secrets_published_total', { provider: 'gcp' })).toBe(
      (s.entries ?? []).length,
    );
    expect(
      await controller.metric('secret_manager_reconciliations_total', { result: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await controller.metric('secret_manager_secrets_managed', { namespace: ns, name: 'payments' }),
    ).toBe(s.secretsCount);
  });

  it('a new artifact revision lands at once, without waiting for reconcileInterval', async () => {
    const props = join(tree, PROPS);
    await writeFile(
      props,
      (await readFile(props, 'utf8')).replace('payments.currency=EUR', 'payments.currency=USD'),
    );
    const writesBefore = await providerOps(true);
    // The periodic reconcile scheduled by the last pass (reconcileInterval 1h).
    const scheduled = (await smc('payments')).status?.nextReconcileTime;
    expect(scheduled).toBeDefined();
    const t0 = performance.now();
    await publish('config', 2);
    await waitFor(
      'the new value in the emulator',
      async () => ((await gcpValue(project, 'payments-properties'))?.includes('"USD"') ? true : undefined),
      { intervalMs: 20, log: () => controller.log() },
    );
    console.log(`e2e: new revision → value in GCP emulator in ${(performance.now() - t0).toFixed(0)} ms`);
    const s = await waitStatus('payments', (x) => x.lastSyncedRevision === gitRevision('main', commit(2)));
    expect(cond(s, 'Ready')?.status).toBe('True');
    // Synced by the pass the new artifact started, long before the periodic one was due.
    expect(Date.parse(s.lastSyncTime!)).toBeLessThan(Date.parse(scheduled!));
    // Exactly one value changed: one new version, no other write.
    expect((await providerOps(true)) - writesBefore).toBe(1);
    expect(await controller.metric('secret_manager_sync_latency_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('an unchanged revision makes no provider call; a reconcile request reads but writes nothing', async () => {
    const before = await smc('payments');
    const callsBefore = await providerOps();
    const writesBefore = await providerOps(true);
    // Source-controller re-reports the same artifact (new condition timestamps, same revision).
    await publish('config', 2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await providerOps()).toBe(callsBefore);

    // `secret-management.octopilot.io/reconcile` forces a full pass: store reads, zero writes.
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'secretmanagerconfigs',
          name: 'payments',
          body: { metadata: { annotations: { [`${GROUP}/reconcile`]: 'now-1' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    const s = await waitStatus('payments', (x) => x.lastHandledReconcileAt === 'now-1');
    expect(await providerOps()).toBeGreaterThan(callsBefore);
    expect(await providerOps(true)).toBe(writesBefore);
    expect(s.phase).toBe('Synced');
    // Ready stayed True all along: its lastTransitionTime did not move.
    expect(cond(s, 'Ready')?.lastTransitionTime).toBe(cond(before.status, 'Ready')?.lastTransitionTime);
  });

  it('a tampered artifact digest → Ready=False with the reason, nothing pushed', async () => {
    const bad = gcp.newProject();
    const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'tampered' };
    await createFluxSource(kube(), ref);
    const artifact = await artifacts.publishDirectory(ref, tree, {
      revision: gitRevision('main', commit(9)),
    });
    await setFluxArtifact(kube(), ref, { ...artifact, digest: sha256Digest(Buffer.from('something else')) });
    await createSmc('tampered', {
      sourceRef: { kind: 'GitRepository', name: 'tampered' },
      provider: { gcp: { projectId: bad } },
      secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
    });
    const s = await waitStatus('tampered', (x) => cond(x, 'Ready')?.status === 'False');
    expect(cond(s, 'Ready')?.reason).toBe('ArtifactDigestMismatch');
    expect(cond(s, 'Stalled')?.status).toBe('True');
    expect(cond(s, 'SourceReady')?.status).toBe('False');
    expect(s.phase).toBe('Error');
    expect(s.lastSyncTime).toBeUndefined();
    expect(await gcpSecretNames(bad)).toEqual([]);
    const events = await waitFor('a Warning Event', async () => {
      const list = await kube()
        .client(CoreV1Api)
        .listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=tampered' });
      return list.items.length ? list.items : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'ArtifactDigestMismatch' });
    const synced = await kube()
      .client(CoreV1Api)
      .listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=payments' });
    expect(synced.items.map((e) => e.reason)).toContain('Synced');
    // The good SMC is unaffected.
    expect(cond((await smc('payments')).status, 'Ready')?.status).toBe('True');
  });

  it('a wrong SOPS key → Ready=False with the reason, nothing pushed; rotating the key Secret fixes it', async () => {
    const bad = gcp.newProject();
    await kube()
      .client(CoreV1Api)
      .createNamespacedSecret({
        namespace: ns,
        body: {
          metadata: { name: 'wrong-age' },
          stringData: { 'age.agekey': `${await generateX25519Identity()}\n` },
        },
      });
    await createSmc('wrong-key', {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: { gcp: { projectId: bad } },
      secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'wrong-age' } } },
    });
    const s = await waitStatus('wrong-key', (x) => cond(x, 'Ready')?.status === 'False');
    expect(cond(s, 'Ready')?.reason).toMatch(/^Sops(NoMatchingKey|WrongKey)$/);
    expect(cond(s, 'Ready')?.message).toMatch(/application\.secrets\.(env|yaml)/);
    expect(cond(s, 'Ready')?.message).not.toMatch(/AGE-SECRET-KEY/);
    expect(cond(s, 'SourceReady')?.status).toBe('True');
    expect(await gcpSecretNames(bad)).toEqual([]);

    // Rotating the key Secret to the right key triggers a reconcile by itself.
    const t0 = performance.now();
    await kube()
      .client(CoreV1Api)
      .replaceNamespacedSecret({
        namespace: ns,
        name: 'wrong-age',
        body: { metadata: { name: 'wrong-age' }, stringData: { 'age.agekey': demoKey } },
      });
    const fixed = await waitStatus('wrong-key', (x) => x.phase === 'Synced');
    console.log(`e2e: key Secret rotation → Synced in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(cond(fixed, 'Ready')?.status).toBe('True');
    expect(cond(fixed, 'Stalled')?.status).toBe('False');
    expect(await gcpValue(bad, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');
  });
});

describe('Flux GitRepository → SecretManagerConfig → Kubernetes Secret', () => {
  it('writes the Secret in the SMC namespace and reports Synced', async () => {
    await createSmc('app-secrets', {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: { kubernetes: {} },
      secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
    });
    const s = await waitStatus('app-secrets', (x) => x.phase === 'Synced');
    expect(cond(s, 'Ready')?.status).toBe('True');
    const secret = await kube()
      .client(CoreV1Api)
      .readNamespacedSecret({ namespace: ns, name: 'app-secrets' });
    const keys = Object.keys(secret.data ?? {});
    const stripe = keys.find((k) => k.includes('STRIPE_API_KEY'));
    expect(stripe, keys.join(',')).toBeDefined();
    expect(Buffer.from(secret.data![stripe!]!, 'base64').toString('utf8')).toBe('sk_test_demo_51Hx');
    expect(
      await controller.metric('secret_manager_provider_operations_total', { provider: 'kubernetes' }),
    ).toBeGreaterThan(0);
  });
});

describe('two replicas with leader election', () => {
  it('only the leader reconciled; after its SIGTERM the standby takes over without duplicate writes', async () => {
    expect(await standby.metric('secret_manager_reconciliations_total')).toBe(0);
    expect(await standby.metric('secret_manager_provider_operations_total')).toBe(0);
    expect(await controller.stop()).toBe(0); // releases the Lease
    const t0 = performance.now();
    await waitFor(
      'the standby to reconcile',
      async () =>
        (await standby.metric('secret_manager_reconciliations_total', { result: 'skipped' })) >= 2
          ? true
          : undefined,
      { timeoutMs: 20_000, log: () => standby.log() },
    );
    console.log(`e2e: standby took over in ${(performance.now() - t0).toFixed(0)} ms`);
    // The synced SMCs were already up to date: no provider call at all on takeover.
    expect(await standby.metric('secret_manager_provider_operations_total', { provider: 'gcp' })).toBe(0);
    // And the new leader acts on a new revision.
    controller = standby;
    const props = join(tree, PROPS);
    await writeFile(
      props,
      (await readFile(props, 'utf8')).replace('payments.currency=USD', 'payments.currency=GBP'),
    );
    await publish('config', 3);
    await waitFor(
      'the new leader to sync revision 3',
      async () => ((await gcpValue(project0(), 'payments-properties'))?.includes('"GBP"') ? true : undefined),
      { log: () => standby.log() },
    );
  });
});
