/**
 * The install examples of the docs, each on an empty kube-apiserver of its own (they create
 * cluster-scoped objects, and each needs a cluster nothing was installed into):
 *
 * - docs/cli.md `msmctl install`: `--export`, `--dry-run` on an empty cluster, the install, and the
 *   install again (all `unchanged`);
 * - docs/quick-start.md's Helm install, as printed (the chart from a checkout, the `helm` peer),
 *   then docs/cli.md's `msmctl install` over that release, refused with exit 2; the controller
 *   starts (ready) as the chart's ServiceAccount.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerPath } from '../peers.js';
import { type KubePeer, startKube } from '../peers/kube/index.js';
import { startController } from '../e2e/controller-process.js';
import { docBlock } from './doc-blocks.js';
import { type Sandbox, mismatches, runScript, runTranscript, sandbox } from './transcript.js';

/** Each step runs several processes (msmctl, kubectl, helm): generous on a loaded machine. */
const STEP_TIMEOUT_MS = 240_000;
const CONTROLLER_NS = 'secret-manager-controller-system';

interface World {
  kube: KubePeer;
  box: Sandbox;
}
let plain: World;
let helm: World;

async function world(): Promise<World> {
  const kube = await startKube({ crds: false });
  const box = await sandbox({ KUBECONFIG: kube.kubeconfigPath });
  const helmHome = join(box.dir, '.helm');
  await mkdir(helmHome);
  Object.assign(box.env, {
    PATH: [dirname(kube.info.kubectlPath), dirname(peerPath('helm')), box.env.PATH].join(':'),
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  });
  return { kube, box };
}

beforeAll(async () => {
  [plain, helm] = await Promise.all([world(), world()]);
}, 180_000);

afterAll(async () => {
  await Promise.all(
    [plain, helm].filter(Boolean).map(async (w) => {
      await w.kube.stop();
      await w.box.cleanup();
    }),
  );
}, 60_000);

describe.concurrent('install examples', { timeout: STEP_TIMEOUT_MS }, () => {
  it('docs/cli.md: msmctl install --export, --dry-run, the install and again', async () => {
    const block = docBlock('docs/cli.md', 'cli-install');
    expect(mismatches(block, await runTranscript(block, plain.box))).toEqual([]);
  });

  it('docs/quick-start.md: helm install as printed; then msmctl install is refused (docs/cli.md)', async () => {
    const install = await runScript(docBlock('docs/quick-start.md', 'qs-helm'), helm.box);
    expect(install.status, install.output).toBe(0);
    const dep = await helm.kube
      .client(AppsV1Api)
      .readNamespacedDeployment({ namespace: CONTROLLER_NS, name: 'secret-manager-controller' });
    expect(dep.spec!.template.spec!.containers[0]!.image).toMatch(
      /^registry\.example\.com\/secret-manager-controller:/,
    );
    const ns = await helm.kube.client(CoreV1Api).readNamespace({ name: CONTROLLER_NS });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const block = docBlock('docs/cli.md', 'cli-install-helm');
    expect(mismatches(block, await runTranscript(block, helm.box))).toEqual([]);

    // The chart's ServiceAccount and RBAC are enough for the controller to start and serve.
    const access = await helm.kube.serviceAccountKubeconfig(
      CONTROLLER_NS,
      dep.spec!.template.spec!.serviceAccountName!,
    );
    const controller = await startController(
      { KUBECONFIG: access.kubeconfigPath, POD_NAMESPACE: CONTROLLER_NS, TMPDIR: helm.box.dir },
      dep.spec!.template.spec!.containers[0]!.args ?? [],
      { readyTimeoutMs: 120_000 },
    );
    expect(await controller.stop()).toBe(0);
  });
});
