/**
 * SecretManagerConfig helpers for the e2e tests: create, read, patch, request a reconcile, delete,
 * wait for a status.
 */
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFluxSource } from '../peers/gitops/index.js';
import type { KubeCluster } from '../peers/kube/index.js';
import { repoRoot } from '../peers.js';
import { WAIT_TIMEOUT_MS, waitFor } from './controller-process.js';

export const GROUP = 'secret-management.octopilot.io';
export const VERSION = 'v1beta1';
const PLURAL = 'secretmanagerconfigs';

export interface SmcCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface SmcStatusView {
  phase?: string;
  conditions?: SmcCondition[];
  lastSyncTime?: string;
  lastSyncedRevision?: string;
  secretsCount?: number;
  entries?: { key: string; storeName: string; state: string; message?: string }[];
}

export interface SmcView {
  metadata: { name: string; generation: number; finalizers?: string[]; deletionTimestamp?: string };
  status?: SmcStatusView;
}

export function smcClient(kube: () => KubeCluster, namespace: string, log: () => string) {
  const api = () => kube().client(CustomObjectsApi);
  const ref = (name: string) => ({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
  return {
    async create(
      name: string,
      spec: Record<string, unknown>,
      annotations: Record<string, string> = {},
      labels: Record<string, string> = {},
    ) {
      await api().createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'SecretManagerConfig',
          metadata: { name, namespace, annotations, labels },
          spec,
        },
      });
    },
    /** The object, or undefined when it does not exist (any more). */
    async get(name: string): Promise<SmcView | undefined> {
      try {
        return (await api().getNamespacedCustomObject(ref(name))) as SmcView;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    /** A JSON merge patch of the object (`null` removes a key). */
    async patch(name: string, body: Record<string, unknown>) {
      await api().patchNamespacedCustomObject(
        { ...ref(name), body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    /** Ask for a reconcile (`secret-management.octopilot.io/reconcile: token`). */
    async requestReconcile(name: string, token: string) {
      await this.patch(name, { metadata: { annotations: { [`${GROUP}/reconcile`]: token } } });
    },
    /** Ask for a reconcile and wait until the controller records it as handled; returns that status. */
    async reconcileAndWait(name: string, token: string): Promise<SmcStatusView> {
      await this.requestReconcile(name, token);
      return this.waitStatus(
        name,
        (x) => (x as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === token,
      );
    },
    /** Wait for an Event with `reason` on the SMC; returns the first. */
    async waitEvent(name: string, reason: string): Promise<CoreV1Event> {
      return waitFor(
        `Event ${reason} on ${name}`,
        async () => {
          const list = await kube()
            .client(CoreV1Api)
            .listNamespacedEvent({
              namespace,
              fieldSelector: `involvedObject.name=${name},reason=${reason}`,
            });
          return list.items[0];
        },
        { log },
      );
    },
    async delete(name: string) {
      await api().deleteNamespacedCustomObject(ref(name));
    },
    async waitStatus(name: string, ok: (s: SmcStatusView) => boolean, timeoutMs = WAIT_TIMEOUT_MS) {
      return waitFor(
        `status of ${name}`,
        async () => {
          const s = (await api().getNamespacedCustomObject(ref(name))) as SmcView;
          return s.status && ok(s.status) ? s.status : undefined;
        },
        { timeoutMs, log },
      );
    },
    async waitGone(name: string, timeoutMs = WAIT_TIMEOUT_MS) {
      return waitFor(
        `${name} to be deleted`,
        async () => ((await this.get(name)) === undefined ? true : undefined),
        { timeoutMs, log },
      );
    },
  };
}

export function condition(s: SmcStatusView | undefined, type: string): SmcCondition | undefined {
  return s?.conditions?.find((c) => c.type === type);
}

/**
 * What a fleet shares (bench/fleet.ts, test/e2e/memory-cap.kube.test.ts): a copy of the example
 * repository at `tree` (published by the caller), the `sops-age` key Secret with the demo key, and
 * the Flux GitRepository `config` in `namespace`. Returns the source's reference.
 */
export async function createFleetSource(kube: KubeCluster, core: CoreV1Api, namespace: string, tree: string) {
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'sops-age' },
      stringData: { 'age.agekey': await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8') },
    },
  });
  const ref = { kind: 'GitRepository' as const, namespace, name: 'config' };
  await createFluxSource(kube, ref);
  return ref;
}

/**
 * One SMC of a fleet (bench/fleet.ts, test/e2e/memory-cap.kube.test.ts): it reads the shared Flux
 * GitRepository `config`, the `dev` profile with the `sops-age` key, and writes its own Kubernetes
 * Secret `<name>-secrets`.
 */
export function createFleetSmc(custom: CustomObjectsApi, namespace: string, name: string) {
  return custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'SecretManagerConfig',
      metadata: { name },
      spec: {
        sourceRef: { kind: 'GitRepository', name: 'config' },
        provider: { kubernetes: { secretName: `${name}-secrets` } },
        secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
      },
    },
  });
}
