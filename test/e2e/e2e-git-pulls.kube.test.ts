/**
 * `suspendGitPulls` on a Flux GitRepository, end to end with the controller process and the shipped
 * RBAC: the controller sets the source's `spec.suspend: true` (and records that it did), clears it
 * when `suspendGitPulls` goes false, and never undoes a suspend it did not set.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArtifactServer,
  FLUX_SOURCE_GROUP,
  FLUX_SOURCE_VERSION,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { smcClient } from './smc.js';

const kube = useKube();
const ANNOTATION = 'secret-management.octopilot.io/git-pulls-suspended-by';

interface GitRepositoryView {
  metadata: { annotations?: Record<string, string> };
  spec: { suspend?: boolean };
}

let artifacts: ArtifactServer;
let controller: ControllerProcess;
let ns: string;
let scratch: string;
let smcs: ReturnType<typeof smcClient>;

async function gitRepository(name: string): Promise<GitRepositoryView> {
  return (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: FLUX_SOURCE_GROUP,
    version: FLUX_SOURCE_VERSION,
    namespace: ns,
    plural: 'gitrepositories',
    name,
  })) as GitRepositoryView;
}

async function waitSource(name: string, ok: (r: GitRepositoryView) => boolean): Promise<GitRepositoryView> {
  return waitFor(
    `GitRepository ${name}`,
    async () => {
      const r = await gitRepository(name);
      return ok(r) ? r : undefined;
    },
    { log: () => controller.log() },
  );
}

const patchSmc = (name: string, spec: Record<string, unknown>) => smcs.patch(name, { spec });

const waitEvent = (name: string, reason: string) => smcs.waitEvent(name, reason);

/** A GitRepository (optionally already suspended) with a published artifact. */
async function source(name: string, spec: Record<string, unknown> = {}) {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name };
  await createFluxSource(kube(), ref, { spec });
  const tree = join(scratch, name);
  await mkdir(join(tree, 'app/deployment-configuration/profiles/dev'), { recursive: true });
  await writeFile(join(tree, 'app/deployment-configuration/profiles/dev/application.secrets.env'), 'A=1\n');
  const artifact = await artifacts.publishDirectory(ref, tree, {
    revision: gitRevision('main', '1'.repeat(40)),
  });
  await setFluxArtifact(kube(), ref, artifact);
}

function smcSpec(sourceName: string, suspendGitPulls: boolean) {
  return {
    sourceRef: { kind: 'GitRepository', name: sourceName },
    provider: { kubernetes: { secretName: `${sourceName}-secrets` } },
    secrets: { environment: 'dev', allowPlaintext: true }, // a plain fixture
    suspendGitPulls,
  };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-git-pulls-'));
  artifacts = await startArtifactServer();
  ns = await kube().createNamespace('e2e-git-pulls');
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  });
  smcs = smcClient(kube, ns, () => controller.log());
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await artifacts?.stop();
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('suspendGitPulls on a Flux GitRepository', () => {
  it('sets spec.suspend on the source (recording that it did) and clears it again', async () => {
    await source('config');
    await smcs.create('payments', smcSpec('config', true));
    const suspended = await waitSource('config', (r) => r.spec.suspend === true);
    expect(suspended.metadata.annotations?.[ANNOTATION]).toBe(`${ns}/payments`);
    expect((await waitEvent('payments', 'GitPullsSuspended')).message).toContain(
      `GitRepository ${ns}/config`,
    );
    const s = await smcs.waitStatus('payments', (x) => x.phase === 'Synced');
    expect(s.lastSyncedRevision).toBe(gitRevision('main', '1'.repeat(40)));

    await patchSmc('payments', { suspendGitPulls: false });
    const resumed = await waitSource('config', (r) => r.spec.suspend === false);
    expect(resumed.metadata.annotations?.[ANNOTATION]).toBeUndefined();
    await waitEvent('payments', 'GitPullsResumed');
  });

  it('leaves a suspend set by someone else', async () => {
    await source('human', { suspend: true });
    await smcs.create('orders', smcSpec('human', true));
    // Reconciled with suspendGitPulls: true: nothing to suspend, nothing recorded.
    await waitFor(
      'orders reconciled at generation 1',
      async () => ((await smcs.get('orders'))?.status?.phase === 'Synced' ? true : undefined),
      { log: () => controller.log() },
    );
    let r = await gitRepository('human');
    expect(r.spec.suspend).toBe(true);
    expect(r.metadata.annotations?.[ANNOTATION]).toBeUndefined();

    await patchSmc('orders', { suspendGitPulls: false });
    await waitFor(
      'orders reconciled at generation 2',
      async () => {
        const o = (await smcs.get('orders')) as
          | { metadata: { generation: number }; status?: { observedGeneration?: number; phase?: string } }
          | undefined;
        return o?.metadata.generation === 2 && o.status?.observedGeneration === 2 ? true : undefined;
      },
      { log: () => controller.log() },
    );
    r = await gitRepository('human');
    expect(r.spec.suspend).toBe(true);
    expect(r.metadata.annotations?.[ANNOTATION]).toBeUndefined();
    const events = await kube()
      .client(CoreV1Api)
      .listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=orders' });
    expect(events.items.map((e) => e.reason)).not.toContain('GitPullsResumed');
  });

  it('deleting the SMC resumes the source it suspended', async () => {
    await source('billing-src');
    await smcs.create('billing', smcSpec('billing-src', true));
    await waitSource('billing-src', (r) => r.spec.suspend === true);
    await smcs.waitStatus('billing', (x) => x.phase === 'Synced');
    await smcs.delete('billing');
    await smcs.waitGone('billing');
    const r = await waitSource('billing-src', (x) => x.spec.suspend === false);
    expect(r.metadata.annotations?.[ANNOTATION]).toBeUndefined();
  });
});
