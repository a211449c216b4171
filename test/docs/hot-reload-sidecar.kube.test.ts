/**
 * The reloader sidecar of docs/hot-reload.md in front of the doc's own programs, end to end on the
 * real kube-apiserver: a Git change → the controller (a process, its ServiceAccount, the shipped
 * RBAC) → the Kubernetes Secret → two Secret volumes projected the way the kubelet does
 * (test/e2e/kubelet-projection.ts, with `items` mapping the Secret key
 * `payments-properties` to the file `DB_PASSWORD` the programs read) →
 *
 * - `msmctl reloader --signal HUP --pid-file …` in front of the Go program (built from the doc);
 * - `msmctl reloader --post http://127.0.0.1:PORT/reload --token-file …` in front of the Python
 *   HTTP endpoint (the doc's `reload_endpoint.py`, importing `secrets_reload.py`).
 *
 * Each program reloads exactly once for the change (its own watcher and the sidecar's delivery
 * fold into one reload: SIGHUP and POST /reload reload only changed content), the sidecar
 * delivers once, and no value appears in any output.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { freePort } from '../peers/free-port.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { type ControllerProcess, startController } from '../e2e/controller-process.js';
import { type Projection, projectSecret } from '../e2e/kubelet-projection.js';
import { removeShippedRbac, shippedRbacAccess } from '../e2e/rbac.js';
import { smcClient } from '../e2e/smc.js';
import { buildGoProgram, pythonBin, writePythonPrograms } from './doc-programs.js';
import { msmctlEntry } from './msmctl-entry.js';
import { type Program, startProgram } from './program.js';

const kube = useKube();
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';
/** The Secret volume's items: the programs read DB_PASSWORD. */
const ITEMS = { 'payments-properties': 'DB_PASSWORD', 'payments-STRIPE_API_KEY': 'STRIPE_API_KEY' };
const RELOADED = /secrets reloaded/;

let scratch: string;
let tree: string;
let ns: string;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
const projections: Projection[] = [];
const programs: Program[] = [];
let values: string[] = [];

const commit = (n: number): string => n.toString(16).padStart(40, '0');

async function publish(n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', commit(n)) });
  await setFluxArtifact(kube(), ref, artifact);
}

async function secretValues(): Promise<string[]> {
  const s = await kube().client(CoreV1Api).readNamespacedSecret({ namespace: ns, name: 'app' });
  return Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'));
}

function reloader(args: string[]): Program {
  const p = startProgram('msmctl reloader', process.execPath, [msmctlEntry(), 'reloader', ...args]);
  programs.push(p);
  return p;
}

let goApp: Program;
let goSidecar: Program;
let pyApp: Program;
let pySidecar: Program;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-doc-sidecar-'));
  tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const [goBin] = await Promise.all([
    buildGoProgram('reload-go', join(scratch, 'go'), { probe: true }),
    writePythonPrograms(join(scratch, 'py')),
  ]);
  artifacts = await startArtifactServer();
  ns = await kube().createNamespace('doc-sidecar');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'sops-age' },
        stringData: { 'age.agekey': await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8') },
      },
    });
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController(
    { KUBECONFIG: access.kubeconfigPath, WATCH_NAMESPACES: ns, POD_NAMESPACE: ns },
    [],
    { readyTimeoutMs: 120_000 },
  );
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  await publish(1);
  const smc = smcClient(kube, ns, () => controller.log());
  await smc.create('app', {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { kubernetes: {} },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
  });
  await smc.waitStatus('app', (s) => s.phase === 'Synced', 120_000);
  values = await secretValues();

  // Two pods' volumes, and in each an application with its sidecar.
  const goVolume = join(scratch, 'go-volume');
  const pyVolume = join(scratch, 'py-volume');
  for (const dir of [goVolume, pyVolume])
    projections.push(await projectSecret(kube(), ns, 'app', dir, 50, ITEMS));
  const v1 = (await readFile(join(goVolume, 'DB_PASSWORD'), 'utf8')).trim();

  goApp = startProgram('go reload-go', goBin, [], {
    env: { SECRETS_DIR: goVolume, PROBE_LABELS: JSON.stringify({ [v1]: 'v1' }) },
  });
  programs.push(goApp);
  await goApp.waitForCount(/^PROBE current v1$/, 1, 'the Go program to start with v1');
  const pidFile = join(scratch, 'app.pid'); // a shared emptyDir in a pod
  await writeFile(pidFile, `${goApp.proc.pid}\n`);
  goSidecar = reloader(['--watch', goVolume, '--signal', 'HUP', '--pid-file', pidFile]);

  const port = await freePort();
  const tokenFile = join(scratch, 'token'); // the token Secret both containers mount
  await writeFile(tokenFile, `doc-sidecar-${Date.now()}\n`);
  pyApp = startProgram(
    'python reload_endpoint.py',
    pythonBin(),
    [join(scratch, 'py', 'reload_endpoint.py')],
    {
      cwd: join(scratch, 'py'),
      env: { SECRETS_DIR: pyVolume, PORT: String(port), RELOAD_TOKEN_FILE: tokenFile },
    },
  );
  programs.push(pyApp);
  await pyApp.waitForCount(/Running on http:\/\/127\.0\.0\.1/, 1, 'Flask to listen');
  // The endpoint as the doc describes it: the token is required, other methods get 405, and a
  // request with nothing changed reloads nothing.
  const endpoint = `http://127.0.0.1:${port}/reload`;
  const unauthorized = await fetch(endpoint, { method: 'POST', headers: { Authorization: 'Bearer wrong' } });
  expect([unauthorized.status, await unauthorized.json()]).toEqual([401, { status: 'unauthorized' }]);
  expect((await fetch(endpoint)).status).toBe(405);
  const token = (await readFile(tokenFile, 'utf8')).trim();
  const unchanged = await fetch(endpoint, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  expect([unchanged.status, await unchanged.json()]).toEqual([200, { status: 'unchanged' }]);
  pySidecar = reloader([
    '--watch',
    pyVolume,
    '--post',
    `http://127.0.0.1:${port}/reload`,
    '--token-file',
    tokenFile,
  ]);

  await Promise.all(
    [goSidecar, pySidecar].map((s) => s.waitForCount(/reloader started/, 1, 'the sidecar to start')),
  );
}, 300_000);

afterAll(async () => {
  await Promise.all(programs.map((p) => p.stop()));
  await Promise.all(projections.map((p) => p.stop()));
  const code = await controller?.stop();
  if (ns) await removeShippedRbac(kube(), ns);
  await artifacts?.stop();
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
}, 120_000);

describe(
  'Git change → controller → Secret → projected volume → sidecar → the doc programs',
  { timeout: 300_000 },
  () => {
    it('each program reloads exactly once, each sidecar delivers once, no value is printed', async () => {
      const goReloadsAtStart = goApp.count(RELOADED); // the Go program's first load logs it
      const props = join(tree, PROPS);
      const text = await readFile(props, 'utf8');
      await writeFile(props, text.replace('payments.currency=EUR', 'payments.currency=USD'));
      await publish(2);

      await goSidecar.waitForCount(/reload delivered/, 1, 'the SIGHUP delivered', 120_000);
      await pySidecar.waitForCount(/reload delivered/, 1, 'the POST delivered', 120_000);
      await goApp.waitForCount(/^PROBE current unknown$/, 1, 'the Go program to use the new value');
      await goApp.waitForCount(/SIGHUP: checking the secrets/, 1, 'the Go program to get the SIGHUP');
      await pyApp.waitForCount(/"POST \/reload HTTP\/1\.1" 200/, 1, 'the endpoint to answer 200');
      await pyApp.waitForCount(RELOADED, 1, 'the Python program to reload');
      // Anything late (a second reload, a second delivery) would come now: one more real change
      // to every volume is the barrier, after which the counts must have grown by exactly one.
      await writeFile(props, text.replace('payments.currency=EUR', 'payments.currency=CHF'));
      await publish(3);
      await goSidecar.waitForCount(/reload delivered/, 2, 'the second SIGHUP delivered', 120_000);
      await pySidecar.waitForCount(/reload delivered/, 2, 'the second POST delivered', 120_000);
      await goApp.waitForCount(/^PROBE current unknown$/, 2, 'the Go program to use the third value');
      await pyApp.waitForCount(RELOADED, 2, 'the Python program to reload again');

      expect(goApp.count(RELOADED) - goReloadsAtStart).toBe(2);
      expect(pyApp.count(RELOADED)).toBe(2);
      expect(goSidecar.count(/reload delivered/)).toBe(2);
      expect(pySidecar.count(/reload delivered/)).toBe(2);
      expect(projections.map((p) => p.writes.length)).toEqual([3, 3]);

      const all = [...values, ...(await secretValues())].filter((v) => v.length >= 8);
      for (const p of programs) {
        for (const v of all) expect(p.output()).not.toContain(v);
        expect(p.output()).not.toMatch(/payments\.currency/);
      }
    });
  },
);
