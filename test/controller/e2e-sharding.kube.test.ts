/**
 * Sharding end to end (SPEC §3, last bullet): two controller processes side by side (each its
 * ServiceAccount with the shipped RBAC, no leader election), one with `SHARD_KEY=a`, one the default
 * shard, against SMCs labelled `sharding.secret-management.octopilot.io/key: a`, unlabelled, and
 * labelled `b` (a shard nobody runs). Each SMC is reconciled by exactly the replica of its shard —
 * its status, the replica's `secrets_managed`, its own GCP project — `b` by none (no finalizer, no
 * status, nothing in its project); relabelling moves an SMC from one replica to the other, and a new
 * revision is then synced by the new owner alone.
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
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { type ControllerProcess, startController, waitFor } from './e2e/controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './e2e/rbac.js';
import { GROUP, VERSION, smcClient } from './e2e/smc.js';

const kube = useKube();
const SHARD_LABEL = 'sharding.secret-management.octopilot.io/key';
const FINALIZER = 'secret-management.octopilot.io/finalizer';
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';

let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
/** `SHARD_KEY=a`, and the default shard. */
let shardA: ControllerProcess;
let main: ControllerProcess;
let scratch: string;
let tree: string;
let ns: string;
let smcs: ReturnType<typeof smcClient>;
const projects: Record<string, string> = {};

const log = (): string => `--- shard a ---\n${shardA.log()}\n--- default shard ---\n${main.log()}`;
const rev = (n: number): string => gitRevision('main', n.toString(16).padStart(40, '0'));

function spec(project: string) {
  return {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
  };
}

async function createSmc(name: string, shard: string | undefined): Promise<void> {
  projects[name] = gcp.newProject();
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
        metadata: { name, namespace: ns, ...(shard ? { labels: { [SHARD_LABEL]: shard } } : {}) },
        spec: spec(projects[name]),
      },
    });
}

/** Set (or, with null, remove) the shard label. */
async function relabel(name: string, shard: string | null): Promise<void> {
  await kube()
    .client(CustomObjectsApi)
    .patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'secretmanagerconfigs',
        name,
        body: { metadata: { labels: { [SHARD_LABEL]: shard } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

async function gcpSecretNames(project: string): Promise<string[]> {
  const [list] = await gcp.client().listSecrets({ parent: `projects/${project}` });
  return list.map((s) => s.name!.split('/').pop()!);
}

async function gcpValue(project: string, secret: string): Promise<string | undefined> {
  try {
    const [v] = await gcp
      .client()
      .accessSecretVersion({ name: `projects/${project}/secrets/${secret}/versions/latest` });
    return Buffer.from(v.payload!.data as Uint8Array).toString('utf8');
  } catch {
    return undefined;
  }
}

/** `secret_manager_secrets_managed` of one SMC on one replica (0: the replica does not own it). */
function managed(replica: ControllerProcess, name: string): Promise<number> {
  return replica.metric('secret_manager_secrets_managed', { namespace: ns, name });
}

/** Wait until exactly `owner` reports `name` as managed and `other` does not. */
async function waitOwner(name: string, owner: ControllerProcess, other: ControllerProcess): Promise<number> {
  return waitFor(
    `${name} to be managed by its shard's replica only`,
    async () => {
      const [mine, theirs] = await Promise.all([managed(owner, name), managed(other, name)]);
      return mine > 0 && theirs === 0 ? mine : undefined;
    },
    { log, timeoutMs: 30_000 },
  );
}

async function publish(n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: rev(n) });
  await setFluxArtifact(kube(), ref, artifact);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-sharding-'));
  tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  [gcp, artifacts] = await Promise.all([startGcpSecretManager(), startArtifactServer()]);
  ns = await kube().createNamespace('e2e-sharding');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
    });
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  await publish(1);
  const access = await shippedRbacAccess(kube(), ns);
  const env = {
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  };
  [shardA, main] = await Promise.all([startController({ ...env, SHARD_KEY: 'a' }), startController(env)]);
  smcs = smcClient(kube, ns, log);
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR) {
    await writeFile(join(process.env.E2E_LOG_DIR, 'sharding-a.log'), shardA?.log() ?? '');
    await writeFile(join(process.env.E2E_LOG_DIR, 'sharding-default.log'), main?.log() ?? '');
  }
  const codes = await Promise.all([shardA?.stop(), main?.stop()]);
  await removeShippedRbac(kube(), ns);
  await Promise.all([gcp?.stop(), artifacts?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(codes).toEqual([0, 0]);
});

describe('two shards side by side', () => {
  it('each SMC is reconciled by its shard’s replica alone; shard b by none', async () => {
    // `b` first: by the time the others are synced, both replicas have seen it (one watch stream
    // per replica delivers the namespace's SMCs in order).
    await createSmc('in-b', 'b');
    await createSmc('in-a', 'a');
    await createSmc('plain', undefined);
    const a = await smcs.waitStatus('in-a', (s) => s.phase === 'Synced');
    const p = await smcs.waitStatus('plain', (s) => s.phase === 'Synced');
    expect(a.lastSyncedRevision).toBe(rev(1));
    expect(p.lastSyncedRevision).toBe(rev(1));
    expect(await waitOwner('in-a', shardA, main)).toBe(a.secretsCount);
    expect(await waitOwner('plain', main, shardA)).toBe(p.secretsCount);
    expect(await gcpValue(projects['in-a']!, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');
    expect(await gcpValue(projects.plain!, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');

    const b = await smcs.get('in-b');
    expect(b?.status).toBeUndefined();
    expect(b?.metadata.finalizers ?? []).not.toContain(FINALIZER);
    expect(await gcpSecretNames(projects['in-b']!)).toEqual([]);
    expect(await managed(shardA, 'in-b')).toBe(0);
    expect(await managed(main, 'in-b')).toBe(0);
    // Both replicas took their own and nothing else.
    expect((await smcs.get('in-a'))?.metadata.finalizers).toContain(FINALIZER);
    expect((await smcs.get('plain'))?.metadata.finalizers).toContain(FINALIZER);
  });

  it('relabelling moves an SMC: b → a is taken by shard a, unlabelled → a leaves the default shard', async () => {
    await relabel('in-b', 'a');
    const b = await smcs.waitStatus('in-b', (s) => s.phase === 'Synced');
    expect(await waitOwner('in-b', shardA, main)).toBe(b.secretsCount);
    expect(await gcpValue(projects['in-b']!, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');

    // Already synced at this revision: the new owner finds nothing to do (no provider call).
    const callsA = await shardA.metric('secret_manager_provider_operations_total');
    await relabel('plain', 'a');
    await waitOwner('plain', shardA, main);
    expect(await shardA.metric('secret_manager_provider_operations_total')).toBe(callsA);

    // A new revision is synced by shard a for all three; the default shard, owning none, calls nothing.
    const callsMain = await main.metric('secret_manager_provider_operations_total');
    const props = join(tree, PROPS);
    await writeFile(
      props,
      (await readFile(props, 'utf8')).replace('payments.currency=EUR', 'payments.currency=SEK'),
    );
    await publish(2);
    for (const name of ['in-a', 'in-b', 'plain']) {
      await smcs.waitStatus(name, (s) => s.lastSyncedRevision === rev(2) && s.phase === 'Synced');
      expect(await gcpValue(projects[name]!, 'payments-properties'), name).toContain('"SEK"');
    }
    expect(await shardA.metric('secret_manager_provider_operations_total')).toBeGreaterThan(callsA);
    expect(await main.metric('secret_manager_provider_operations_total')).toBe(callsMain);
  });

  it('removing the label hands an SMC back to the default shard', async () => {
    await relabel('in-a', null);
    await waitOwner('in-a', main, shardA);
    // The default shard acts on it: a reconcile request is handled by its replica.
    const handledBefore = await main.metric('secret_manager_reconciliations_total');
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'secretmanagerconfigs',
          name: 'in-a',
          body: { metadata: { annotations: { [`${GROUP}/reconcile`]: 'sharding-1' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await smcs.waitStatus(
      'in-a',
      (s) => (s as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'sharding-1',
    );
    expect(await main.metric('secret_manager_reconciliations_total')).toBeGreaterThan(handledBefore);
  });

  it('settings hot reload follows the SMCs of the replica’s own shard', async () => {
    await kube()
      .client(CoreV1Api)
      .createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'secret-manager-controller-config' }, data: { log_level: 'debug' } },
      });
    // in-b is in shard a now: only that replica watches and applies the settings ConfigMap.
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'secretmanagerconfigs',
          name: 'in-b',
          body: { spec: { hotReload: { enabled: true } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await smcs.waitStatus(
      'in-b',
      (s) => !!(s as { hotReload?: { configMap?: { appliedAt?: string } } }).hotReload?.configMap?.appliedAt,
    );
    expect(await shardA.metric('secret_manager_config_reloads_total', { result: 'applied' })).toBeGreaterThan(
      0,
    );
    // The default shard has seen that change too (it handled a later request on its own SMC) and
    // did not follow it.
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'secretmanagerconfigs',
          name: 'in-a',
          body: { metadata: { annotations: { [`${GROUP}/reconcile`]: 'sharding-2' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await smcs.waitStatus(
      'in-a',
      (s) => (s as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'sharding-2',
    );
    expect(await main.metric('secret_manager_config_reloads_total')).toBe(0);
  });
});
