/**
 * Resilience end to end: the controller as a separate process (its ServiceAccount, the shipped
 * RBAC) against a kube-apiserver of its own — this file restarts it, so it must not be the run's
 * shared one — and the GCP Secret Manager emulator behind a fault-injecting proxy.
 *  - kube-apiserver restarted mid-run (etcd kept): the controller's watches recover (a revision
 *    published after the restart lands, a new SMC is picked up) and nothing is written twice
 *    (emulator version counts, write operations from /metrics);
 *  - the store throttles (429 RESOURCE_EXHAUSTED) for a while: the controller retries
 *    (`provider_throttled_total` grows), status says so (`Throttled`, phase Error, entries Failed
 *    naming throttling), and once the throttling stops the backoff retry brings it to Synced with
 *    exactly one version per secret.
 * Measured figures are printed, not asserted.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { type KubePeer, startKube } from '../peers/kube/index.js';
import { repoRoot } from '../peers.js';
import { FaultProxy, gcpThrottle } from '../stores/fault-proxy.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { shippedRbacAccess } from './rbac.js';
import { GROUP, VERSION, condition, smcClient } from './smc.js';

const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';
const WRITE_OPS = [
  'CreateSecret',
  'AddSecretVersion',
  'UpdateSecret',
  'DeleteSecret',
  'EnableSecretVersion',
  'DisableSecretVersion',
];

let kube: KubePeer;
let gcp: GcpSecretManagerPeer;
let proxy: FaultProxy;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
let tree: string;
let ns: string;
let smcs: ReturnType<typeof smcClient>;

const commit = (n: number): string => n.toString(16).padStart(40, '0');
const log = (): string => controller.log();

/** Secret name → number of versions, for every secret of `project` (read from the emulator directly). */
async function versionCounts(project: string): Promise<Record<string, number>> {
  const sm = gcp.client();
  const [secrets] = await sm.listSecrets({ parent: `projects/${project}` });
  const out: Record<string, number> = {};
  for (const s of secrets) {
    const [versions] = await sm.listSecretVersions({ parent: s.name! });
    out[s.name!.split('/').pop()!] = versions.length;
  }
  return out;
}

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

async function writeOps(): Promise<number> {
  let n = 0;
  for (const operation of WRITE_OPS)
    n += await controller.metric('secret_manager_provider_operations_total', { operation });
  return n;
}

async function publish(n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', commit(n)) });
  await setFluxArtifact(kube, ref, artifact);
}

async function setCurrency(from: string, to: string): Promise<void> {
  const file = join(tree, PROPS);
  const text = await readFile(file, 'utf8');
  expect(text).toContain(`payments.currency=${from}`);
  await writeFile(file, text.replace(`payments.currency=${from}`, `payments.currency=${to}`));
}

function smcSpec(project: string): Record<string, unknown> {
  return {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
  };
}

/** Ask for a full reconcile (store reads, writes only if needed) and wait until it was handled. */
async function forceReconcile(name: string, token: string) {
  await kube.client(CustomObjectsApi).patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'secretmanagerconfigs',
      name,
      body: { metadata: { annotations: { [`${GROUP}/reconcile`]: token } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  return smcs.waitStatus(
    name,
    (s) => (s as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === token,
  );
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-resilience-'));
  tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  // A cluster of this file's own: restarting the run's shared apiserver would break other files.
  [kube, gcp, artifacts] = await Promise.all([startKube(), startGcpSecretManager(), startArtifactServer()]);
  proxy = await FaultProxy.start(`http://${gcp.endpoint.host}:${gcp.endpoint.port}`);
  ns = await kube.createNamespace('e2e-resilience');
  await kube.client(CoreV1Api).createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: 'sops-age' },
      stringData: { 'age.agekey': await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8') },
    },
  });
  const access = await shippedRbacAccess(kube, ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: proxy.url,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    TMPDIR: scratch,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
  });
  smcs = smcClient(() => kube, ns, log);
  await createFluxSource(kube, { kind: 'GitRepository', namespace: ns, name: 'config' });
  await publish(1);
}, 180_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR && controller)
    await writeFile(join(process.env.E2E_LOG_DIR, 'resilience-controller.log'), controller.log());
  const code = await controller?.stop();
  await Promise.all([proxy?.stop(), gcp?.stop(), artifacts?.stop(), kube?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
}, 60_000);

describe('kube-apiserver restart mid-run', () => {
  it('watches recover: a revision published after the restart lands, with no duplicate write', async () => {
    const project = gcp.newProject();
    await smcs.create('restart', smcSpec(project));
    await smcs.waitStatus('restart', (s) => s.phase === 'Synced');
    const before = await versionCounts(project);
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(5);
    expect(Object.values(before).every((n) => n === 1)).toBe(true);
    const writesBefore = await writeOps();

    const { stoppedAt, readyAt } = await kube.restartApiserver({ downMs: 2_000 });
    console.log(
      `resilience: kube-apiserver down ${(readyAt - stoppedAt).toFixed(0)} ms (2000 ms held down + restart to /readyz)`,
    );
    // Nothing changed in Git: the relists after the restart must not write anything.
    await setCurrency('EUR', 'JPY');
    await publish(2);
    await waitFor(
      'revision 2 in the emulator',
      async () => ((await gcpValue(project, 'payments-properties'))?.includes('"JPY"') ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 50, log },
    );
    const landed = performance.now();
    console.log(
      `resilience: new revision landed ${(landed - readyAt).toFixed(0)} ms after the apiserver was ready again ` +
        `(${(landed - stoppedAt).toFixed(0)} ms after it went down); ` +
        `watch restarts logged: ${(log().match(/watch failed; restarting/g) ?? []).length}`,
    );
    const s = await smcs.waitStatus(
      'restart',
      (x) => x.lastSyncedRevision === gitRevision('main', commit(2)),
    );
    expect(s.phase).toBe('Synced');
    expect(condition(s, 'Ready')?.status).toBe('True');

    // A forced full pass reads the store and writes nothing: so no write is still to come.
    await forceReconcile('restart', 'after-restart-1');
    const after = await versionCounts(project);
    expect(after).toEqual({ ...before, 'payments-properties': before['payments-properties']! + 1 });
    const writes = (await writeOps()) - writesBefore;
    console.log(`resilience: store writes from the restart to the end of the forced pass: ${writes}`);
    expect(writes).toBe(1);

    // The SMC watch recovered too: an SMC created after the restart is reconciled.
    await smcs.create('after-restart', smcSpec(gcp.newProject()));
    await smcs.waitStatus('after-restart', (x) => x.phase === 'Synced', 60_000);
  });
});

describe('the store throttles for a while', () => {
  it('retries, reports Throttled while it lasts, then converges with one version per secret', async () => {
    const project = gcp.newProject();
    // Every write to this project is refused with 429 RESOURCE_EXHAUSTED; reads pass.
    proxy.inject(gcpThrottle((r) => r.method === 'POST' && r.url.includes(`/projects/${project}/`)));
    const throttledBefore = await controller.metric('secret_manager_provider_throttled_total', {
      provider: 'gcp',
    });
    const t0 = performance.now();
    await smcs.create('throttled', smcSpec(project));

    const s = await smcs.waitStatus(
      'throttled',
      (x) => condition(x, 'Ready')?.reason === 'Throttled',
      60_000,
    );
    const ready = condition(s, 'Ready');
    console.log(
      `resilience: while throttled: phase ${s.phase}, Ready=${ready?.status} ${ready?.reason}: ${ready?.message}`,
    );
    expect(s.phase).toBe('Error');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toMatch(/throttled by the provider/);
    expect(condition(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Throttled' });
    expect(condition(s, 'Stalled')?.status).toBe('False');
    expect(s.entries?.length).toBeGreaterThanOrEqual(5);
    for (const e of s.entries ?? []) {
      expect(e.state, e.storeName).toBe('Failed');
      expect(e.message, e.storeName).toMatch(/RESOURCE_EXHAUSTED.*\(throttled\)/);
    }
    expect(JSON.stringify(s)).not.toContain('sk_test_demo_51Hx'); // never a value in status
    expect(await versionCounts(project)).toEqual({});
    // The controller retried: throttled answers were counted, and it keeps retrying.
    const throttled1 = await controller.metric('secret_manager_provider_throttled_total', {
      provider: 'gcp',
    });
    expect(throttled1).toBeGreaterThan(throttledBefore);
    const refused1 = proxy.count(undefined, 'respond');
    await waitFor(
      'another round of retries',
      async () => (proxy.count(undefined, 'respond') > refused1 ? true : undefined),
      { timeoutMs: 30_000, log },
    );

    // The store recovers: the backoff retry converges.
    proxy.clearRules();
    const t1 = performance.now();
    const synced = await smcs.waitStatus('throttled', (x) => x.phase === 'Synced', 90_000);
    const t2 = performance.now();
    const throttled2 = await controller.metric('secret_manager_provider_throttled_total', {
      provider: 'gcp',
    });
    console.log(
      `resilience: throttled for ${(t1 - t0).toFixed(0)} ms: ${proxy.count(undefined, 'respond')} requests refused, ` +
        `secret_manager_provider_throttled_total +${throttled2 - throttledBefore}; ` +
        `Synced ${(t2 - t1).toFixed(0)} ms after the throttling stopped`,
    );
    expect(condition(synced, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    // Synced, but the keys commented out in Git, which are Disabled.
    expect(synced.entries?.every((e) => e.state === 'Synced' || e.state === 'Disabled')).toBe(true);
    const counts = await versionCounts(project);
    expect(Object.keys(counts).sort()).toEqual((synced.entries ?? []).map((e) => e.storeName).sort());
    expect(
      Object.values(counts).every((n) => n === 1),
      JSON.stringify(counts),
    ).toBe(true);
  });
});
