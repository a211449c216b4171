/**
 * Per-SMC SOPS keys and tenant isolation end to end (docs/sops.md, docs/security.md "Tenant
 * isolation defaults"): the controller as a separate process (its ServiceAccount, the shipped RBAC,
 * its own namespace), two tenant namespaces, files encrypted by the real `sops` binary to fresh
 * keys, the GCP Secret Manager emulator as the store, and the DEFAULT settings (cross-namespace
 * references refused, the controller-wide key for the controller's own namespace only).
 *
 * - `gpgSecretRef`: a file encrypted to a fresh PGP key syncs.
 * - two namespaces, each with its own age key Secret: each SMC decrypts only what is encrypted to its
 *   own key; a reference to the other namespace's key Secret is refused (`AccessDenied`, naming the
 *   setting) and nothing is pushed.
 * - PGP key rotation: Git re-encrypted to a new key fails with a SOPS reason naming the file until the
 *   key Secret is updated; that update alone triggers the reconcile that succeeds.
 * - Tenant isolation: A naming B's source, B's credentials Secret → AccessDenied naming
 *   no_cross_namespace_refs; A falling back to the controller-wide `sops-keys` without being listed
 *   → AccessDenied naming controller_key_namespaces, the key sources tried and a hint at A's own
 *   `sops-keys`; a second controller with `controller_key_namespaces: "*"` decrypts with it; the
 *   ServiceAccount may neither list nor watch Secrets cluster-wide (nor list them in a tenant namespace).
 * (age key rotation is in e2e-flux.kube.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  type FluxArtifact,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { condition, smcClient } from './smc.js';
import { type AgeKey, type PgpKey, SopsEncryptor, freshAgeKey, freshPgpKey } from './sops-fixtures.js';

const kube = useKube();
const ENV_FILE = 'svc/deployment-configuration/profiles/dev/application.secrets.env';
const ENV_NAME = 'application.secrets.env';

let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let sops: SopsEncryptor;
let scratch: string;
/** The controller's namespace, and the two tenants'. */
let ctl: string;
let nsA: string;
let nsB: string;
let keyA: AgeKey;
let keyB: AgeKey;
/** The controller-wide key (`sops-keys` in the controller namespace). */
let keyCtl: AgeKey;
/** The controller's ServiceAccount credentials. */
let saKubeConfig: KubeConfig;
let starController: ControllerProcess | undefined;
let nsStar: string;
const log = () => controller.log();
/** Canary values: must reach the store and nowhere else. */
const canaries: string[] = [];
function canary(tag: string): string {
  const v = `canary-${tag}-${Math.random().toString(36).slice(2, 10)}`;
  canaries.push(v);
  return v;
}

let commitN = 0;
/** Write a tree whose one env file is encrypted to `to`, and publish it as the artifact of `ns/name`. */
async function publish(
  ns: string,
  name: string,
  env: Record<string, string>,
  to: { age?: AgeKey[]; pgp?: PgpKey[] },
): Promise<FluxArtifact> {
  const tree = await mkdtemp(join(scratch, 'tree-'));
  const plain = Object.entries(env)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  await sops.encrypt(join(tree, ENV_FILE), plain, to);
  const ref = { kind: 'GitRepository' as const, namespace: ns, name };
  const artifact = await artifacts.publishDirectory(ref, tree, {
    revision: gitRevision('main', (++commitN).toString(16).padStart(40, '0')),
  });
  await setFluxArtifact(kube(), ref, artifact);
  return artifact;
}

async function keySecret(ns: string, name: string, data: Record<string, string>, replace = false) {
  const core = kube().client(CoreV1Api);
  const body = { metadata: { name }, stringData: data };
  if (replace) await core.replaceNamespacedSecret({ namespace: ns, name, body });
  else await core.createNamespacedSecret({ namespace: ns, body });
}

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

async function gcpSecretNames(project: string): Promise<string[]> {
  const [list] = await gcp.client().listSecrets({ parent: `projects/${project}` });
  return list.map((s) => s.name!.split('/').pop()!).sort();
}

function spec(source: string, project: string, sops: Record<string, unknown>, extra = {}) {
  return {
    sourceRef: { kind: 'GitRepository', name: source },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops },
    ...extra,
  };
}

async function events(ns: string, name: string): Promise<{ reason?: string; message?: string }[]> {
  const list = await kube()
    .client(CoreV1Api)
    .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-sops-keys-'));
  [gcp, artifacts, sops, keyA, keyB, keyCtl] = await Promise.all([
    startGcpSecretManager(),
    startArtifactServer(),
    SopsEncryptor.create(),
    freshAgeKey(),
    freshAgeKey(),
    freshAgeKey(),
  ]);
  [ctl, nsA, nsB, nsStar] = await Promise.all([
    kube().createNamespace('e2e-keys-ctl'),
    kube().createNamespace('e2e-keys-a'),
    kube().createNamespace('e2e-keys-b'),
    kube().createNamespace('e2e-keys-star'),
  ]);
  // Each tenant namespace holds its own age key under the same Secret name.
  await keySecret(nsA, 'sops-age', { 'age.agekey': `${keyA.identity}\n` });
  await keySecret(nsB, 'sops-age', { 'age.agekey': `${keyB.identity}\n` });
  await keySecret(ctl, 'sops-keys', { 'age.agekey': `${keyCtl.identity}\n` });
  const access = await shippedRbacAccess(kube(), ctl);
  saKubeConfig = access.kubeConfig();
  // The default settings: only what the test harness needs (endpoints, namespaces, fast retries,
  // and referenced Secrets polled every second so that rotations show quickly).
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: `${nsA},${nsB}`,
    POD_NAMESPACE: ctl,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    SECRET_POLL_INTERVAL: '1s',
    LOG_LEVEL: 'debug',
  });
}, 120_000);

afterAll(async () => {
  const starCode = await starController?.stop();
  if (starController) expect(starCode).toBe(0);
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ctl);
  await Promise.all([gcp?.stop(), artifacts?.stop(), sops?.cleanup()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

/** No canary value and no key material in the controller's log, any SMC status or Event. */
async function expectNoLeak(keys: string[]): Promise<void> {
  const seen = [log()];
  for (const ns of [nsA, nsB]) {
    const smcs = smcClient(kube, ns, log);
    for (const name of [
      'pgp',
      'tenant',
      'wrong-key',
      'bad-key',
      'cross',
      'rotate',
      'b-source',
      'b-creds',
      'ctl-key',
      'late-key',
    ]) {
      const o = await smcs.get(name);
      if (o) seen.push(JSON.stringify(o.status ?? {}));
      seen.push(JSON.stringify(await events(ns, name)));
    }
  }
  const all = seen.join('\n');
  for (const v of [...canaries, ...keys]) expect(all.includes(v), 'a value or key leaked').toBe(false);
}

describe('per-SMC SOPS keys', () => {
  it('gpgSecretRef: files encrypted to a fresh PGP key sync to the store', async () => {
    const pgp = await freshPgpKey('e2e-pgp');
    sops.importPgp(pgp);
    const project = gcp.newProject();
    const values = { DB_PASSWORD: canary('pgp-db'), API_TOKEN: canary('pgp-api') };
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'pgp-src' });
    const artifact = await publish(nsA, 'pgp-src', values, { pgp: [pgp] });
    await keySecret(nsA, 'pgp-key', { 'private.key': pgp.privateArmored });
    const smcs = smcClient(kube, nsA, log);
    await smcs.create('pgp', spec('pgp-src', project, { gpgSecretRef: { name: 'pgp-key' } }));
    const s = await smcs.waitStatus('pgp', (x) => x.phase === 'Synced');
    expect(condition(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(s.lastSyncedRevision).toBe(artifact.revision);
    expect(s.entries?.map((e) => [e.storeName, e.state]).sort()).toEqual([
      ['svc-API_TOKEN', 'Synced'],
      ['svc-DB_PASSWORD', 'Synced'],
    ]);
    expect(await gcpValue(project, 'svc-DB_PASSWORD')).toBe(values.DB_PASSWORD);
    expect(await gcpValue(project, 'svc-API_TOKEN')).toBe(values.API_TOKEN);
    await expectNoLeak([pgp.privateArmored.split('\n')[3]!]);
  });

  it('two namespaces, each with its own age key: each SMC decrypts only its own', async () => {
    const [projectA, projectB, projectWrong] = [gcp.newProject(), gcp.newProject(), gcp.newProject()];
    const valueA = canary('tenant-a');
    const valueB = canary('tenant-b');
    for (const ns of [nsA, nsB]) {
      await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'tenant-src' });
    }
    await publish(nsA, 'tenant-src', { TOKEN: valueA }, { age: [keyA] });
    await publish(nsB, 'tenant-src', { TOKEN: valueB }, { age: [keyB] });
    // Namespace B also gets a source encrypted to A's key only.
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsB, name: 'a-only' });
    await publish(nsB, 'a-only', { TOKEN: canary('a-only') }, { age: [keyA] });

    const a = smcClient(kube, nsA, log);
    const b = smcClient(kube, nsB, log);
    await a.create('tenant', spec('tenant-src', projectA, { ageSecretRef: { name: 'sops-age' } }));
    await b.create('tenant', spec('tenant-src', projectB, { ageSecretRef: { name: 'sops-age' } }));
    // B's own key cannot open a file encrypted to A's key.
    await b.create('wrong-key', spec('a-only', projectWrong, { ageSecretRef: { name: 'sops-age' } }));

    await a.waitStatus('tenant', (x) => x.phase === 'Synced');
    await b.waitStatus('tenant', (x) => x.phase === 'Synced');
    expect(await gcpValue(projectA, 'svc-TOKEN')).toBe(valueA);
    expect(await gcpValue(projectB, 'svc-TOKEN')).toBe(valueB);

    const w = await b.waitStatus('wrong-key', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(w, 'Ready')?.reason).toBe('SopsNoMatchingKey');
    expect(condition(w, 'Ready')?.message).toContain(ENV_NAME);
    // The message names the recipient the file wants (public), never an identity.
    expect(condition(w, 'Ready')?.message).toContain(keyA.recipient);
    expect(condition(w, 'Stalled')?.status).toBe('True');
    expect(w.phase).toBe('Error');
    expect(await gcpSecretNames(projectWrong)).toEqual([]);
    await expectNoLeak([keyA.identity, keyB.identity]);
  });

  it('a key Secret not created yet → KeySecretNotFound, not stalled; creating it syncs without any other change', async () => {
    const project = gcp.newProject();
    const value = canary('late-key');
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'late-src' });
    await publish(nsA, 'late-src', { TOKEN: value }, { age: [keyA] });
    const a = smcClient(kube, nsA, log);
    await a.create('late-key', spec('late-src', project, { ageSecretRef: { name: 'sops-age-late' } }));
    const w = await a.waitStatus('late-key', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(w, 'Ready')).toMatchObject({
      reason: 'KeySecretNotFound',
      message: expect.stringContaining(
        `spec.secrets.sops.ageSecretRef: Secret ${nsA}/sops-age-late not found`,
      ),
    });
    // It fixes itself when the Secret appears: retried, not stalled.
    expect(condition(w, 'Stalled')?.status).not.toBe('True');
    await keySecret(nsA, 'sops-age-late', { 'age.agekey': `${keyA.identity}\n` });
    const synced = await a.waitStatus('late-key', (x) => x.phase === 'Synced');
    expect(condition(synced, 'Ready')?.status).toBe('True');
    expect(await gcpValue(project, 'svc-TOKEN')).toBe(value);
  });

  it('a malformed key Secret → Ready=False naming the Secret and key, never its content; fixing it syncs', async () => {
    const project = gcp.newProject();
    const garbage = canary('not-a-key');
    await keySecret(nsA, 'bad-age', { 'age.agekey': `${garbage}\n` });
    const a = smcClient(kube, nsA, log);
    await a.create('bad-key', spec('tenant-src', project, { ageSecretRef: { name: 'bad-age' } }));
    const s = await a.waitStatus('bad-key', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(s, 'Ready')?.reason).toBe('ParseError');
    expect(condition(s, 'Ready')?.message).toBe(
      `spec.secrets.sops.ageSecretRef: Secret ${nsA}/bad-age key age.agekey: line 1 is not an age identity (expected AGE-SECRET-KEY-1…; SSH and plugin identities are not supported)`,
    );
    expect(condition(s, 'Stalled')?.status).toBe('True');
    expect(await gcpSecretNames(project)).toEqual([]);

    await keySecret(nsA, 'bad-age', { 'age.agekey': `${keyA.identity}\n` }, true);
    await a.waitStatus('bad-key', (x) => x.phase === 'Synced');
    expect(await gcpSecretNames(project)).toEqual(['svc-TOKEN']);
    await expectNoLeak([keyA.identity]);
  });

  it('by default: a reference to another namespace’s key Secret → AccessDenied (no_cross_namespace_refs), nothing pushed', async () => {
    const project = gcp.newProject();
    const b = smcClient(kube, nsB, log);
    await b.create('cross', spec('a-only', project, { ageSecretRef: { name: 'sops-age', namespace: nsA } }));
    const s = await b.waitStatus('cross', (x) => condition(x, 'Ready')?.status === 'False');
    const ready = condition(s, 'Ready');
    expect(ready?.reason).toBe('AccessDenied');
    expect(ready?.message).toContain('no_cross_namespace_refs');
    expect(ready?.message).toContain(`Secret ${nsA}/sops-age`);
    expect(ready?.message).toContain('spec.secrets.sops.ageSecretRef');
    expect(condition(s, 'Stalled')?.status).toBe('True');
    expect(s.phase).toBe('Error');
    expect(s.lastSyncTime).toBeUndefined();
    expect(await gcpSecretNames(project)).toEqual([]);
    const ev = await waitFor('a Warning Event for cross', async () => {
      const e = await events(nsB, 'cross');
      return e.find((x) => x.reason === 'AccessDenied');
    });
    expect(ev.message).toContain('no_cross_namespace_refs');
    await expectNoLeak([keyA.identity]);
  });

  it('PGP key rotation: Git re-encrypted to a new key fails until the key Secret is updated; that update alone reconciles', async () => {
    const [oldKey, newKey] = await Promise.all([freshPgpKey('e2e-rot-old'), freshPgpKey('e2e-rot-new')]);
    sops.importPgp(oldKey);
    sops.importPgp(newKey);
    const project = gcp.newProject();
    const v1 = canary('rot-v1');
    const v2 = canary('rot-v2');
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'rot-src' });
    const r1 = await publish(nsA, 'rot-src', { SIGNING_KEY: v1 }, { pgp: [oldKey] });
    await keySecret(nsA, 'rot-pgp', { 'private.key': oldKey.privateArmored });
    const smcs = smcClient(kube, nsA, log);
    // A long interval: nothing but the key Secret change can trigger the reconcile that succeeds.
    await smcs.create(
      'rotate',
      spec('rot-src', project, { gpgSecretRef: { name: 'rot-pgp' } }, { reconcileInterval: '30m' }),
    );
    await smcs.waitStatus('rotate', (x) => x.phase === 'Synced' && x.lastSyncedRevision === r1.revision);
    expect(await gcpValue(project, 'svc-SIGNING_KEY')).toBe(v1);

    // Git is re-encrypted to the new key only (the old one removed), with a new value.
    const r2 = await publish(nsA, 'rot-src', { SIGNING_KEY: v2 }, { pgp: [newKey] });
    const failed = await smcs.waitStatus(
      'rotate',
      (x) =>
        condition(x, 'Ready')?.status === 'False' &&
        (condition(x, 'SourceReady')?.message ?? '').includes(r2.revision),
    );
    const ready = condition(failed, 'Ready');
    expect(ready?.reason).toBe('SopsNoMatchingKey');
    expect(ready?.message).toContain(ENV_NAME);
    expect(ready?.message.toUpperCase()).toContain(`PGP KEY ${newKey.fingerprint}`);
    expect(condition(failed, 'Stalled')?.status).toBe('True');
    expect(failed.lastSyncedRevision).toBe(r1.revision);
    // The store keeps the last good value.
    expect(await gcpValue(project, 'svc-SIGNING_KEY')).toBe(v1);

    const t0 = performance.now();
    await keySecret(nsA, 'rot-pgp', { 'private.key': newKey.privateArmored }, true);
    const fixed = await smcs.waitStatus(
      'rotate',
      (x) => x.phase === 'Synced' && x.lastSyncedRevision === r2.revision,
    );
    console.log(`e2e: PGP key Secret update → Synced in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(condition(fixed, 'Ready')?.status).toBe('True');
    expect(condition(fixed, 'Stalled')?.status).toBe('False');
    expect(await gcpValue(project, 'svc-SIGNING_KEY')).toBe(v2);
    await expectNoLeak([oldKey.privateArmored.split('\n')[3]!, newKey.privateArmored.split('\n')[3]!]);
  });
});

describe('tenant isolation by default (the controller runs as its ServiceAccount with the shipped RBAC)', () => {
  it('A naming B’s source → AccessDenied naming no_cross_namespace_refs; nothing pushed', async () => {
    const project = gcp.newProject();
    const a = smcClient(kube, nsA, log);
    // B's source exists (created by an earlier test) and would decrypt with B's key.
    await a.create('b-source', {
      ...spec('tenant-src', project, { ageSecretRef: { name: 'sops-age' } }),
      sourceRef: { kind: 'GitRepository', name: 'tenant-src', namespace: nsB },
    });
    const s = await a.waitStatus('b-source', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(s, 'Ready')?.reason).toBe('AccessDenied');
    expect(condition(s, 'Ready')?.message).toBe(
      `spec.sourceRef: GitRepository ${nsB}/tenant-src is outside namespace ${nsA}, refused by the setting no_cross_namespace_refs`,
    );
    expect(await gcpSecretNames(project)).toEqual([]);
  });

  it('A naming B’s credentials Secret → AccessDenied naming no_cross_namespace_refs; the Secret is never read', async () => {
    const project = gcp.newProject();
    await keySecret(nsB, 'gcp-sa', { 'credentials.json': canary('b-sa-json') });
    const a = smcClient(kube, nsA, log);
    await a.create('b-creds', {
      ...spec('tenant-src', project, { ageSecretRef: { name: 'sops-age' } }),
      provider: {
        gcp: {
          projectId: project,
          auth: { type: 'serviceAccountKey', secretRef: { name: 'gcp-sa', namespace: nsB } },
        },
      },
    });
    const s = await a.waitStatus('b-creds', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(s, 'Ready')?.reason).toBe('AccessDenied');
    expect(condition(s, 'Ready')?.message).toBe(
      `spec.provider.gcp.auth.secretRef: Secret ${nsB}/gcp-sa is outside namespace ${nsA}, refused by the setting no_cross_namespace_refs`,
    );
    expect(await gcpSecretNames(project)).toEqual([]);
  });

  it('A falling back to the controller-wide sops-keys without being listed → AccessDenied naming controller_key_namespaces, the sources tried and a hint', async () => {
    const project = gcp.newProject();
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'ctl-src' });
    // A tenant copies files encrypted to the controller-wide key into its own repository.
    await publish(nsA, 'ctl-src', { TOKEN: canary('ctl-only') }, { age: [keyCtl] });
    // A sops-keys Secret in A's own namespace, not referenced by the SMC: the message hints at it.
    await keySecret(nsA, 'sops-keys', { 'age.agekey': `${keyA.identity}\n` });
    const a = smcClient(kube, nsA, log);
    await a.create('ctl-key', spec('ctl-src', project, {}));
    const s = await a.waitStatus('ctl-key', (x) => condition(x, 'Ready')?.status === 'False');
    const ready = condition(s, 'Ready')!;
    expect(ready.reason).toBe('AccessDenied');
    expect(ready.message).toContain(ENV_NAME);
    expect(ready.message).toContain(keyCtl.recipient); // the recipient the file wants (public)
    expect(ready.message).toContain(
      `key sources tried: spec.secrets.sops.ageSecretRef and gpgSecretRef: not set; Secret ${ctl}/sops-keys (the controller-wide key): refused by the setting controller_key_namespaces (namespace ${nsA} is not listed)`,
    );
    expect(ready.message).toContain(
      `hint: namespace ${nsA} has a Secret sops-keys: name it in spec.secrets.sops.ageSecretRef`,
    );
    expect(ready.message).not.toContain('no decryption key was given');
    expect(condition(s, 'Stalled')?.status).toBe('True');
    expect(await gcpSecretNames(project)).toEqual([]);
    // Naming the controller-wide key explicitly is refused the same way.
    await a.create(
      'ctl-key-named',
      spec('ctl-src', project, { ageSecretRef: { name: 'sops-keys', namespace: ctl } }),
    );
    const named = await a.waitStatus('ctl-key-named', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(named, 'Ready')?.reason).toBe('AccessDenied');
    expect(condition(named, 'Ready')?.message).toBe(
      `spec.secrets.sops.ageSecretRef: Secret ${ctl}/sops-keys is the controller-wide SOPS key, refused by the setting controller_key_namespaces (namespace ${nsA} is not listed)`,
    );
    await expectNoLeak([keyCtl.identity, keyA.identity]);
  });

  it('controller_key_namespaces: "*" (the single-tenant switch) lets an SMC decrypt with the controller-wide key', async () => {
    const access = await kube().serviceAccountKubeconfig(ctl, 'secret-manager-controller');
    starController = await startController({
      KUBECONFIG: access.kubeconfigPath,
      SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
      METADATA_SERVER_DETECTION: 'none',
      WATCH_NAMESPACES: nsStar,
      POD_NAMESPACE: ctl,
      CONTROLLER_KEY_NAMESPACES: '*',
      BACKOFF_BASE_MS: '200',
      BACKOFF_MAX_MS: '2000',
      LOG_LEVEL: 'debug',
    });
    const project = gcp.newProject();
    const value = canary('star');
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsStar, name: 'ctl-src' });
    await publish(nsStar, 'ctl-src', { TOKEN: value }, { age: [keyCtl] });
    const smcs = smcClient(kube, nsStar, () => starController!.log());
    await smcs.create('ctl-key', spec('ctl-src', project, {}));
    await smcs.waitStatus('ctl-key', (x) => x.phase === 'Synced');
    expect(await gcpValue(project, 'svc-TOKEN')).toBe(value);
    expect(starController.log()).not.toContain(keyCtl.identity);
  });

  it('the ServiceAccount cannot list or watch Secrets cluster-wide, nor list them in a tenant namespace', async () => {
    const authz = saKubeConfig.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, namespace?: string, name?: string) =>
      (
        await authz.createSelfSubjectAccessReview({
          body: {
            spec: {
              resourceAttributes: {
                verb,
                resource: 'secrets',
                ...(namespace ? { namespace } : {}),
                ...(name ? { name } : {}),
              },
            },
          },
        })
      ).status?.allowed === true;
    expect(await can('list')).toBe(false);
    expect(await can('watch')).toBe(false);
    expect(await can('list', nsA)).toBe(false);
    expect(await can('watch', nsA)).toBe(false);
    // What it does hold: per-name get (key and credentials Secrets), and list/watch of sops-keys only.
    expect(await can('get', nsA, 'sops-age')).toBe(true);
    expect(await can('watch', ctl, 'sops-keys')).toBe(true);
    expect(await can('list', ctl)).toBe(false);
    // And the API server refuses an actual cluster-wide list.
    const core = saKubeConfig.makeApiClient(CoreV1Api);
    const err = await core.listSecretForAllNamespaces({ limit: 1 }).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(403);
  });
});
