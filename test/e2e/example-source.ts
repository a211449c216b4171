/**
 * The world most controller e2e files start from: a scratch copy of examples/gitops served as the
 * artifact of a Flux GitRepository `config` (test artifact server), the GCP Secret Manager
 * emulator, a fresh namespace holding the demo age key as Secret `sops-age`, and the shipped RBAC
 * bound to the controller's ServiceAccount there. `controllerEnv` is what `startController` needs
 * to run against it, as that ServiceAccount; files add their own settings on top.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  type FluxArtifact,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import type { KubeCluster } from '../peers/kube/cluster.js';
import { repoRoot } from '../peers.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';

export interface ExampleSource {
  /** Private scratch directory (removed by `tearDown`). */
  scratch: string;
  /** The copy of examples/gitops that `publish` serves by default; edit it freely. */
  tree: string;
  namespace: string;
  ref: { kind: 'GitRepository'; namespace: string; name: 'config' };
  gcp: GcpSecretManagerPeer;
  artifacts: ArtifactServer;
  /** KUBECONFIG, the GCP endpoint, no metadata probing, WATCH_NAMESPACES, POD_NAMESPACE, SECRET_POLL_INTERVAL. */
  controllerEnv: Record<string, string>;
  /** Serve `dir` (default: `tree`) as the GitRepository's artifact at `main@sha1:<commit>`. */
  publish(commit: string, dir?: string): Promise<FluxArtifact>;
  /** The latest enabled value of a GCP secret, or undefined when there is none. */
  gcpValue(project: string, secret: string): Promise<string | undefined>;
  /** The names of a GCP project's secrets. */
  gcpSecretNames(project: string): Promise<string[]>;
  /** A spec syncing the example's `dev` profile to GCP project `project`, plus `extra`. */
  spec(project: string, extra?: Record<string, unknown>): Record<string, unknown>;
  tearDown(): Promise<void>;
}

/** A commit id for `n` (40 hex digits), for `publish`. */
export const commit = (n: number): string => n.toString(16).padStart(40, '0');

export async function setUpExampleSource(
  kube: KubeCluster,
  name: string,
  opts: { commit?: string } = {},
): Promise<ExampleSource> {
  const scratch = await mkdtemp(join(tmpdir(), `smc-e2e-${name}-`));
  const tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  const [gcp, artifacts] = await Promise.all([startGcpSecretManager(), startArtifactServer()]);
  const namespace = await kube.createNamespace(`e2e-${name}`);
  await kube.client(CoreV1Api).createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
  });
  const ref = { kind: 'GitRepository' as const, namespace, name: 'config' as const };
  await createFluxSource(kube, ref);
  const publish = async (c: string, dir = tree) => {
    const artifact = await artifacts.publishDirectory(ref, dir, { revision: gitRevision('main', c) });
    await setFluxArtifact(kube, ref, artifact);
    return artifact;
  };
  await publish(opts.commit ?? commit(1));
  const access = await shippedRbacAccess(kube, namespace);
  return {
    scratch,
    tree,
    namespace,
    ref,
    gcp,
    artifacts,
    controllerEnv: {
      KUBECONFIG: access.kubeconfigPath,
      SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
      METADATA_SERVER_DETECTION: 'none',
      WATCH_NAMESPACES: namespace,
      POD_NAMESPACE: namespace,
      // Referenced Secrets (the SOPS key `sops-age`) polled every second: rotations show quickly.
      SECRET_POLL_INTERVAL: '1s',
    },
    publish,
    gcpValue: (project, secret) => gcp.latestValue(project, secret),
    gcpSecretNames: (project) => gcp.secretNames(project),
    spec: (project, extra = {}) => ({
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: { gcp: { projectId: project } },
      secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
      ...extra,
    }),
    async tearDown() {
      await removeShippedRbac(kube, namespace);
      await Promise.all([gcp.stop(), artifacts.stop()]);
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
