/**
 * Bad input end to end: one controller process (its ServiceAccount, the shipped RBAC) against the
 * real kube-apiserver and the GCP Secret Manager emulator, several SecretManagerConfigs in one
 * namespace.
 *  - invalid specs are refused by the CRD schema at `kubectl apply`, naming the field;
 *  - unsafe artifacts (tar-slip `..` entry, absolute path, escaping symlink), a SOPS file whose MAC
 *    no longer matches and a malformed YAML secrets file each give `Ready=False` with a specific
 *    reason and a message naming the file or entry, and nothing reaches the store — while a healthy
 *    SMC in the same controller keeps syncing;
 *  - `kubectl get smc` prints the printer columns and `-o jsonpath='{.status.lastSyncTime}'` an
 *    RFC 3339 time (the hot-reload guide's troubleshooting step).
 * A tampered artifact digest and a wrong SOPS key are covered by e2e-flux.kube.test.ts.
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  type RawTarEntry,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
  tarGzOfEntries,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { GROUP, VERSION, condition, smcClient } from './smc.js';

const kube = useKube();
const CATALOG_YAML = 'catalog/deployment-configuration/profiles/dev/application.secrets.yaml';
const PAYMENTS_PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';

let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
/** The controller's TMPDIR: its artifact cache (and anything a tar-slip could reach) lives here. */
let controllerTmp: string;
let ns: string;
let smcs: ReturnType<typeof smcClient>;
let healthyProject: string;

const commit = (n: number): string => n.toString(16).padStart(40, '0');

const gcpSecretNames = (project: string) => gcp.secretNames(project);

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

/** A copy of the example repository, changed by `edit`; returns its directory. */
async function exampleTree(name: string, edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(scratch, name);
  await cp(join(repoRoot, 'examples/gitops'), dir, { recursive: true });
  await edit?.(dir);
  return dir;
}

async function publishTree(source: string, dir: string, n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: source };
  const artifact = await artifacts.publishDirectory(ref, dir, { revision: gitRevision('main', commit(n)) });
  await setFluxArtifact(kube(), ref, artifact);
}

/** An SMC on its own GitRepository and its own (empty) GCP project; returns the project. */
async function createSmcOn(name: string, source: string): Promise<string> {
  const project = gcp.newProject();
  await smcs.create(name, {
    sourceRef: { kind: 'GitRepository', name: source },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
  });
  return project;
}

/** Every file path under `dir` whose name is `name`. */
async function filesNamed(dir: string, name: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true });
  return all.filter((p) => p === name || p.endsWith(`/${name}`));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-bad-input-'));
  controllerTmp = join(scratch, 'controller-tmp');
  await cp(join(repoRoot, 'examples/keys/demo.agekey'), join(scratch, 'demo.agekey'));
  [gcp, artifacts] = await Promise.all([startGcpSecretManager(), startArtifactServer()]);
  ns = await kube().createNamespace('e2e-bad-input');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'sops-age' },
        stringData: { 'age.agekey': await readFile(join(scratch, 'demo.agekey'), 'utf8') },
      },
    });
  const access = await shippedRbacAccess(kube(), ns);
  await mkdir(controllerTmp);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    TMPDIR: controllerTmp,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
  });
  smcs = smcClient(kube, ns, () => controller.log());

  // The healthy SMC, synced before any bad input arrives.
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'good' });
  await publishTree('good', await exampleTree('good-1'), 1);
  healthyProject = await createSmcOn('healthy', 'good');
  await smcs.waitStatus('healthy', (s) => s.phase === 'Synced');
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await Promise.all([gcp?.stop(), artifacts?.stop()]);
  expect(code).toBe(0);
  await rm(scratch, { recursive: true, force: true });
});

describe('invalid specs are refused at kubectl apply, naming the field', () => {
  const base = {
    sourceRef: { kind: 'GitRepository', name: 'good' },
    provider: { gcp: { projectId: 'my-project' } },
    secrets: { environment: 'dev' },
  };
  const cases: { name: string; spec: Record<string, unknown>; field: string; says: RegExp }[] = [
    {
      name: 'two-providers',
      spec: { ...base, provider: { gcp: { projectId: 'my-project' }, aws: { region: 'eu-west-1' } } },
      field: 'spec.provider',
      says: /exactly one of gcp, aws, azure or kubernetes must be set/,
    },
    {
      name: 'bad-prefix',
      spec: { ...base, secrets: { environment: 'dev', prefix: 'my.app' } },
      field: 'spec.secrets.prefix',
      says: /should match '\^\[A-Za-z0-9_-\]\+\$'/,
    },
    {
      name: 'git-credentials-on-flux',
      spec: { ...base, sourceRef: { kind: 'GitRepository', name: 'good', gitCredentials: { name: 'c' } } },
      field: 'spec.sourceRef.gitCredentials',
      says: /only allowed when kind is Application/,
    },
    {
      name: 'bad-duration',
      spec: { ...base, reconcileInterval: '1d' },
      field: 'spec.reconcileInterval',
      says: /should match/,
    },
  ];

  it.each(cases)('$name', async ({ name, spec, field, says }) => {
    const manifest = stringify({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'SecretManagerConfig',
      metadata: { name, namespace: ns },
      spec,
    });
    const err = await kube()
      .kubectl(['apply', '-f', '-'], { input: manifest })
      .then(
        (out) => new Error(`kubectl apply accepted it: ${out}`),
        (e: unknown) => e as Error,
      );
    console.log(`kubectl apply (${name}): ${err.message.replace(/^kubectl [^:]*: /, '')}`);
    // One error, naming the field: `The SecretManagerConfig "x" is invalid: <field>: <what>`.
    expect(err.message).toContain(`The SecretManagerConfig "${name}" is invalid: ${field}: `);
    expect(err.message).toMatch(says);
    expect(await smcs.get(name)).toBeUndefined();
  });
});

describe('bad input in the source: Ready=False with a specific reason, nothing pushed, others unaffected', () => {
  /** Where each bad SMC was pointed; checked again at the end. */
  const badProjects = new Map<string, string>();

  // Entry paths are functions: the absolute one points into this run's scratch directory.
  const tarSlips: { name: string; entry: () => RawTarEntry; check: string; shown: () => string }[] = [
    {
      name: 'slip-parent',
      entry: () => ({ path: '../../evil', content: 'tar-slip canary' }),
      check: 'parent-traversal',
      shown: () => '"../../evil"',
    },
    {
      name: 'slip-absolute',
      entry: () => ({ path: join(scratch, 'evil'), content: 'tar-slip canary' }),
      check: 'absolute-path',
      shown: () => JSON.stringify(join(scratch, 'evil')),
    },
    {
      name: 'slip-symlink',
      entry: () => ({ path: 'payments/evil', type: 'SymbolicLink', linkpath: '../../../../../../etc' }),
      check: 'link',
      shown: () => '"payments/evil" is a symbolic link (to "../../../../../../etc")',
    },
  ];

  it.each(tarSlips)('tar-slip artifact ($check) → UnsafeArchive naming the entry', async (c) => {
    const ref = { kind: 'GitRepository' as const, namespace: ns, name: c.name };
    await createFluxSource(kube(), ref);
    // A legitimate file first, so a half-done extraction would leave something behind.
    const tgz = tarGzOfEntries([
      { path: 'payments/', type: 'Directory' },
      { path: 'payments/slip-marker.txt', content: 'a=b\n' },
      c.entry(),
    ]);
    const artifact = await artifacts.publishBytes(ref, tgz, { revision: gitRevision('main', commit(7)) });
    await setFluxArtifact(kube(), ref, artifact);
    const project = await createSmcOn(c.name, c.name);
    badProjects.set(c.name, project);

    const s = await smcs.waitStatus(c.name, (x) => condition(x, 'Ready')?.status === 'False');
    const ready = condition(s, 'Ready');
    console.log(`${c.name}: Ready=False ${ready?.reason}: ${ready?.message}`);
    expect(ready?.reason).toBe('UnsafeArchive');
    expect(ready?.message).toContain(`unsafe archive (${c.check})`);
    expect(ready?.message).toContain(c.shown());
    expect(s.phase).toBe('Error');
    expect(condition(s, 'SourceReady')).toMatchObject({ status: 'False', reason: 'UnsafeArchive' });
    expect(condition(s, 'Stalled')?.status).toBe('True');
    expect(s.lastSyncTime).toBeUndefined();
    expect(await gcpSecretNames(project)).toEqual([]);
    // Nothing was written outside the controller's cache, nor left half-extracted inside it.
    expect(await filesNamed(scratch, 'evil')).toEqual([]);
    expect(await filesNamed(controllerTmp, 'slip-marker.txt')).toEqual([]);
  });

  it('a SOPS file whose MAC no longer matches → SopsMacMismatch naming the file', async () => {
    // Delete one encrypted value from the file: every remaining value still decrypts, but the MAC
    // over all values does not match any more (what sops itself refuses).
    const dir = await exampleTree('tampered-mac', async (d) => {
      const file = join(d, CATALOG_YAML);
      const text = await readFile(file, 'utf8');
      const tampered = text.replace(/^ {4}endpoint: ENC\[[^\]]+\]\n/m, '');
      expect(tampered).not.toBe(text);
      await writeFile(file, tampered);
    });
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'tampered-mac' });
    await publishTree('tampered-mac', dir, 1);
    const project = await createSmcOn('tampered-mac', 'tampered-mac');
    badProjects.set('tampered-mac', project);

    const s = await smcs.waitStatus('tampered-mac', (x) => condition(x, 'Ready')?.status === 'False');
    const ready = condition(s, 'Ready');
    console.log(`tampered-mac: Ready=False ${ready?.reason}: ${ready?.message}`);
    expect(ready?.reason).toBe('SopsMacMismatch');
    expect(ready?.message).toContain(CATALOG_YAML);
    expect(ready?.message).toMatch(/MAC/);
    expect(JSON.stringify(s)).not.toContain('sk_test_demo_51Hx'); // the intact files' values neither
    expect(s.phase).toBe('Error');
    expect(condition(s, 'SourceReady')?.status).toBe('True'); // the artifact was fine
    expect(condition(s, 'Stalled')?.status).toBe('True');
    // Nothing pushed: not even the other, intact files of the same revision.
    expect(await gcpSecretNames(project)).toEqual([]);
  });

  it('a malformed YAML secrets file → ParseError naming the file and line', async () => {
    const dir = await exampleTree('malformed-yaml', async (d) => {
      await writeFile(join(d, CATALOG_YAML), 'redis:\n  host: cache\n  password: [unclosed\n');
    });
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'malformed-yaml' });
    await publishTree('malformed-yaml', dir, 1);
    const project = await createSmcOn('malformed-yaml', 'malformed-yaml');
    badProjects.set('malformed-yaml', project);

    const s = await smcs.waitStatus('malformed-yaml', (x) => condition(x, 'Ready')?.status === 'False');
    const ready = condition(s, 'Ready');
    console.log(`malformed-yaml: Ready=False ${ready?.reason}: ${ready?.message}`);
    expect(ready?.reason).toBe('ParseError');
    expect(ready?.message).toMatch(new RegExp(`${CATALOG_YAML.replace(/\./g, '\\.')}:\\d+`));
    expect(s.phase).toBe('Error');
    expect(condition(s, 'SourceReady')?.status).toBe('True');
    expect(await gcpSecretNames(project)).toEqual([]);
  });

  it('meanwhile the healthy SMC syncs a new revision; the bad ones still pushed nothing', async () => {
    const t0 = performance.now();
    const dir = await exampleTree('good-2', async (d) => {
      const props = join(d, PAYMENTS_PROPS);
      const text = await readFile(props, 'utf8');
      await writeFile(props, text.replace('payments.currency=EUR', 'payments.currency=CHF'));
    });
    await publishTree('good', dir, 2);
    await waitFor(
      'the healthy SMC to sync revision 2',
      async () =>
        (await gcpValue(healthyProject, 'payments-properties'))?.includes('"CHF"') ? true : undefined,
      { log: () => controller.log() },
    );
    console.log(
      `healthy SMC: new revision in the store ${(performance.now() - t0).toFixed(0)} ms after publishing`,
    );
    const s = await smcs.waitStatus(
      'healthy',
      (x) => x.lastSyncedRevision === gitRevision('main', commit(2)),
    );
    expect(s.phase).toBe('Synced');
    expect(condition(s, 'Ready')?.status).toBe('True');
    expect(badProjects.size).toBe(tarSlips.length + 2);
    for (const [name, project] of badProjects) {
      expect(await gcpSecretNames(project), name).toEqual([]);
      expect((await smcs.get(name))?.status?.phase, name).toBe('Error');
    }
  });
});

describe('kubectl views of an SMC', () => {
  it('kubectl get smc prints the printer columns; -o wide adds Description', async () => {
    const table = await kube().kubectl(['get', 'smc', '-n', ns]);
    console.log(`kubectl get smc:\n${table}`);
    const [header, ...rows] = table.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'PHASE', 'SECRETS', 'LAST SYNC', 'READY', 'AGE']);
    const healthy = rows.find((r) => r.startsWith('healthy '))!.split(/\s+/);
    expect(healthy.slice(0, 3)).toEqual(['healthy', 'Synced', expect.stringMatching(/^[1-9]\d*$/)]);
    expect(healthy[4]).toBe('True');
    const bad = rows.find((r) => r.startsWith('malformed-yaml '))!.split(/\s+/);
    expect(bad[1]).toBe('Error');
    expect(bad).toContain('False');

    const wide = await kube().kubectl(['get', 'smc', 'healthy', '-n', ns, '-o', 'wide']);
    console.log(`kubectl get smc healthy -o wide:\n${wide}`);
    const [wideHeader, wideRow] = wide.trimEnd().split('\n');
    expect(wideHeader!.split(/\s{2,}/)).toEqual([
      'NAME',
      'PHASE',
      'SECRETS',
      'LAST SYNC',
      'READY',
      'AGE',
      'DESCRIPTION',
    ]);
    expect(wideRow).toMatch(/synced from revision main@sha1:/);
  });

  it("kubectl get smc X -o jsonpath='{.status.lastSyncTime}' prints an RFC 3339 time", async () => {
    const out = await kube().kubectl([
      'get',
      'smc',
      'healthy',
      '-n',
      ns,
      '-o',
      'jsonpath={.status.lastSyncTime}',
    ]);
    console.log(`kubectl get smc healthy -o jsonpath='{.status.lastSyncTime}': ${out}`);
    expect(out).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const at = Date.parse(out);
    expect(at).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(at).toBeGreaterThan(Date.now() - 10 * 60_000);
    // A failing SMC has never synced: the field is empty.
    const never = await kube().kubectl([
      'get',
      'smc',
      'tampered-mac',
      '-n',
      ns,
      '-o',
      'jsonpath={.status.lastSyncTime}',
    ]);
    expect(never).toBe('');
  });
});
