/**
 * docs/quick-start.md, step by step and in order, on a kube-apiserver of its own (the install
 * creates cluster-scoped objects the run's shared cluster must not get) with the Flux source CRDs:
 * `msmctl install`, the key Secret, the settings patch, the namespace, the GitRepository and the
 * SecretManagerConfig exactly as the doc shows them, then the status commands, whose output must be
 * what the doc prints. What the cluster cannot do here is played by the test, as the doc says:
 * the controller's pod is the controller run as a process with the installed ServiceAccount's
 * token, the Deployment's arguments and its namespace (restarted where the doc restarts the
 * rollout), and Flux's fetch is the test's artifact server publishing `examples/gitops`.
 *
 * Then the docs/cli.md examples that need a cluster (`list`, `status`, `reconcile`, `suspend`,
 * `check --pre`), on the same SMC.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArtifactServer,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { type KubePeer, defaultCrdFiles, startKube } from '../peers/kube/index.js';
import { type ControllerProcess, startController } from '../e2e/controller-process.js';
import { smcClient } from '../e2e/smc.js';
import { docBlock } from './doc-blocks.js';
import { type Sandbox, mismatches, runTranscript, sandbox } from './transcript.js';

const QS = 'docs/quick-start.md';
/** Each step runs several processes (msmctl, kubectl, helm): generous on a loaded machine. */
const STEP_TIMEOUT_MS = 240_000;
const CONTROLLER_NS = 'secret-manager-controller-system';

let kube: KubePeer;
let box: Sandbox;
let artifacts: ArtifactServer;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  // Flux's CRDs only: the SecretManagerConfig CRD is what `msmctl install` brings.
  const flux = (await defaultCrdFiles()).filter(
    (f) => !/secretmanagerconfig|argo|application|appproject/i.test(f),
  );
  [kube, artifacts] = await Promise.all([startKube({ crds: flux }), startArtifactServer()]);
  box = await sandbox({ KUBECONFIG: kube.kubeconfigPath });
  box.env.PATH = `${join(kube.info.kubectlPath, '..')}:${box.env.PATH}`;
}, 180_000);

afterAll(async () => {
  const code = await controller?.stop();
  await artifacts?.stop();
  await kube?.stop();
  await box?.cleanup();
  if (controller) expect(code).toBe(0);
}, 60_000);

/** Runs a console block and expects every command to print what the doc shows. */
async function runBlock(file: string, tag: string): Promise<void> {
  const block = docBlock(file, tag);
  expect(mismatches(block, await runTranscript(block, box))).toEqual([]);
}

/** The controller's pod: the installed Deployment's arguments, its namespace, its ServiceAccount. */
async function startControllerPod(): Promise<ControllerProcess> {
  const dep = await kube.client(AppsV1Api).readNamespacedDeployment({
    namespace: CONTROLLER_NS,
    name: 'secret-manager-controller',
  });
  const pod = dep.spec!.template.spec!;
  const access = await kube.serviceAccountKubeconfig(CONTROLLER_NS, pod.serviceAccountName!);
  return startController(
    { KUBECONFIG: access.kubeconfigPath, POD_NAMESPACE: CONTROLLER_NS, TMPDIR: box.dir },
    pod.containers[0]!.args ?? [],
    { readyTimeoutMs: 120_000 },
  );
}

/** The values of the local store after `msmctl sync` of the example: what the Secret must hold. */
async function exampleValues(): Promise<Record<string, string>> {
  const sync = docBlock('README.md', 'readme-first-run').text.match(/npx msmctl sync [^\n]*/)![0];
  const [r] = await runTranscript({ ...docBlock('README.md', 'readme-first-run'), text: `$ ${sync}\n` }, box);
  expect(r!.status).toBe(0);
  const dir = join(box.dir, 'msm-demo');
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.'));
  return Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')])),
  );
}

describe('docs/quick-start.md, in order', { timeout: STEP_TIMEOUT_MS }, () => {
  it('1. msmctl install; the API is served', async () => {
    await runBlock(QS, 'qs-install');
    await runBlock(QS, 'qs-api');
  });

  it('2. the SOPS key, and the settings letting namespace apps use it; the controller (re)starts', async () => {
    await runBlock(QS, 'qs-key');
    await runBlock(QS, 'qs-key-namespaces');
    controller = await startControllerPod(); // the pod the rollout restart brings up
  });

  it('4. namespace apps and its Flux GitRepository, as printed (Flux fetching it is played by the test)', async () => {
    await runBlock(QS, 'qs-namespace');
    await kube.kubectl(['apply', '-f', '-'], { input: docBlock(QS, 'qs-gitrepository').text });
    const ref = { kind: 'GitRepository' as const, namespace: 'apps', name: 'platform-secrets' };
    const artifact = await artifacts.publishDirectory(ref, join(box.dir, 'examples/gitops'), {
      revision: gitRevision('main', 'feedface'.repeat(5)),
    });
    await setFluxArtifact(kube, ref, artifact);
  });

  it('5. the SecretManagerConfig, as printed: the Secret holds the example values', async () => {
    await kube.kubectl(['apply', '-f', '-'], { input: docBlock(QS, 'qs-smc').text });
    const smc = smcClient(
      () => kube,
      'apps',
      () => controller!.log(),
    );
    await smc.waitStatus('payments', (s) => s.phase === 'Synced', 60_000);
    const secret = await kube
      .client(CoreV1Api)
      .readNamespacedSecret({ namespace: 'apps', name: 'payments-secrets' });
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    expect(data).toEqual(await exampleValues());
    const log = controller!.log();
    for (const value of Object.values(data)) expect(log).not.toContain(value);
  });

  it('the status, with msmctl and with kubectl, prints what the doc shows', async () => {
    await Promise.all([runBlock(QS, 'qs-status'), runBlock(QS, 'qs-kubectl')]); // read-only: at once
    await runBlock(QS, 'qs-reconcile');
  });
});

describe('docs/cli.md cluster examples, on the SMC of the quick start', { timeout: STEP_TIMEOUT_MS }, () => {
  it('cli-list, cli-status and cli-check-pre (read-only, run at once) print what the doc shows', async () => {
    await Promise.all(['cli-list', 'cli-status', 'cli-check-pre'].map((tag) => runBlock('docs/cli.md', tag)));
  });

  it.each(['cli-reconcile', 'cli-suspend', 'cli-git-pulls'])('%s prints what the doc shows', async (tag) => {
    await runBlock('docs/cli.md', tag);
  });
});
