/**
 * `msmctl install` and `msmctl check` against the real kube-apiserver: a server-side dry run stores
 * nothing, the install applies every object with server-side apply (field manager msmctl), a second
 * install changes nothing, and `check` / `check --pre` report what they see (a Deployment becomes
 * available only when its status says so: there is no kube-controller-manager, so the test writes
 * that status itself).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { repoRoot, statusOf } from '../peers/kube/index.js';
import { useKube } from '../peers/kube/use.js';
import { msmctl } from './run.js';

vi.setConfig({ testTimeout: 180_000 });

const kube = useKube();
const NAME = 'secret-manager-controller';
const CRD = 'secretmanagerconfigs.secret-management.octopilot.io';
const LEASE = 'secret-manager-controller-leader';
const POD = `${NAME}-7d9c-abcde`;
const runningManager = {
  name: 'manager',
  image: 'secret-manager-controller:0.1.0',
  imageID: '',
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: new Date() } },
};

/** A pod of the installed Deployment, as its ReplicaSet would create it (no controller-manager here). */
async function createControllerPod(name: string): Promise<void> {
  const d = await kube().client(AppsV1Api).readNamespacedDeployment({ name: NAME, namespace: ns });
  await kube()
    .client(CoreV1Api)
    .createNamespacedPod({
      namespace: ns,
      body: { metadata: { name, labels: d.spec!.template.metadata!.labels }, spec: d.spec!.template.spec! },
    });
}

/** What the kubelet would report for it. */
async function setPodStatus(name: string, status: Record<string, unknown>): Promise<void> {
  await kube()
    .client(CoreV1Api)
    .patchNamespacedPodStatus(
      { name, namespace: ns, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

let ns: string;
let env: NodeJS.ProcessEnv;
const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
  msmctl(args, { env: { ...env, ...extraEnv } });

/** `kind/name outcome` per line. */
const outcomes = (stdout: string) =>
  Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [ref, ...rest] = l.split(' ');
        return [ref!, rest.join(' ')];
      }),
  );

const gone = async (read: () => Promise<unknown>) => {
  try {
    await read();
    return false;
  } catch (e) {
    return statusOf(e) === 404;
  }
};

beforeAll(() => {
  ns = `msmctl-install-${randomBytes(4).toString('hex')}`;
  env = { KUBECONFIG: kube().kubeconfigPath };
});

afterAll(async () => {
  // Cluster-scoped objects of the install (the namespace stays: no controller-manager to finish it).
  await kube()
    .kubectl(['delete', '--ignore-not-found', `clusterrolebinding/${NAME}`, `clusterrole/${NAME}`])
    .catch(() => undefined);
});

describe('msmctl install', () => {
  it('--dry-run validates on the server and stores nothing', async () => {
    const r = run(['install', '--dry-run', '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const o = outcomes(r.stdout);
    expect(Object.keys(o)).toEqual([
      `namespace/${ns}`,
      `customresourcedefinition/${CRD}`,
      `serviceaccount/${NAME}`,
      `role/${NAME}`,
      `clusterrole/${NAME}`,
      `rolebinding/${NAME}`,
      `clusterrolebinding/${NAME}`,
      `configmap/${NAME}-config`,
      `service/${NAME}-metrics`,
      `deployment/${NAME}`,
    ]);
    expect(o[`namespace/${ns}`]).toBe('created (server dry run)');
    expect(o[`clusterrole/${NAME}`]).toBe('created (server dry run)');
    // The CRD is already there (the test cluster applied the same file): nothing would change.
    expect(o[`customresourcedefinition/${CRD}`]).toBe('unchanged (server dry run)');
    expect(o[`deployment/${NAME}`]).toBe(
      `created (server dry run): not validated: namespace ${ns} does not exist yet`,
    );

    const core = kube().client(CoreV1Api);
    expect(await gone(() => core.readNamespace({ name: ns }))).toBe(true);
    expect(await gone(() => kube().client(RbacAuthorizationV1Api).readClusterRole({ name: NAME }))).toBe(
      true,
    );
  });

  it('--dry-run into an existing namespace has the apiserver validate every object', async () => {
    const existing = await kube().createNamespace('msmctl-dry');
    const r = run(['install', '--dry-run', '-n', existing]);
    expect(r.status, r.stderr).toBe(0);
    const o = outcomes(r.stdout);
    expect(o[`namespace/${existing}`]).toBe('configured (server dry run)'); // gains the PSS labels
    for (const ref of [`serviceaccount/${NAME}`, `configmap/${NAME}-config`, `deployment/${NAME}`]) {
      expect(o[ref]).toBe('created (server dry run)');
    }
    expect(
      await gone(() =>
        kube().client(AppsV1Api).readNamespacedDeployment({ name: NAME, namespace: existing }),
      ),
    ).toBe(true);
  });

  it('applies every object with server-side apply, and a second install changes nothing', async () => {
    const first = run(['install', '-n', ns]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const o = outcomes(first.stdout);
    expect(o[`namespace/${ns}`]).toBe('created');
    expect(o[`deployment/${NAME}`]).toBe('created');
    expect(o[`customresourcedefinition/${CRD}`]).toMatch(/^(unchanged|configured)$/);

    const deployment = await kube().client(AppsV1Api).readNamespacedDeployment({ name: NAME, namespace: ns });
    expect(deployment.spec?.template.spec?.serviceAccountName).toBe(NAME);
    expect(deployment.metadata?.managedFields?.map((m) => `${m.manager}:${m.operation}`)).toContain(
      'msmctl:Apply',
    );
    const settings = await kube()
      .client(CoreV1Api)
      .readNamespacedConfigMap({ name: `${NAME}-config`, namespace: ns });
    expect(settings.data?.log_level).toBe('info');
    const binding = await kube().client(RbacAuthorizationV1Api).readClusterRoleBinding({ name: NAME });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: NAME, namespace: ns }]);
    const namespace = await kube().client(CoreV1Api).readNamespace({ name: ns });
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');

    const second = run(['install', '-n', ns]);
    expect(second.status, second.stderr).toBe(0);
    expect(new Set(Object.values(outcomes(second.stdout)))).toEqual(new Set(['unchanged']));
  });
});

describe('msmctl check', () => {
  it('reports the installed controller: CRD current, Deployment not available until its status says so', async () => {
    const before = run(['check', '-n', ns]);
    expect(before.status).toBe(1);
    expect(before.stdout).toMatch(
      new RegExp(`^ok\\s+crd\\s+${CRD.replace(/\./g, '\\.')} is Established and matches msmctl`, 'm'),
    );
    expect(before.stdout).toMatch(
      new RegExp(`^fail\\s+deployment\\s+deployment ${ns}/${NAME}: 0/1 available`, 'm'),
    );
    expect(before.stdout).toMatch(/^(ok|warn)\s+secretmanagerconfigs\s+/m);
    // No kube-controller-manager: no pod, no leader.
    expect(before.stdout).toMatch(
      new RegExp(`^fail\\s+pods\\s+no controller pod in ${ns} \\(selector `, 'm'),
    );
    expect(before.stdout).toMatch(
      new RegExp(`^warn\\s+leader\\s+lease ${ns}/${LEASE} not found: no replica has led yet$`, 'm'),
    );
    expect(before.stderr).toBe('msmctl: 2 check(s) failed\n');

    // What the scheduler and kubelet would do: a pod of the Deployment, running and ready, that leads.
    await createControllerPod(POD);
    await setPodStatus(POD, {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
      containerStatuses: [runningManager],
    });
    await kube()
      .client(CoordinationV1Api)
      .createNamespacedLease({
        namespace: ns,
        body: {
          metadata: { name: LEASE },
          spec: { holderIdentity: POD, leaseDurationSeconds: 3600, renewTime: new V1MicroTime() },
        },
      });

    // What the Deployment controller would write once the pod is ready.
    await kube()
      .client(AppsV1Api)
      .patchNamespacedDeploymentStatus(
        {
          name: NAME,
          namespace: ns,
          body: {
            status: {
              observedGeneration: 1,
              replicas: 1,
              readyReplicas: 1,
              availableReplicas: 1,
              updatedReplicas: 1,
              conditions: [
                {
                  type: 'Available',
                  status: 'True',
                  reason: 'MinimumReplicasAvailable',
                  message: 'Deployment has minimum availability.',
                  lastTransitionTime: new Date(),
                  lastUpdateTime: new Date(),
                },
              ],
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    const after = run(['check', '-n', ns, '-o', 'json']);
    expect(after.status, after.stdout + after.stderr).toBe(0);
    const checks = (
      JSON.parse(after.stdout) as { checks: { name: string; result: string; message: string }[] }
    ).checks;
    expect(checks.map((c) => c.name)).toEqual([
      'crd',
      'deployment',
      'pods',
      'leader',
      'secretmanagerconfigs',
    ]);
    expect(checks[1]).toEqual({
      name: 'deployment',
      result: 'ok',
      message: `deployment ${ns}/${NAME}: 1/1 available (image secret-manager-controller:0.1.0)`,
    });
    expect(checks[2]).toEqual({ name: 'pods', result: 'ok', message: `1/1 ready: ${POD} Running` });
    expect(checks[3]?.result).toBe('ok');
    expect(checks[3]?.message).toMatch(
      new RegExp(`^lease ${ns}/${LEASE}: held by ${POD} \\(renewed \\d+s ago\\)$`),
    );
  });

  it('names the state of a pod that cannot start (ImagePullBackOff)', async () => {
    const bad = `${NAME}-7d9c-bad`;
    await createControllerPod(bad);
    await setPodStatus(bad, {
      phase: 'Pending',
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date() }],
      containerStatuses: [
        {
          ...runningManager,
          ready: false,
          started: false,
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: 'Back-off pulling image "secret-manager-controller:0.1.0"',
            },
          },
        },
      ],
    });
    const r = run(['check', '-n', ns]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^fail\\s+pods\\s+1/2 ready: ${POD} Running; ${bad} ImagePullBackOff \\(Back-off pulling image "secret-manager-controller:0\\.1\\.0"\\)$`,
        'm',
      ),
    );
    await kube().client(CoreV1Api).deleteNamespacedPod({ name: bad, namespace: ns, gracePeriodSeconds: 0 });
  });

  it('fails when the installed CRD is not the one of the base it is compared with', async () => {
    // A base whose CRD has one more printer column than the installed one: the cluster's is stale.
    const base = await mkdtemp(path.join(os.tmpdir(), 'msmctl-check-'));
    cpSync(path.join(repoRoot, 'config'), base, { recursive: true });
    const crdFile = path.join(base, 'crd/secretmanagerconfig.yaml');
    const crd = readFileSync(crdFile, 'utf8');
    const column = '      additionalPrinterColumns:\n';
    expect(crd).toContain(column);
    writeFileSync(
      crdFile,
      crd.replace(
        column,
        `${column}        - name: Extra\n          type: string\n          jsonPath: .status.description\n`,
      ),
    );
    const r = run(['check', '-n', ns, '--from', base]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^fail\\s+crd\\s+${CRD.replace(/\./g, '\\.')} differs from the CRD in ${base}: run msmctl install --from ${base} to update it$`,
        'm',
      ),
    );
    rmSync(base, { recursive: true, force: true });
  });

  it('fails when the controller is not installed in the given namespace', async () => {
    const empty = await kube().createNamespace('msmctl-none');
    const r = run(['check', '-n', empty]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`^fail\\s+deployment\\s+deployment ${empty}/${NAME} not found: run msmctl install`, 'm'),
    );
  });

  it('--pre: an admin may install on this cluster; Flux and Argo CD CRDs are found', () => {
    const r = run(['check', '--pre']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+server-version\s+Kubernetes v1\.\d+\.\d+$/m);
    expect(r.stdout).toMatch(/^ok\s+crd-api\s+/m);
    expect(r.stdout).toMatch(
      /^ok\s+flux-sources\s+Flux source-controller CRDs found: gitrepositories\.source\.toolkit\.fluxcd\.io\/v1, /m,
    );
    expect(r.stdout).toMatch(/^ok\s+argo-cd\s+Argo CD CRDs found: applications\.argoproj\.io\/v1alpha1$/m);
    expect(r.stdout).toMatch(
      /^ok\s+install-permissions\s+may create and patch all 10 objects of msmctl install$/m,
    );
  });

  it('--pre: a ServiceAccount without rights is told what it may not do', async () => {
    const home = await kube().createNamespace('msmctl-sa');
    const sa = await kube().serviceAccountKubeconfig(home, 'nobody');
    const r = msmctl(['check', '--pre', '--kubeconfig', sa.kubeconfigPath], { env: { KUBECONFIG: '' } });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^ok\s+server-version\s+/m);
    expect(r.stdout).toMatch(
      /^fail\s+install-permissions\s+not allowed to install: create namespaces, patch namespaces, create customresourcedefinitions\.apiextensions\.k8s\.io, /m,
    );
    expect(r.stdout).toContain('create deployments.apps in secret-manager-controller-system');

    // And install itself reports each refused object and exits 1.
    const install = msmctl(['install', '--dry-run', '--kubeconfig', sa.kubeconfigPath], {
      env: { KUBECONFIG: '' },
    });
    expect(install.status).toBe(1);
    expect(install.stderr).toBe('msmctl: 10 of 10 object(s) failed\n');
    expect(install.stdout).toMatch(
      /^namespace\/secret-manager-controller-system failed \(server dry run\): 403 Forbidden: namespaces "secret-manager-controller-system" is forbidden: User "system:serviceaccount:msmctl-sa-[0-9a-f]+:nobody" cannot get resource "namespaces"/m,
    );
  });
});
