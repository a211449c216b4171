/**
 * Flux sources and Argo CD Applications in the test cluster, without running source-controller or
 * Argo CD: create the objects, and set `status.artifact` (plus a Ready condition) through the status
 * subresource exactly as source-controller would after a successful reconcile.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeCluster } from '../kube/cluster.js';
import type { FluxArtifact } from './artifact-server.js';

export const FLUX_SOURCE_GROUP = 'source.toolkit.fluxcd.io';
export const FLUX_SOURCE_VERSION = 'v1';
export const ARGO_GROUP = 'argoproj.io';
export const ARGO_VERSION = 'v1alpha1';

export type FluxSourceKind = 'GitRepository' | 'OCIRepository' | 'Bucket';

const PLURAL: Record<FluxSourceKind, string> = {
  GitRepository: 'gitrepositories',
  OCIRepository: 'ocirepositories',
  Bucket: 'buckets',
};

export interface FluxSourceRef {
  kind: FluxSourceKind;
  namespace: string;
  name: string;
}

type Obj = Record<string, unknown> & { metadata?: { generation?: number; resourceVersion?: string } };

/** Minimal valid spec per kind (the controller only reads status.artifact). */
function defaultSpec(kind: FluxSourceKind, url: string): Record<string, unknown> {
  switch (kind) {
    case 'GitRepository':
      return { url, interval: '1m', ref: { branch: 'main' } };
    case 'OCIRepository':
      return { url, interval: '1m', ref: { tag: 'latest' } };
    case 'Bucket':
      return {
        bucketName: 'config',
        endpoint: url.replace(/^https?:\/\//, ''),
        interval: '1m',
        insecure: true,
      };
  }
}

/** Create a Flux source object; `spec` overrides the minimal defaults. */
export async function createFluxSource(
  kube: KubeCluster,
  ref: FluxSourceRef,
  opts: { url?: string; spec?: Record<string, unknown> } = {},
): Promise<Obj> {
  const url =
    opts.url ??
    (ref.kind === 'OCIRepository' ? 'oci://127.0.0.1:5000/config' : 'http://127.0.0.1:1/config.git');
  return (await kube.client(CustomObjectsApi).createNamespacedCustomObject({
    group: FLUX_SOURCE_GROUP,
    version: FLUX_SOURCE_VERSION,
    namespace: ref.namespace,
    plural: PLURAL[ref.kind],
    body: {
      apiVersion: `${FLUX_SOURCE_GROUP}/${FLUX_SOURCE_VERSION}`,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
      spec: { ...defaultSpec(ref.kind, url), ...opts.spec },
    },
  })) as Obj;
}

export async function getFluxSource(kube: KubeCluster, ref: FluxSourceRef): Promise<Obj> {
  return (await kube.client(CustomObjectsApi).getNamespacedCustomObject({
    group: FLUX_SOURCE_GROUP,
    version: FLUX_SOURCE_VERSION,
    namespace: ref.namespace,
    plural: PLURAL[ref.kind],
    name: ref.name,
  })) as Obj;
}

/**
 * Write `status.artifact` through the status subresource, with `Ready=True` (or `ready: false`
 * and a message, e.g. to test a failing source) and observedGeneration, as source-controller does.
 */
export async function setFluxArtifact(
  kube: KubeCluster,
  ref: FluxSourceRef,
  artifact: FluxArtifact | undefined,
  opts: { ready?: boolean; reason?: string; message?: string } = {},
): Promise<Obj> {
  const current = await getFluxSource(kube, ref);
  const generation = current.metadata?.generation ?? 1;
  const ready = opts.ready ?? true;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const status: Record<string, unknown> = {
    observedGeneration: generation,
    conditions: [
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: opts.reason ?? (ready ? 'Succeeded' : 'GitOperationFailed'),
        message:
          opts.message ??
          (ready && artifact ? `stored artifact for revision '${artifact.revision}'` : 'not ready'),
        lastTransitionTime: now,
        observedGeneration: generation,
      },
    ],
  };
  if (artifact) status.artifact = { ...artifact };
  // JSON patch (client-node's default patch type) replacing the whole status.
  return (await kube.client(CustomObjectsApi).patchNamespacedCustomObjectStatus({
    group: FLUX_SOURCE_GROUP,
    version: FLUX_SOURCE_VERSION,
    namespace: ref.namespace,
    plural: PLURAL[ref.kind],
    name: ref.name,
    body: [{ op: 'add', path: '/status', value: status }],
  })) as Obj;
}

/** `main@sha1:<commit>`: the revision format of a Flux GitRepository artifact. */
export function gitRevision(branch: string, commit: string): string {
  return `${branch}@sha1:${commit}`;
}

export interface ArgoApplicationSpec {
  repoURL: string;
  path?: string;
  targetRevision?: string;
  /** The Application's namespace is where Argo CD runs (argocd); any namespace works here. */
  destinationNamespace?: string;
}

/**
 * Create an Argo CD Application (no status subresource in its CRD: status is part of the object).
 * `syncedRevision` sets status.sync.revision/status (Synced) as Argo CD would after a sync.
 */
export async function createArgoApplication(
  kube: KubeCluster,
  namespace: string,
  name: string,
  spec: ArgoApplicationSpec,
  opts: { syncedRevision?: string } = {},
): Promise<Obj> {
  const body: Record<string, unknown> = {
    apiVersion: `${ARGO_GROUP}/${ARGO_VERSION}`,
    kind: 'Application',
    metadata: { name, namespace },
    spec: {
      project: 'default',
      source: {
        repoURL: spec.repoURL,
        path: spec.path ?? '.',
        targetRevision: spec.targetRevision ?? 'HEAD',
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: spec.destinationNamespace ?? namespace,
      },
    },
  };
  if (opts.syncedRevision) {
    body.status = {
      sync: {
        status: 'Synced',
        revision: opts.syncedRevision,
        comparedTo: {
          source: (body.spec as { source: unknown }).source,
          destination: (body.spec as { destination: unknown }).destination,
        },
      },
    };
  }
  return (await kube.client(CustomObjectsApi).createNamespacedCustomObject({
    group: ARGO_GROUP,
    version: ARGO_VERSION,
    namespace,
    plural: 'applications',
    body,
  })) as Obj;
}
