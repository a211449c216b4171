/**
 * Application hot reload end to end on the real kube-apiserver: a Git change → the controller (a
 * separate process, its ServiceAccount, the shipped RBAC) → the Kubernetes Secret store → the Secret
 * projected into a directory exactly as the kubelet does (AtomicWriter: timestamped directory,
 * `..data` swap, per-key symlinks) → an application process using `watchSecretDir` and
 * `createReloadable` reloads exactly once with the new value; a re-published unchanged revision
 * reloads nothing. Prints the Git-publish → application-reload latency.
 */
import { cp, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
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
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { type Projection, projectSecret } from './kubelet-projection.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { type ReloadApp, startReloadApp } from './reload-app-process.js';

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';
const SETTLE_MS = 3_000;

let artifacts: ArtifactServer;
let controller: ControllerProcess;
let projection: Projection;
let app: ReloadApp;
let scratch: string;
let tree: string;
let volume: string;
let ns: string;
let key: string;

const commit = (n: number): string => n.toString(16).padStart(40, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publish(n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', commit(n)) });
  await setFluxArtifact(kube(), ref, artifact);
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

async function waitRevision(n: number): Promise<void> {
  const want = gitRevision('main', commit(n));
  await waitFor(
    `the SMC synced at revision ${n}`,
    async () => ((await syncedRevision()) === want ? true : undefined),
    { timeoutMs: 20_000, log: () => controller.log() },
  );
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-app-reload-'));
  tree = join(scratch, 'repo');
  volume = join(scratch, 'volume');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  artifacts = await startArtifactServer();
  ns = await kube().createNamespace('e2e-app-reload');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
    });
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  });
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  await publish(1);
  await smcClient(kube, ns, () => controller.log()).create('app', {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { kubernetes: {} },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
  });
  await waitRevision(1);
  // The Secret volume, kept up to date the way the kubelet does, and the application reading it.
  projection = await projectSecret(kube(), ns, 'app', volume);
  const secret = await kube().client(CoreV1Api).readNamespacedSecret({ namespace: ns, name: 'app' });
  const found = Object.entries(secret.data ?? {}).find(([, v]) =>
    /EUR/.test(Buffer.from(v, 'base64').toString('utf8')),
  );
  if (!found) throw new Error(`no key holds the currency: ${Object.keys(secret.data ?? {}).join(', ')}`);
  key = found[0];
  app = await startReloadApp(volume, key);
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR)
    await writeFile(join(process.env.E2E_LOG_DIR, 'app-reload.log'), controller?.log() ?? '');
  const appCode = await app?.stop();
  await projection?.stop();
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await artifacts?.stop();
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
  expect(appCode).toBe(0);
});

describe('Git change → controller → Kubernetes Secret → kubelet-projected volume → application', () => {
  it('the application starts with the synced value, read through the kubelet layout', async () => {
    const ready = app.events.find((e) => e.event === 'ready')!;
    expect(ready.keys).toContain(key);
    expect(ready.value).toMatch(/EUR/);
    expect(await readlink(join(volume, key))).toBe(join('..data', key));
    expect(await readlink(join(volume, '..data'))).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect(app.reloads()).toEqual([]);
  });

  it('a Git change reloads the application exactly once, with the new value', async () => {
    const props = join(tree, PROPS);
    const text = await readFile(props, 'utf8');
    expect(text).toContain('payments.currency=EUR');
    await writeFile(props, text.replace('payments.currency=EUR', 'payments.currency=USD'));
    const writesBefore = projection.writes.length;
    const t0 = Date.now();
    await publish(2);
    const reload = await app.waitFor(
      'the application to reload with USD',
      (e) => e.event === 'reload' && /USD/.test(e.value ?? ''),
    );
    const latency = reload.at - t0;
    await waitRevision(2);
    await sleep(SETTLE_MS); // any duplicate reload would land here
    expect(app.reloads()).toHaveLength(1);
    // generation 1 is the initial load
    expect(reload).toMatchObject({ ok: true, generation: 2, changed: [key] });
    expect(reload.value).not.toMatch(/EUR/);
    expect(projection.writes.length - writesBefore).toBe(1);
    const write = projection.writes.at(-1)!;
    console.log(
      `e2e: Git publish → application reload ${latency} ms ` +
        `(publish → Secret seen ${write.seenAt - t0} ms, ..data swap → reload ${reload.at - write.swappedAt} ms)`,
    );
    // In that order: the publish reached the Secret, the Secret the volume, the swap the application.
    expect(write.seenAt).toBeGreaterThanOrEqual(t0);
    expect(write.swappedAt).toBeGreaterThanOrEqual(write.seenAt);
    expect(reload.at).toBeGreaterThanOrEqual(write.swappedAt);
  });

  it('a re-published unchanged revision reloads nothing', async () => {
    const writesBefore = projection.writes.length;
    await publish(2); // source-controller re-reports the same artifact
    await sleep(SETTLE_MS);
    expect(await syncedRevision()).toBe(gitRevision('main', commit(2)));
    expect(projection.writes.length).toBe(writesBefore);
    expect(app.reloads()).toHaveLength(1);
  });
});
