/**
 * Smoke test of the Kubernetes peer: a real kube-apiserver + etcd (scripts/peers kube, etcd),
 * exercised through @kubernetes/client-node and kubectl.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1ConfigMap,
  Watch,
} from '@kubernetes/client-node';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, API_VERSION_NAME, CRD_NAME, KIND, PLURAL } from '../../src/api/index.js';
import { PeerStartError, startKube, statusOf } from '../peers/kube/index.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();

/** The Status message of a client-node ApiException (its body is the Status JSON). */
function messageOf(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
    if (status?.message) return status.message;
  } catch {
    /* not JSON */
  }
  return String(body ?? err);
}

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('kube-apiserver peer', () => {
  it('serves the pinned version, and kubectl talks to it', async () => {
    const out = JSON.parse(await kube().kubectl(['version', '-o', 'json'])) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(out.serverVersion.gitVersion).toBe(kube().info.versions.kube);
    expect(out.clientVersion.gitVersion).toBe(kube().info.versions.kube);
    expect(kube().server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('has our CRD and the Flux source and Argo CD Application CRDs Established', async () => {
    expect(kube().info.crds).toEqual(
      expect.arrayContaining([
        CRD_NAME,
        'gitrepositories.source.toolkit.fluxcd.io',
        'ocirepositories.source.toolkit.fluxcd.io',
        'buckets.source.toolkit.fluxcd.io',
        'applications.argoproj.io',
      ]),
    );
    const resources = await kube().kubectl(['api-resources', '--no-headers', '-o', 'name']);
    expect(resources.split('\n')).toEqual(
      expect.arrayContaining([
        `${PLURAL}.${API_GROUP}`,
        'gitrepositories.source.toolkit.fluxcd.io',
        'applications.argoproj.io',
      ]),
    );
  });

  it('creates and reads a ConfigMap', async () => {
    const ns = await kube().createNamespace('smoke-cm');
    const core = kube().client(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'settings' }, data: { a: '1' } },
    });
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'settings' });
    expect(cm.data).toEqual({ a: '1' });
    expect(cm.metadata?.uid).toBeTruthy();
  });

  it('applies CRD defaults to a valid SecretManagerConfig and refuses an invalid one with the CEL message', async () => {
    const ns = await kube().createNamespace('smoke-smc');
    const api = kube().client(CustomObjectsApi);
    const target = { group: API_GROUP, version: API_VERSION_NAME, namespace: ns, plural: PLURAL };
    await api.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: 'payments' },
        spec: {
          sourceRef: { name: 'platform-config' },
          provider: { gcp: { projectId: 'my-project' } },
          secrets: { environment: 'prod' },
        },
      },
    });
    const got = (await api.getNamespacedCustomObject({ ...target, name: 'payments' })) as {
      spec: {
        sourceRef: { kind?: string };
        provider: { gcp: { auth?: unknown } };
        secrets: { sops?: unknown };
        configs?: unknown;
        reconcileInterval?: string;
        deletionPolicy?: string;
      };
    };
    expect(got.spec.sourceRef.kind).toBe('GitRepository');
    expect(got.spec.provider.gcp.auth).toEqual({ type: 'workloadIdentity' });
    expect(got.spec.secrets.sops).toEqual({ enabled: true });
    expect(got.spec.configs).toEqual({ enabled: false, store: 'SecretManager' });
    expect(got.spec.reconcileInterval).toBe('1m');
    expect(got.spec.deletionPolicy).toBe('Retain');

    const err = await api
      .createNamespacedCustomObject({
        ...target,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name: 'two-providers' },
          spec: {
            sourceRef: { name: 'platform-config' },
            provider: { gcp: { projectId: 'my-project' }, aws: { region: 'eu-central-1' } },
            secrets: { environment: 'prod' },
          },
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(statusOf(err)).toBe(422);
    expect(messageOf(err)).toContain('exactly one of gcp, aws, azure or kubernetes must be set');
  });

  it('delivers a change to a watch', async () => {
    const ns = await kube().createNamespace('smoke-watch');
    const core = kube().client(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'w' }, data: { v: '1' } },
    });
    const seen: { type: string; v: string | undefined }[] = [];
    let resolveSeen!: () => void;
    const modified = new Promise<void>((r) => (resolveSeen = r));
    const watch = new Watch(kube().kubeConfig());
    const ac = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { fieldSelector: 'metadata.name=w' },
      (type, obj: V1ConfigMap) => {
        seen.push({ type, v: obj.data?.v });
        if (type === 'MODIFIED' && obj.data?.v === '2') resolveSeen();
      },
      () => {},
    );
    try {
      // The watch starts with the current state (ADDED); then change it.
      await eventually(async () => expect(seen.length).toBeGreaterThan(0), 5_000);
      await core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'w',
        body: { metadata: { name: 'w' }, data: { v: '2' } },
      });
      await Promise.race([
        modified,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`no MODIFIED event; saw ${JSON.stringify(seen)}`)), 10_000),
        ),
      ]);
    } finally {
      ac.abort();
    }
    expect(seen[0]).toEqual({ type: 'ADDED', v: '1' });
    expect(seen).toContainEqual({ type: 'MODIFIED', v: '2' });
  });

  it('authenticates a ServiceAccount token: 403 without RBAC, 200 after a RoleBinding', async () => {
    const ns = await kube().createNamespace('smoke-rbac');
    const sa = await kube().serviceAccountKubeconfig(ns, 'controller');
    expect(sa.username).toBe(`system:serviceaccount:${ns}:controller`);
    const asSa = sa.kubeConfig().makeApiClient(CoreV1Api);

    const denied = await asSa.listNamespacedConfigMap({ namespace: ns }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(denied)).toBe(403);
    expect(messageOf(denied)).toContain(
      `"system:serviceaccount:${ns}:controller" cannot list resource "configmaps"`,
    );

    const rbac = kube().client(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'read-configmaps' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'controller-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
        subjects: [{ kind: 'ServiceAccount', name: 'controller', namespace: ns }],
      },
    });
    // The RBAC authorizer reads through an informer: allow it a moment to see the binding.
    const list = await eventually(() => asSa.listNamespacedConfigMap({ namespace: ns }));
    expect(list.items).toBeInstanceOf(Array);
    // Still nothing outside the granted scope.
    const other = await asSa.listNamespacedSecret({ namespace: ns }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(other)).toBe(403);
    // kubectl with the ServiceAccount's kubeconfig is subject to the same rules.
    expect(
      await kube().kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', ns], {
        kubeconfigPath: sa.kubeconfigPath,
      }),
    ).toBe('yes\n');
  });

  it('fails fast, naming the peer and its log, when a peer cannot start', async () => {
    const err = await startKube({ crds: false, apiserverArgs: ['--no-such-flag'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PeerStartError);
    const e = err as PeerStartError;
    expect(e.peer).toBe('kube-apiserver');
    expect(e.logPath).toMatch(/kube-apiserver\.log$/);
    expect(e.message).toContain('unknown flag: --no-such-flag');
    // Fast: on the process's exit, not at the readiness deadline.
    expect(e.message).toMatch(/process exited/);
    expect(e.message).not.toMatch(/not ready after/);
    await rm(dirname(e.logPath!), { recursive: true, force: true }); // kept on failure for the log
  });
});
