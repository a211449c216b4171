/**
 * The Helm chart (charts/secret-manager-controller) with the real `helm` (scripts/peers.d/helm.sh)
 * and the real kube-apiserver: `helm lint --strict` passes with the defaults and with a values file
 * that moves every knob (test/packaging/values-custom.yaml); with the defaults, `helm template`
 * renders the kustomize base of config/ (same CRD, the same RBAC rules, settings, pod spec and
 * Service); both renderings are accepted by the apiserver (server-side apply, dry run, strict field
 * validation) and the pod passes the `restricted` Pod Security Standard; the non-default values land
 * where they should; combinations that would install a broken controller are refused. The
 * manifests of docs/quick-start.md are accepted by the apiserver as written.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseNameFor } from '../../src/controller/runtime/leader-election.js';
import { SETTING_KEYS, parseSettings } from '../../src/controller/settings.js';
import { EXIT_ERROR } from '../../src/cli/commands/common.js';
import { msmctl } from '../cli/run.js';
import { peerPath } from '../peers.js';
import { repoRoot } from '../peers/kube/index.js';
import { useKube } from '../peers/kube/use.js';

const run = promisify(execFile);
const kube = useKube();

const CHART = join(repoRoot, 'charts/secret-manager-controller');
const CUSTOM_VALUES = join(repoRoot, 'test/packaging/values-custom.yaml');
const RELEASE = 'secret-manager-controller';
const CONTROLLER_NS = 'secret-manager-controller-system';
const SETTINGS_CM = 'secret-manager-controller-config';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are untyped YAML
type Obj = Record<string, any>;

let helmBin: string;
let helmHome: string;

/** Runs helm with its cache/config/data homes in a scratch directory (never the user's). */
function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(helmBin, args, {
    maxBuffer: 64 << 20,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    },
  });
}

/** helm's error output for a command expected to fail. */
async function helmFails(args: string[]): Promise<string> {
  return helm(args).then(
    () => {
      throw new Error(`helm ${args.join(' ')} succeeded`);
    },
    (e: { stderr?: string }) => e.stderr ?? '',
  );
}

const parseYaml = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw d.errors[0];
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);

async function template(namespace: string, args: string[] = [], release = RELEASE): Promise<Obj[]> {
  const { stdout } = await helm(['template', release, CHART, '--namespace', namespace, ...args]);
  return parseYaml(stdout);
}

async function kustomizeBuild(dir: string): Promise<Obj[]> {
  const { stdout } = await run(peerPath('kustomize'), ['build', join(repoRoot, dir)], {
    maxBuffer: 64 << 20,
  });
  return parseYaml(stdout);
}

/** Labels only the chart's objects carry (chart version, app version, `managed-by: Helm`). */
const HELM_ONLY_LABELS = ['helm.sh/chart', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by'];

const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} in the rendering`);
  return o;
};
const kindsOf = (objs: Obj[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const toYaml = (objs: Obj[]) => objs.map((o) => stringify(o)).join('---\n');

/** Server-side apply, dry run, strict validation: the apiserver's verdict on every object. */
async function dryRunApply(objs: Obj[]): Promise<string> {
  return kube().kubectl(
    ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '--validate=strict', '-f', '-'],
    { input: toYaml(objs) },
  );
}

/** The Deployment's pod, created (dry run) in `ns`, where PodSecurity enforces `restricted`. */
async function createPodDryRun(deployment: Obj, ns: string): Promise<string> {
  const pod: Obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'controller-pss', namespace: ns, labels: deployment.spec.template.metadata.labels },
    spec: deployment.spec.template.spec,
  };
  return kube().kubectl(['create', '--dry-run=server', '-f', '-'], { input: stringify(pod) });
}

let base: Obj[];
let defaults: Obj[];

beforeAll(async () => {
  helmHome = await mkdtemp(join(tmpdir(), 'smc-helm-'));
  helmBin = await peerPath('helm'); // installed by the vitest global setup (test/setup/peers.ts)
  base = await kustomizeBuild('config');
  defaults = await template(CONTROLLER_NS, ['--include-crds']);
});

afterAll(async () => {
  if (helmHome) await rm(helmHome, { recursive: true, force: true });
});

describe('helm lint', () => {
  it('passes --strict with the default values and with every knob moved', async () => {
    for (const extra of [[], ['-f', CUSTOM_VALUES]]) {
      const { stdout } = await helm(['lint', '--strict', CHART, ...extra]);
      expect(stdout, extra.join(' ')).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('fails on a broken copy of the chart (the check is live)', async () => {
    const broken = join(helmHome, 'broken');
    await cp(CHART, broken, { recursive: true });
    await writeFile(join(broken, 'templates/broken.yaml'), 'apiVersion: v1\nkind: [ConfigMap\n');
    const failed = await helm(['lint', '--strict', broken]).then(
      () => undefined,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toMatch(/\[ERROR\] templates\/broken\.yaml: unable to parse YAML/);
    expect(failed?.stderr).toContain('1 chart(s) failed');
  });
});

describe('default values render the kustomize base (config/)', () => {
  it('renders the same objects under the same names, except the Namespace helm does not own', () => {
    expect(kindsOf(defaults)).toEqual(kindsOf(base.filter((o) => o.kind !== 'Namespace')));
    for (const o of defaults) {
      expect(o.metadata.labels?.['app.kubernetes.io/name'], o.kind).toBe('secret-manager-controller');
      if (!['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))
        expect(o.metadata.namespace, o.kind).toBe(CONTROLLER_NS);
    }
  });

  it('ships the generated CRD byte for byte and installs it unchanged', async () => {
    const [generated, copy] = await Promise.all([
      readFile(join(repoRoot, 'config/crd/secretmanagerconfig.yaml'), 'utf8'),
      readFile(join(CHART, 'crds/secretmanagerconfig.yaml'), 'utf8'),
    ]);
    expect(copy).toBe(generated);
    expect(find(defaults, 'CustomResourceDefinition')).toEqual(find(base, 'CustomResourceDefinition'));
    // Without --include-crds, `helm template` leaves crds/ out (helm installs them before templates).
    const withoutCrds = await template(CONTROLLER_NS);
    expect(withoutCrds.some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
  });

  it('grants exactly the RBAC rules of config/rbac, bound to the same ServiceAccount', () => {
    for (const kind of ['ClusterRole', 'Role']) {
      expect(find(defaults, kind).rules, kind).toEqual(find(base, kind).rules);
    }
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      expect(find(defaults, kind).roleRef, kind).toEqual(find(base, kind).roleRef);
      expect(find(defaults, kind).subjects, kind).toEqual(find(base, kind).subjects);
    }
    expect(find(defaults, 'ServiceAccount').metadata.name).toBe(find(base, 'ServiceAccount').metadata.name);
  });

  it('writes every setting at the default of config/manager/settings.yaml', () => {
    const data = find(defaults, 'ConfigMap', SETTINGS_CM).data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual([...SETTING_KEYS].sort());
    expect(data).toEqual(find(base, 'ConfigMap', SETTINGS_CM).data);
    expect(parseSettings({}, data).errors).toEqual([]);
  });

  it('runs the same hardened pod, image and Service as the kustomize Deployment', () => {
    const chart = find(defaults, 'Deployment');
    const kustomize = find(base, 'Deployment');
    expect(chart.spec.replicas).toBe(kustomize.spec.replicas);
    expect(chart.spec.template.spec).toEqual(kustomize.spec.template.spec);
    const svc = find(defaults, 'Service');
    expect(svc.spec.ports).toEqual(find(base, 'Service').spec.ports);
    // The Service and the Deployment's selector both pick the controller pods.
    const podLabels = chart.spec.template.metadata.labels as Record<string, string>;
    for (const sel of [svc.spec.selector, chart.spec.selector.matchLabels] as Record<string, string>[]) {
      for (const [k, v] of Object.entries(sel)) expect(podLabels[k], k).toBe(v);
    }
    expect(chart.spec.template.metadata.annotations).toBeUndefined(); // no checksum roll by default
  });

  it('renders the same Deployment field by field, apart from the labels Helm adds (docs/packaging.md)', () => {
    const withoutHelmLabels = (d: Obj): Obj => {
      const copy = structuredClone(d);
      for (const labels of [copy.metadata.labels, copy.spec.template.metadata.labels] as Record<
        string,
        string
      >[])
        for (const key of HELM_ONLY_LABELS) delete labels[key];
      return copy;
    };
    const chart = find(defaults, 'Deployment');
    const kustomize = find(base, 'Deployment');
    // The selector is immutable: a different one makes one install unable to replace the other.
    expect(chart.spec.selector).toEqual(kustomize.spec.selector);
    expect(withoutHelmLabels(chart)).toEqual(kustomize);
    for (const key of HELM_ONLY_LABELS) expect(kustomize.metadata.labels[key], key).toBeUndefined();
  });
});

describe('the apiserver accepts the rendered chart', () => {
  it('with the default values (all objects, server-side dry run, strict validation)', async () => {
    const ns = await kube().createNamespace('helm', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const objs = await template(ns, ['--include-crds'], `smc-${ns}`);
    const out = await dryRunApply(objs);
    expect(out.trim().split('\n')).toHaveLength(objs.length);
    expect(out).toContain('(server dry run)');
    await createPodDryRun(find(objs, 'Deployment'), ns);
    // PodSecurity is live in `ns`: a privileged variant is refused.
    const bad = structuredClone(find(objs, 'Deployment'));
    bad.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    await expect(createPodDryRun(bad, ns)).rejects.toThrow(/violates PodSecurity "restricted/);
  });

  it('with every knob moved (the Prometheus Operator objects are checked below: no CRDs here)', async () => {
    const ns = await kube().createNamespace('helm-custom', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const [teamA, teamB, grafana] = await Promise.all([
      kube().createNamespace('team-a'),
      kube().createNamespace('team-b'),
      kube().createNamespace('grafana'),
    ]);
    const objs = await template(ns, [
      '-f',
      CUSTOM_VALUES,
      '--set-json',
      `watchNamespaces=${JSON.stringify([teamA, teamB])}`,
      '--set',
      `grafanaDashboard.namespace=${grafana}`,
    ]);
    const core = objs.filter((o) => !String(o.apiVersion).startsWith('monitoring.coreos.com/'));
    expect(objs.length - core.length).toBe(2);
    const out = await dryRunApply(core);
    expect(out.trim().split('\n')).toHaveLength(core.length);
    await createPodDryRun(find(objs, 'Deployment'), ns);
    const bindings = objs.filter((o) => o.kind === 'RoleBinding' && o.roleRef.kind === 'ClusterRole');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual([teamA, teamB].sort());
  });
});

describe('namespace.create', () => {
  it('renders the release namespace with the Pod Security labels of config/namespace.yaml', async () => {
    const objs = await template('smc-own-ns', ['--set', 'namespace.create=true']);
    const nsObj = find(objs, 'Namespace');
    const kustomize = find(base, 'Namespace');
    expect(nsObj.metadata.name).toBe('smc-own-ns');
    for (const [k, v] of Object.entries(kustomize.metadata.labels as Record<string, string>))
      if (k.startsWith('pod-security.kubernetes.io/')) expect(nsObj.metadata.labels[k], k).toBe(v);
    expect(nsObj.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // Off by default: `helm install --create-namespace` or an existing namespace.
    expect(defaults.some((o) => o.kind === 'Namespace')).toBe(false);
    // The apiserver enforces it: the controller pod passes, a privileged variant is refused.
    const name = `smc-ns-${Date.now().toString(36)}`;
    const created = await template(name, ['--set', 'namespace.create=true']);
    await kube().kubectl(['apply', '--server-side', '-f', '-'], {
      input: toYaml([find(created, 'Namespace')]),
    });
    await createPodDryRun(find(created, 'Deployment'), name);
    const bad = structuredClone(find(created, 'Deployment'));
    bad.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    await expect(createPodDryRun(bad, name)).rejects.toThrow(/violates PodSecurity "restricted/);
  });
});

describe('a Helm release and msmctl install', () => {
  it('msmctl install refuses to take over the objects of a Helm release, and says so', async () => {
    const ns = await kube().createNamespace('helm-release');
    // The cluster-scoped objects are shared by the test files: this release keeps to its namespace.
    await helm([
      'install',
      RELEASE,
      CHART,
      '--namespace',
      ns,
      '--skip-crds',
      '--set',
      'rbac.create=false',
      '--kubeconfig',
      kube().kubeconfigPath,
    ]);
    const env = { KUBECONFIG: kube().kubeconfigPath };
    for (const args of [['--dry-run'], []]) {
      const r = msmctl(['install', '-n', ns, ...args], { env });
      expect(r.stderr, args.join(' ')).toContain(
        `is managed by the Helm release ${ns}/${RELEASE}: use helm upgrade, or helm uninstall ${RELEASE} -n ${ns} before msmctl install`,
      );
      expect(r.stdout).toBe(''); // nothing applied, not even the objects Helm does not own
      expect(r.status).toBe(EXIT_ERROR);
    }
    const deployment = JSON.parse(
      await kube().kubectl(['get', 'deployment', RELEASE, '-n', ns, '-o', 'json', '--show-managed-fields']),
    ) as Obj;
    expect(deployment.metadata.managedFields.map((f: Obj) => f.manager)).not.toContain('msmctl');
  });
});

describe('docs/quick-start.md', () => {
  it('shows a Flux source and SecretManagerConfigs the apiserver accepts as written', async () => {
    const md = await readFile(join(repoRoot, 'docs/quick-start.md'), 'utf8');
    const objs = [...md.matchAll(/```yaml[^\n]*\n([\s\S]*?)```/g)]
      .flatMap((m) => parseYaml(m[1]!))
      .filter((o) => ['GitRepository', 'SecretManagerConfig'].includes(o.kind));
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'GitRepository',
      'SecretManagerConfig',
      'SecretManagerConfig',
    ]);
    const ns = await kube().createNamespace('quick-start');
    for (const o of objs) {
      expect(o.metadata.namespace).toBe('apps');
      o.metadata.namespace = ns;
    }
    const out = await dryRunApply(objs);
    expect(out.trim().split('\n')).toHaveLength(objs.length);
  });
});

describe('non-default values', () => {
  let objs: Obj[];
  beforeAll(async () => {
    objs = await template('smc-system', ['-f', CUSTOM_VALUES]);
  });

  it('configure the Deployment: replicas, leader election, image digest, env, resources, scheduling', () => {
    const d = find(objs, 'Deployment', 'smc');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    const [c] = pod.containers as Obj[];
    expect(c!.args).toEqual(['--leader-elect']);
    expect(c!.image).toBe(
      'registry.example.com/platform/secret-manager-controller@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    expect((c!.env as Obj[]).map((e) => e.name)).toEqual([
      'POD_NAMESPACE',
      'TMPDIR',
      'HOME',
      'SMC_PRIVATE_TMP_DIR',
      'NODE_OPTIONS',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ]);
    // Helm merges maps with the defaults: limits.cpu stays unless set to null.
    expect(c!.resources).toEqual({
      requests: { cpu: '200m', memory: '256Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    expect(c!.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.volumes).toEqual([
      { name: 'private-tmp', emptyDir: { medium: 'Memory', sizeLimit: '128Mi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
    ]);
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toHaveLength(1);
    expect(pod.serviceAccountName).toBe('smc');
    expect(d.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(d.spec.template.metadata.annotations['example.com/team']).toBe('platform');
  });

  it('move the HTTP port everywhere with metrics_port: container, probes (by name), Service', () => {
    const d = find(objs, 'Deployment');
    const [c] = d.spec.template.spec.containers as Obj[];
    expect(c!.ports).toEqual([{ name: 'http-metrics', containerPort: 8080, protocol: 'TCP' }]);
    expect(c!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(c!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    const svc = find(objs, 'Service', 'smc-metrics');
    expect(svc.spec.ports).toEqual([
      { name: 'http-metrics', port: 8080, targetPort: 'http-metrics', protocol: 'TCP' },
    ]);
    expect(svc.metadata.annotations).toEqual({ 'example.com/scrape': 'true' });
  });

  it('write the settings ConfigMap the controller parses, watch namespaces included', () => {
    const data = find(objs, 'ConfigMap', SETTINGS_CM).data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual([...SETTING_KEYS].sort());
    const parsed = parseSettings({}, data);
    expect(parsed.errors).toEqual([]);
    expect(parsed.settings).toMatchObject({
      log_level: 'debug',
      max_concurrent_reconciles: 8,
      metrics_port: 8080,
    });
    expect(data.watch_namespaces).toBe('team-a,team-b');
    expect(data.store_allowlist).toBe('team-a=gcp/team-a-prod');
  });

  it('roll the pods when the settings change, and only then (restartOnSettingsChange)', async () => {
    const checksum = (o: Obj[]) =>
      find(o, 'Deployment').spec.template.metadata.annotations['checksum/settings'];
    const same = await template('smc-system', ['-f', CUSTOM_VALUES]);
    const changed = await template('smc-system', ['-f', CUSTOM_VALUES, '--set', 'settings.log_level=warn']);
    expect(checksum(objs)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(same)).toBe(checksum(objs));
    expect(checksum(changed)).not.toBe(checksum(objs));
  });

  it('annotate the ServiceAccount for cloud identity and bind RBAC per watched namespace', () => {
    expect(find(objs, 'ServiceAccount', 'smc').metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/smc',
      'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000000',
    });
    expect(objs.some((o) => o.kind === 'ClusterRoleBinding')).toBe(false);
    const perNamespace = objs.filter((o) => o.kind === 'RoleBinding' && o.roleRef.kind === 'ClusterRole');
    expect(perNamespace.map((b) => b.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    for (const b of perNamespace) {
      expect(b.roleRef.name).toBe('smc');
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'smc', namespace: 'smc-system' }]);
    }
    // The rules themselves do not change with the binding mode.
    expect(find(objs, 'ClusterRole').rules).toEqual(find(base, 'ClusterRole').rules);
    expect(find(objs, 'Role').rules).toEqual(find(base, 'Role').rules);
  });

  it('add a ServiceMonitor that selects the metrics Service and a PrometheusRule equal to config/monitoring', async () => {
    const sm = find(objs, 'ServiceMonitor');
    const svc = find(objs, 'Service', 'smc-metrics');
    expect(sm.metadata.labels.release).toBe('prometheus');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>))
      expect(svc.metadata.labels[k], k).toBe(v);
    expect(sm.spec.endpoints).toEqual([
      { port: 'http-metrics', path: '/metrics', interval: '15s', honorLabels: true },
    ]);
    // With the defaults, the ServiceMonitor's endpoint is config/monitoring's.
    const monDefault = await template(CONTROLLER_NS, ['--set', 'metrics.serviceMonitor.enabled=true']);
    const monKustomize = await kustomizeBuild('config/monitoring');
    expect(find(monDefault, 'ServiceMonitor').spec.endpoints).toEqual(
      find(monKustomize, 'ServiceMonitor').spec.endpoints,
    );
    const expected = structuredClone(find(monKustomize, 'PrometheusRule').spec) as Obj;
    // The scrape job is the metrics Service's name, which follows the release's full name.
    for (const g of expected.groups as Obj[])
      for (const r of g.rules as Obj[])
        r.expr = String(r.expr).replace('job="secret-manager-controller-metrics"', 'job="smc-metrics"');
    expect(find(objs, 'PrometheusRule').spec).toEqual(expected);
  });

  it('ship the Grafana dashboard as a labelled ConfigMap, byte-identical to config/monitoring', async () => {
    const cm = find(objs, 'ConfigMap', 'smc-dashboard');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'Secrets' });
    const json = await readFile(join(repoRoot, 'config/monitoring/grafana-dashboard.json'), 'utf8');
    expect(`${cm.data['secret-manager-controller.json']}\n`).toBe(json);
    expect(JSON.parse(cm.data['secret-manager-controller.json'] as string).uid).toBe(
      'secret-manager-controller',
    );
  });
});

describe('combinations that would install a broken controller are refused', () => {
  it.each([
    [['--set', 'replicas=2', '--set', 'leaderElection.enabled=false'], /replicas > 1 needs leaderElection/],
    [['--set', 'settings.watch_namespaces=a'], /set watchNamespaces \(a list\)/],
    [['--set', 'settings.log_levl=debug'], /additional properties 'log_levl' not allowed/],
    [['--set', 'replicas=two'], /replicas': got string, want integer/],
    [['--set', 'image.digest=latest'], /image\/digest/],
    [['--set', 'rbac.clusterWide=false'], /list them in watchNamespaces/],
    [['--set', 'serviceAccount.create=false'], /serviceAccount.name is required/],
    [
      ['--set', 'metrics.service.enabled=false', '--set', 'metrics.serviceMonitor.enabled=true'],
      /needs metrics.service.enabled/,
    ],
  ])('helm template %j', async (args, message) => {
    expect(await helmFails(['template', RELEASE, CHART, ...args])).toMatch(message);
  });

  it('while each of those values alone renders', async () => {
    for (const args of [
      ['--set', 'replicas=2'],
      ['--set', 'leaderElection.enabled=false'],
      ['--set', 'rbac.clusterWide=false', '--set', 'watchNamespaces={a}'],
      ['--set', 'serviceAccount.create=false', '--set', 'serviceAccount.name=existing'],
      ['--set', 'metrics.service.enabled=false'],
    ]) {
      const objs = await template(CONTROLLER_NS, args);
      expect(
        objs.some((o) => o.kind === 'Deployment'),
        args.join(' '),
      ).toBe(true);
    }
    const noLeader = await template(CONTROLLER_NS, ['--set', 'leaderElection.enabled=false']);
    expect(find(noLeader, 'Deployment').spec.template.spec.containers[0].args).toBeUndefined();
  });

  it('a shard elects on its own Lease, and the Role lets it (leaseNameFor in the controller)', async () => {
    const leaseRule = (objs: Obj[]) =>
      (find(objs, 'Role').rules as { resources: string[]; resourceNames?: string[] }[]).find(
        (r) => r.resources.includes('leases') && r.resourceNames,
      )?.resourceNames;
    expect(leaseRule(await template(CONTROLLER_NS))).toEqual([leaseNameFor('')]);
    expect(leaseRule(await template(CONTROLLER_NS, ['--set', 'settings.shard_key=a']))).toEqual([
      leaseNameFor('a'),
    ]);
  });
});
