/**
 * The shipped manifests (config/) against the real kube-apiserver: the kustomize base builds and the
 * apiserver accepts every object (server-side dry run, strict field validation); the controller pod
 * passes the `restricted` Pod Security Standard; the ClusterRole has no wildcards; the settings
 * ConfigMap and docs/operations.md list exactly SETTING_KEYS at their defaults; and, with the RBAC
 * applied for real, the controller's ServiceAccount can do every operation the controller needs
 * and nothing dangerous (checked with SelfSubjectAccessReviews and real requests).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  RbacAuthorizationV1Api,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTING_KEYS, defaultSettings, parseSettings } from '../../src/controller/settings.js';
import { repoRoot, statusOf } from '../peers/kube/index.js';
import { useKube } from '../peers/kube/use.js';

const run = promisify(execFile);
const kube = useKube();

const CONTROLLER_NS = 'secret-manager-controller-system';
const SA = 'secret-manager-controller';
const LEASE = 'secret-manager-controller-leader';
const SETTINGS_CM = 'secret-manager-controller-config';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are untyped YAML
type Obj = Record<string, any>;

async function kustomizeBuild(dir: string): Promise<Obj[]> {
  const { stdout: bin } = await run(join(repoRoot, 'scripts/peers'), ['path', 'kustomize']);
  const { stdout } = await run(bin.trim(), ['build', join(repoRoot, dir)], { maxBuffer: 64 << 20 });
  return parseAllDocuments(stdout).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as Obj;
  });
}

const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} in the build`);
  return o;
};

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
]);

/** The build moved into namespace `ns` (objects, binding subjects and the Namespace object itself). */
function intoNamespace(objs: Obj[], ns: string): Obj[] {
  return structuredClone(objs).map((o) => {
    if (o.kind === 'Namespace') o.metadata.name = ns;
    else if (!CLUSTER_SCOPED.has(o.kind as string)) o.metadata.namespace = ns;
    for (const s of (o.subjects ?? []) as Obj[]) if (s.kind === 'ServiceAccount') s.namespace = ns;
    return o;
  });
}

const toYaml = (objs: Obj[]) => objs.map((o) => stringify(o)).join('---\n');

let build: Obj[];
let ns: string;
let other: string;
let suffix: string;
let sa: KubeConfig;

beforeAll(async () => {
  build = await kustomizeBuild('config');
  suffix = randomBytes(4).toString('hex');
  ns = await kube().createNamespace('smc-system', {
    'pod-security.kubernetes.io/enforce': 'restricted',
  });
  other = await kube().createNamespace('smc-tenant');
  // The RBAC for real: namespaced objects into `ns`, cluster-scoped ones under unique names.
  const rbac = intoNamespace(
    build.filter((o) =>
      ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind),
    ),
    ns,
  ).map((o) => {
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') o.metadata.name += `-${suffix}`;
    if (o.kind === 'ClusterRoleBinding') o.roleRef.name += `-${suffix}`;
    return o;
  });
  await kube().kubectl(['apply', '--server-side', '-f', '-'], { input: toYaml(rbac) });
  sa = (await kube().serviceAccountKubeconfig(ns, SA)).kubeConfig();
});

afterAll(async () => {
  if (!suffix) return;
  await kube()
    .kubectl([
      'delete',
      '--ignore-not-found',
      `clusterrolebinding/${SA}-${suffix}`,
      `clusterrole/${SA}-${suffix}`,
    ])
    .catch(() => undefined);
});

describe('kustomize base', () => {
  it('builds the expected objects, all labelled, in the controller namespace', () => {
    const kinds = build.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        `ClusterRole/${SA}`,
        `ClusterRoleBinding/${SA}`,
        `ConfigMap/${SETTINGS_CM}`,
        'CustomResourceDefinition/secretmanagerconfigs.secret-management.octopilot.io',
        `Deployment/${SA}`,
        `Namespace/${CONTROLLER_NS}`,
        `Role/${SA}`,
        `RoleBinding/${SA}`,
        `Service/${SA}-metrics`,
        `ServiceAccount/${SA}`,
      ].sort(),
    );
    for (const o of build) {
      expect(o.metadata.labels?.['app.kubernetes.io/name'], `${o.kind}`).toBe('secret-manager-controller');
      if (!CLUSTER_SCOPED.has(o.kind as string)) expect(o.metadata.namespace).toBe(CONTROLLER_NS);
    }
    for (const b of [find(build, 'RoleBinding'), find(build, 'ClusterRoleBinding')])
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: SA, namespace: CONTROLLER_NS }]);
  });

  it('uses the generated CRD unchanged', async () => {
    const generated = parseAllDocuments(
      await readFile(join(repoRoot, 'config/crd/secretmanagerconfig.yaml'), 'utf8'),
    )[0]!.toJS() as Obj;
    expect(find(build, 'CustomResourceDefinition')).toEqual(generated);
  });

  it('is accepted whole by the apiserver (server-side apply, dry run, strict validation)', async () => {
    const out = await kube().kubectl(
      ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '--validate=strict', '-f', '-'],
      { input: toYaml(intoNamespace(build, ns)) },
    );
    expect(out.trim().split('\n')).toHaveLength(build.length);
    expect(out).toContain('(server dry run)');
  });

  it('runs a controller pod that passes the restricted Pod Security Standard', async () => {
    const deploy = find(build, 'Deployment');
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'controller-pss', namespace: ns, labels: deploy.spec.template.metadata.labels },
      spec: deploy.spec.template.spec,
    };
    // PodSecurity admission enforces `restricted` in `ns`, also on dry runs.
    await kube().kubectl(['create', '--dry-run=server', '-f', '-'], { input: stringify(pod) });
    // And the check is live: a privileged variant of the same pod is refused.
    const bad = structuredClone(pod);
    bad.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    await expect(
      kube().kubectl(['create', '--dry-run=server', '-f', '-'], { input: stringify(bad) }),
    ).rejects.toThrow(/violates PodSecurity "restricted/);
  });

  it('ships the Deployment hardened as documented', () => {
    const d = find(build, 'Deployment');
    expect(d.spec.replicas).toBe(1);
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe(SA);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [c] = pod.containers as Obj[];
    expect(c!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const env = Object.fromEntries((c!.env as Obj[]).map((e) => [e.name, e]));
    expect(env.POD_NAMESPACE.valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
    expect(c!.args).toEqual(['--leader-elect']);
    expect(c!.envFrom).toBeUndefined();
    expect(c!.ports).toEqual([{ name: 'http-metrics', containerPort: 5000, protocol: 'TCP' }]);
    expect(c!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(c!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    expect(c!.resources.requests).toBeDefined();
    expect(c!.resources.limits).toBeDefined();
    expect(c!.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'private-tmp', mountPath: '/run/smc-private' },
    ]);
    // Decrypted temporary files only on a memory-backed volume (docs/security.md).
    expect(env.SMC_PRIVATE_TMP_DIR.value).toBe('/run/smc-private/tmp');
    expect(pod.volumes).toEqual([
      { name: 'private-tmp', emptyDir: { medium: 'Memory', sizeLimit: '128Mi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
    ]);
    const svc = find(build, 'Service');
    expect(svc.spec.ports).toEqual([
      { name: 'http-metrics', port: 5000, targetPort: 'http-metrics', protocol: 'TCP' },
    ]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
  });

  it('keeps the optional monitoring kustomization out of the base, and it builds', async () => {
    expect(build.some((o) => String(o.apiVersion).startsWith('monitoring.coreos.com/'))).toBe(false);
    const mon = await kustomizeBuild('config/monitoring');
    expect(mon.map((o) => o.kind).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
    const sm = find(mon, 'ServiceMonitor');
    expect(sm.spec.endpoints[0].port).toBe('http-metrics');
    // It selects the metrics Service: each of its labels is one of the Service's.
    const serviceLabels = find(build, 'Service').metadata.labels as Record<string, string>;
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>))
      expect(serviceLabels[k], k).toBe(v);
    for (const r of find(mon, 'PrometheusRule').spec.groups[0].rules as Obj[])
      expect(r.expr).toMatch(/secret_manager_|up\{/);
    // Server-side validation of these needs the Prometheus Operator CRDs, which the test cluster
    // does not install; the checks above are what this suite can assert.
  });
});

describe('settings ConfigMap and docs', () => {
  it('lists exactly SETTING_KEYS, each at its default', () => {
    const cm = find(build, 'ConfigMap', SETTINGS_CM);
    const data = cm.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual([...SETTING_KEYS].sort());
    for (const v of Object.values(data)) expect(typeof v).toBe('string');
    const parsed = parseSettings({}, data);
    expect(parsed.errors).toEqual([]);
    expect(parsed.settings).toEqual(defaultSettings());
  });

  it('comments every key in the ConfigMap source', async () => {
    const lines = (await readFile(join(repoRoot, 'config/manager/settings.yaml'), 'utf8')).split('\n');
    for (const key of SETTING_KEYS) {
      const i = lines.findIndex((l) => l.startsWith(`  ${key}:`));
      expect(i, key).toBeGreaterThan(0);
      expect(lines[i - 1], `comment above ${key}`).toMatch(/^\s+#/);
    }
  });

  it('documents exactly SETTING_KEYS in docs/operations.md, with the shipped defaults', async () => {
    const md = await readFile(join(repoRoot, 'docs/operations.md'), 'utf8');
    const section = md.split(/^## /m).find((s) => s.startsWith('Settings'));
    expect(section, 'a "## Settings" section').toBeDefined();
    const rows = [...section!.matchAll(/^\| `([a-z_]+)` \| `([A-Z_]+)` \| (?:`([^`]+)`|_empty_) \|/gm)];
    const data = find(build, 'ConfigMap', SETTINGS_CM).data as Record<string, string>;
    expect(rows.map((r) => r[1])).toEqual([...SETTING_KEYS]);
    for (const [, key, env, def] of rows) {
      expect(env).toBe(key!.toUpperCase());
      expect(def ?? '', key).toBe(data[key!]);
    }
  });
});

describe('RBAC', () => {
  it('has no wildcard in any rule, nothing on RBAC objects, no delete but on Secrets', () => {
    for (const role of build.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const rule of role.rules as Obj[]) {
        for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames'])
          expect((rule[field] ?? []) as string[], `${role.kind} ${field}`).not.toContain('*');
        expect(rule.nonResourceURLs).toBeUndefined();
        expect(rule.apiGroups).not.toContain('rbac.authorization.k8s.io');
        for (const v of ['deletecollection', 'escalate', 'bind', 'impersonate'])
          expect(rule.verbs).not.toContain(v);
        // The kubernetes store deletes a Secret it created once it holds no entry (docs/operations.md).
        if ((rule.verbs as string[]).includes('delete')) expect(rule.resources).toEqual(['secrets']);
      }
    }
  });

  it('keeps the controller-namespace-only resources out of the ClusterRole', () => {
    const cluster = find(build, 'ClusterRole').rules as Obj[];
    const resources = cluster.flatMap((r) => r.resources as string[]);
    expect(resources).not.toContain('leases');
    expect(resources).not.toContain('configmaps');
    const role = find(build, 'Role').rules as Obj[];
    expect(role.flatMap((r) => r.resources as string[]).sort()).toEqual(
      ['configmaps', 'leases', 'leases', 'secrets'].sort(),
    );
  });

  /** Whether the controller's ServiceAccount may do `attrs` (SelfSubjectAccessReview as the SA). */
  async function can(attrs: V1ResourceAttributes): Promise<boolean> {
    const r = await sa.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: attrs } },
    });
    return r.status?.allowed === true;
  }

  type Check = [group: string, resource: string, verbs: string[], opts?: Partial<V1ResourceAttributes>];
  const expand = (checks: Check[], namespace: () => string): V1ResourceAttributes[] =>
    checks.flatMap(([group, resource, verbs, opts]) =>
      verbs.map((verb) => ({ group, resource, verb, namespace: namespace(), ...opts })),
    );
  const label = (a: V1ResourceAttributes) =>
    `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}` +
    `${a.name ? ` ${a.name}` : ''} in ${a.namespace || '(all namespaces)'}`;

  // What the controller does in any namespace (checked in a tenant namespace and cluster-wide).
  const ANY_NAMESPACE: Check[] = [
    ['secret-management.octopilot.io', 'secretmanagerconfigs', ['get', 'list', 'watch', 'update']],
    ['secret-management.octopilot.io', 'secretmanagerconfigs', ['patch'], { subresource: 'status' }],
    ['source.toolkit.fluxcd.io', 'gitrepositories', ['get', 'list', 'watch', 'patch']],
    ['source.toolkit.fluxcd.io', 'ocirepositories', ['get', 'list', 'watch', 'patch']],
    ['source.toolkit.fluxcd.io', 'buckets', ['get', 'list', 'watch', 'patch']],
    ['argoproj.io', 'applications', ['get', 'list', 'watch', 'patch']],
    ['argoproj.io', 'rollouts', ['get', 'list', 'watch', 'patch']],
    ['notification.toolkit.fluxcd.io', 'providers', ['get']],
    // Secrets by name only: no list or watch (docs/security.md, "Tenant isolation defaults").
    ['', 'secrets', ['get', 'create', 'update', 'delete']],
    ['', 'events', ['create', 'patch']],
    ['events.k8s.io', 'events', ['create', 'patch']],
    ['apps', 'deployments', ['get', 'list', 'watch', 'patch']],
    ['apps', 'statefulsets', ['get', 'list', 'watch', 'patch']],
    ['apps', 'daemonsets', ['get', 'list', 'watch', 'patch']],
    ['', 'pods', ['list']],
    ['', 'pods', ['create'], { subresource: 'eviction' }],
  ];
  // What it does only in its own namespace.
  const OWN_NAMESPACE: Check[] = [
    ['coordination.k8s.io', 'leases', ['create']],
    ['coordination.k8s.io', 'leases', ['get', 'update'], { name: LEASE }],
    ['', 'configmaps', ['get', 'list', 'watch']],
    ['', 'configmaps', ['get'], { name: SETTINGS_CM }],
    ['', 'secrets', ['get', 'list', 'watch'], { name: 'sops-keys' }],
  ];
  const FORBIDDEN_ANYWHERE: Check[] = [
    ['', 'secrets', ['list', 'watch', 'deletecollection', 'patch']],
    ['secret-management.octopilot.io', 'secretmanagerconfigs', ['create', 'delete', 'patch']],
    ['secret-management.octopilot.io', 'secretmanagerconfigs', ['update'], { subresource: 'status' }],
    ['', 'pods', ['get', 'create', 'delete', 'watch']],
    ['', 'pods', ['create'], { subresource: 'exec' }],
    ['', 'serviceaccounts', ['create'], { subresource: 'token' }],
    ['', 'serviceaccounts', ['impersonate']],
    ['apps', 'deployments', ['create', 'update', 'delete']],
    ['source.toolkit.fluxcd.io', 'gitrepositories', ['create', 'update', 'delete']],
    ['argoproj.io', 'applications', ['create', 'update', 'delete']],
    ['notification.toolkit.fluxcd.io', 'providers', ['list', 'patch']],
    ['coordination.k8s.io', 'leases', ['delete']],
    ['rbac.authorization.k8s.io', 'roles', ['create', 'update', 'escalate', 'bind']],
    ['rbac.authorization.k8s.io', 'rolebindings', ['create', 'update']],
    ['rbac.authorization.k8s.io', 'clusterroles', ['create', 'update', 'escalate', 'bind']],
    ['rbac.authorization.k8s.io', 'clusterrolebindings', ['create', 'update']],
    ['apiextensions.k8s.io', 'customresourcedefinitions', ['create', 'update', 'delete']],
    ['', 'namespaces', ['create', 'delete']],
    ['', 'nodes', ['get', 'list']],
    ['*', '*', ['*']],
  ];
  const FORBIDDEN_ELSEWHERE: Check[] = [
    ['coordination.k8s.io', 'leases', ['get', 'create', 'update']],
    ['', 'configmaps', ['get', 'list', 'watch', 'create', 'update']],
  ];

  it('lets the ServiceAccount do every operation the controller needs', async () => {
    const wanted = [
      ...expand(ANY_NAMESPACE, () => other),
      ...expand(ANY_NAMESPACE, () => ''),
      ...expand(OWN_NAMESPACE, () => ns),
    ];
    const results = await Promise.all(wanted.map(async (a) => [label(a), await can(a)] as const));
    expect(results.filter(([, ok]) => !ok).map(([l]) => l)).toEqual([]);
  });

  it('refuses it everything else that matters', async () => {
    const refused = [
      ...expand(FORBIDDEN_ANYWHERE, () => other),
      ...expand(FORBIDDEN_ANYWHERE, () => ''),
      ...expand(FORBIDDEN_ANYWHERE, () => ns),
      ...expand(FORBIDDEN_ELSEWHERE, () => other),
      ...expand(FORBIDDEN_ELSEWHERE, () => ''),
      ...expand([['coordination.k8s.io', 'leases', ['get', 'update'], { name: 'someone-elses' }]], () => ns),
    ];
    const results = await Promise.all(refused.map(async (a) => [label(a), await can(a)] as const));
    expect(results.filter(([, ok]) => ok).map(([l]) => l)).toEqual([]);
  });

  it('grants no wildcard verbs (kubectl auth can-i --list as the ServiceAccount)', async () => {
    const access = await kube().serviceAccountKubeconfig(ns, SA);
    for (const where of [
      ['-n', ns],
      ['-n', other],
    ]) {
      const out = await kube().kubectl(['auth', 'can-i', '--list', ...where], {
        kubeconfigPath: access.kubeconfigPath,
      });
      // Columns: Resources, Non-Resource URLs, Resource Names, Verbs.
      const rows = out
        .split('\n')
        .slice(1)
        .filter((l) => l.trim() !== '')
        .map((l) => l.trimEnd().split(/\s{2,}/));
      // Non-resource rows (discovery URLs granted to every user) start with an empty first column.
      const resourceRows = rows.filter((r) => r[0] !== '');
      expect(resourceRows.map((r) => r[0])).toContain('secretmanagerconfigs.secret-management.octopilot.io');
      for (const [resources, , , verbs] of resourceRows) {
        expect(resources!.split('.')[0], resources).not.toBe('*');
        expect(verbs, resources).not.toMatch(/[[ ]\*[\] ]/);
      }
    }
  });

  it('works for real: Lease, settings ConfigMap, Secrets and SMC listing as the ServiceAccount', async () => {
    const core = sa.makeApiClient(CoreV1Api);
    const coordination = sa.makeApiClient(CoordinationV1Api);
    // Leader election in its own namespace.
    const lease = await coordination.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: LEASE }, spec: { holderIdentity: 'test', leaseDurationSeconds: 15 } },
    });
    await coordination.replaceNamespacedLease({
      namespace: ns,
      name: LEASE,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'test-2' } },
    });
    expect(
      (await coordination.readNamespacedLease({ namespace: ns, name: LEASE })).spec?.holderIdentity,
    ).toBe('test-2');
    // The settings ConfigMap (created by the admin, as `kubectl apply -k` would).
    await kube()
      .client(CoreV1Api)
      .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: SETTINGS_CM }, data: {} } });
    expect((await core.readNamespacedConfigMap({ namespace: ns, name: SETTINGS_CM })).metadata?.name).toBe(
      SETTINGS_CM,
    );
    const forbidden = (p: Promise<unknown>) =>
      p.then(
        () => 200,
        (e: unknown) => statusOf(e),
      );
    expect(await forbidden(core.listNamespacedConfigMap({ namespace: other }))).toBe(403);
    // The Kubernetes Secret store in a tenant namespace: create, update, and delete (of a Secret it
    // created, once empty: the store checks that, RBAC cannot).
    const name = `synced-${suffix}`;
    const s = await core.createNamespacedSecret({
      namespace: other,
      body: { metadata: { name }, stringData: { KEY: 'v1' } },
    });
    await core.replaceNamespacedSecret({ namespace: other, name, body: { ...s, stringData: { KEY: 'v2' } } });
    expect((await core.readNamespacedSecret({ namespace: other, name })).data?.KEY).toBe(
      Buffer.from('v2').toString('base64'),
    );
    // Secrets by name only: no list cluster-wide or in a tenant namespace (docs/security.md).
    expect(await forbidden(core.listSecretForAllNamespaces())).toBe(403);
    expect(await forbidden(core.listNamespacedSecret({ namespace: other }))).toBe(403);
    await core.deleteNamespacedSecret({ namespace: other, name });
    expect(await forbidden(core.deleteCollectionNamespacedSecret({ namespace: other }))).toBe(403);
    // SMCs across all namespaces (the informer's list).
    // (A custom resource's watch cache can still be initialising right after the cluster starts:
    // the apiserver answers 429 with Retry-After, which a client retries.)
    const listSmcs = () =>
      sa.makeApiClient(CustomObjectsApi).listClusterCustomObject({
        group: 'secret-management.octopilot.io',
        version: 'v1beta1',
        plural: 'secretmanagerconfigs',
      });
    let smcs: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        smcs = await listSmcs();
        break;
      } catch (e) {
        if (statusOf(e) !== 429 || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(smcs).toHaveProperty('items');
    // No RBAC changes, even within its own namespace.
    expect(
      await forbidden(
        sa.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
          namespace: ns,
          body: {
            metadata: { name: 'escalate' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name: SA, namespace: ns }],
          },
        }),
      ),
    ).toBe(403);
  });
});
