/**
 * The shipped RBAC (config/rbac) for a test: the ClusterRole's and Role's rules, copied under
 * names unique to the test and bound to a ServiceAccount in the test's namespace (the shared
 * cluster must not get the real, cluster-scoped names). Returns that ServiceAccount's kubeconfig.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeCluster, ServiceAccountAccess } from '../peers/kube/index.js';
import { repoRoot } from '../peers.js';

async function rulesOf(file: string): Promise<V1PolicyRule[]> {
  const doc = parse(await readFile(join(repoRoot, 'config/rbac', file), 'utf8')) as { rules: V1PolicyRule[] };
  return doc.rules;
}

export async function shippedRbacAccess(
  kube: KubeCluster,
  namespace: string,
  serviceAccount = 'secret-manager-controller',
): Promise<ServiceAccountAccess> {
  const rbac = kube.client(RbacAuthorizationV1Api);
  const name = `smc-e2e-${namespace}`;
  const subject = { kind: 'ServiceAccount', name: serviceAccount, namespace };
  await rbac.createClusterRole({ body: { metadata: { name }, rules: await rulesOf('cluster_role.yaml') } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [subject],
    },
  });
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name }, rules: await rulesOf('role.yaml') },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [subject],
    },
  });
  return kube.serviceAccountKubeconfig(namespace, serviceAccount);
}

export async function removeShippedRbac(kube: KubeCluster, namespace: string): Promise<void> {
  const rbac = kube.client(RbacAuthorizationV1Api);
  const name = `smc-e2e-${namespace}`;
  await Promise.allSettled([rbac.deleteClusterRole({ name }), rbac.deleteClusterRoleBinding({ name })]);
}

/**
 * The optional grant of config/rbac/argocd-repository-secrets.yaml (list Secrets in `namespace`, to
 * find Argo CD's repository Secrets there), bound to the test's controller ServiceAccount.
 */
export async function grantArgoRepositorySecrets(
  kube: KubeCluster,
  namespace: string,
  controllerNamespace: string,
  serviceAccount = 'secret-manager-controller',
): Promise<void> {
  const docs = parseAllDocuments(
    await readFile(join(repoRoot, 'config/rbac/argocd-repository-secrets.yaml'), 'utf8'),
  ).map((d) => d.toJSON() as { kind: string; metadata: { name: string }; rules?: V1PolicyRule[] });
  const role = docs.find((d) => d.kind === 'Role')!;
  const rbac = kube.client(RbacAuthorizationV1Api);
  const name = role.metadata.name;
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: role.rules! } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: controllerNamespace }],
    },
  });
}
