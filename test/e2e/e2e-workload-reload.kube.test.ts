/**
 * Workload notification (docs/hot-reload.md) end to end on the real kube-apiserver, the controller running
 * as a separate process with its ServiceAccount and the shipped RBAC: Git change → Kubernetes Secret
 * store → an annotated Deployment's pod template changes exactly once for a burst of three quick
 * changes, not at all for an unchanged revision; the `http` strategy POSTs a ready pod's endpoint
 * (a local server) and never a non-ready pod's.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { smcClient } from './smc.js';
import { repoRoot } from '../peers.js';
import { contentDigest } from '../../src/reload/workloads/index.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import {
  type ReloadServer,
  createDeployment,
  createPod,
  readDeployment,
  startReloadServer,
} from './workloads.js';

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';
const RESTARTED_FOR = `${GROUP}/restartedFor`;
/** Long enough for three syncs in a row on a loaded machine (the burst below must land in one window). */
const WINDOW_MS = 6_000;

let artifacts: ArtifactServer;
let controller: ControllerProcess;
let server: ReloadServer;
let scratch: string;
let tree: string;
let ns: string;

const commit = (n: number): string => n.toString(16).padStart(40, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publish(n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', commit(n)) });
  await setFluxArtifact(kube(), ref, artifact);
}

async function setCurrency(from: string, to: string): Promise<void> {
  const props = join(tree, PROPS);
  const text = await readFile(props, 'utf8');
  expect(text).toContain(`payments.currency=${from}`);
  await writeFile(props, text.replace(`payments.currency=${from}`, `payments.currency=${to}`));
}

async function syncedRevision(): Promise<string | undefined> {
  const o = (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: 'v1beta1',
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name: 'app',
  })) as { status?: { lastSyncedRevision?: string; phase?: string } };
  return o.status?.phase === 'Synced' ? o.status.lastSyncedRevision : undefined;
}

interface SmcStatus {
  lastSyncedRevision?: string;
  entries?: { key: string; storeName: string; kind: string; version?: string }[];
  hotReload?: { lastWorkloadReload?: string; workloadsNotified?: string[] };
}
async function smcStatus(): Promise<SmcStatus> {
  const o = (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: 'v1beta1',
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name: 'app',
  })) as { status?: SmcStatus };
  return o.status ?? {};
}

async function waitRevision(n: number): Promise<void> {
  const want = gitRevision('main', commit(n));
  await waitFor(
    'the SMC synced at the revision',
    async () => ((await syncedRevision()) === want ? true : undefined),
    {
      timeoutMs: 20_000,
      log: () => controller.log(),
    },
  );
}

async function web() {
  const d = await readDeployment(kube(), ns, 'web');
  return {
    generation: d.metadata?.generation ?? 0,
    annotation: d.spec?.template.metadata?.annotations?.[RESTARTED_FOR],
  };
}

const reloads = (result: string, strategy = 'restart') =>
  controller.metric('secret_manager_workload_reloads_total', { strategy, result });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-workloads-'));
  tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  [artifacts, server] = await Promise.all([startArtifactServer(), startReloadServer()]);
  ns = await kube().createNamespace('e2e-workloads');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
    });

  // Opted-in workloads, created before the SMC; and one that is not opted in.
  await createDeployment(kube(), ns, 'web', { [`${GROUP}/reload`]: 'other, app' });
  await createDeployment(kube(), ns, 'api', {
    [`${GROUP}/reload`]: 'app',
    [`${GROUP}/reload-strategy`]: 'http',
    [`${GROUP}/reload-http`]: `${server.port}/-/reload`,
  });
  await createDeployment(kube(), ns, 'bystander', {});
  await createPod(kube(), ns, 'api-ready', 'api', { podIP: '127.0.0.1', ready: true });
  await createPod(kube(), ns, 'api-starting', 'api', { podIP: '127.0.0.2', ready: false });

  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
    WORKLOAD_RELOAD_WINDOW_MS: String(WINDOW_MS),
  });
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  await publish(1);
  await smcClient(kube, ns, () => controller.log()).create('app', {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { kubernetes: {} },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
  });
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR)
    await writeFile(join(process.env.E2E_LOG_DIR, 'workloads.log'), controller?.log() ?? '');
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await Promise.all([artifacts?.stop(), server?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('workload notification after a sync that changed values', () => {
  it('the first sync rolls the annotated Deployment once and POSTs only the ready pod', async () => {
    await waitRevision(1);
    const first = await waitFor(
      'the pod-template annotation',
      async () => ((await web()).annotation ? web() : undefined),
      { timeoutMs: WINDOW_MS + 10_000, log: () => controller.log() },
    );
    expect(first.annotation).toMatch(/^app@sha256:[0-9a-f]{32}$/);
    expect(first.generation).toBe(2);
    await waitFor('the reload POST', async () => (server.requests.length ? true : undefined), {
      log: () => controller.log(),
    });
    await sleep(500);
    expect(server.requests).toEqual(['POST 127.0.0.1 /-/reload']); // never 127.0.0.2 (not Ready)
    expect(await reloads('success', 'http')).toBe(1);
    expect(await reloads('success')).toBe(1);
    // Not opted in: untouched.
    expect((await readDeployment(kube(), ns, 'bystander')).metadata?.generation).toBe(1);
    // Reported on the SMC as Events.
    const events = await kube()
      .client(CoreV1Api)
      .listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=app' });
    expect(events.items.map((e) => e.reason)).toContain('WorkloadReloaded');
    // The digest is of revision and versions, never of a value.
    const secret = await kube().client(CoreV1Api).readNamespacedSecret({ namespace: ns, name: 'app' });
    for (const v of Object.values(secret.data ?? {})) expect(first.annotation).not.toContain(v);
    await waitFor(
      'status.hotReload',
      async () => ((await smcStatus()).hotReload?.workloadsNotified?.length === 2 ? true : undefined),
      { log: () => controller.log() },
    );
    expect((await smcStatus()).hotReload).toMatchObject({
      lastWorkloadReload: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      workloadsNotified: ['Deployment/api', 'Deployment/web'],
    });
  });

  it('a burst of three quick Git changes changes the pod template exactly once, with the latest digest', async () => {
    const before = await web();
    const postsBefore = server.requests.length;
    const t0 = Date.now();
    await setCurrency('EUR', 'USD');
    await publish(2);
    await waitRevision(2);
    await setCurrency('USD', 'GBP');
    await publish(3);
    await waitRevision(3);
    await setCurrency('GBP', 'JPY');
    await publish(4);
    await waitRevision(4);
    console.log(`e2e: three revisions synced in ${Date.now() - t0} ms (window ${WINDOW_MS} ms)`);
    // All three landed in one window: the template has not rolled yet (on a machine too loaded to
    // sync three revisions within WINDOW_MS this fails here, saying so, not at the count below).
    expect((await web()).generation, 'pod template rolled before the third revision synced').toBe(
      before.generation,
    );
    const after = await waitFor(
      'the rolled pod template',
      async () => {
        const w = await web();
        return w.generation !== before.generation ? w : undefined;
      },
      { timeoutMs: WINDOW_MS + 10_000, log: () => controller.log() },
    );
    // Settle past another window: still exactly one change.
    await sleep(WINDOW_MS + 1_000);
    const settled = await web();
    expect(settled.generation).toBe(before.generation + 1);
    expect(settled.annotation).toBe(after.annotation);
    expect(settled.annotation).not.toBe(before.annotation);
    expect(server.requests.length - postsBefore).toBe(1);
    expect(await reloads('success')).toBe(2);
    // The digest carried is the latest sync's (revision 4 and its entry versions).
    const s = await smcStatus();
    expect(s.lastSyncedRevision).toBe(gitRevision('main', commit(4)));
    expect(settled.annotation).toBe(`app@${contentDigest(s.lastSyncedRevision, s.entries)}`);
    expect(s.hotReload?.workloadsNotified).toEqual(['Deployment/api', 'Deployment/web']);
    expect(Date.parse(s.hotReload!.lastWorkloadReload!)).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000);
  });

  it('an unchanged revision reloads nothing', async () => {
    const before = await web();
    const postsBefore = server.requests.length;
    await publish(4); // source-controller re-reports the same artifact
    await sleep(WINDOW_MS + 1_500);
    expect(await web()).toEqual(before);
    expect(server.requests.length).toBe(postsBefore);
    expect(await reloads('success')).toBe(2);
    expect(await reloads('success', 'http')).toBe(2);
    // The reconcile's own status write left the notifier's fields alone.
    expect((await smcStatus()).hotReload?.workloadsNotified).toEqual(['Deployment/api', 'Deployment/web']);
  });
});
