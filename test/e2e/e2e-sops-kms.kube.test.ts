/**
 * SOPS files whose data key is wrapped by AWS KMS, end to end (docs/sops.md "Key services"): the
 * controller as a separate process (its ServiceAccount, the shipped RBAC), files encrypted by the
 * real `sops` against moto (IAM authentication on), KMS calls counted at the wire by a proxy in
 * front of moto, the GCP Secret Manager emulator as the store, default tenant settings.
 *
 * - per-SMC credentials (`sops.aws-kms` in the SMC's key Secret): 50 KMS files sync; the unchanged
 *   revision reconciled again makes zero KMS calls; a revision changing one file makes one;
 * - wrong credentials → Ready=False (`SopsKmsFailed`) naming the key, the service and the reason;
 *   nothing pushed, no secret anywhere;
 * - no credentials → Ready=False naming the Secret key to add and `sops_workload_identity_namespaces`,
 *   although the controller has an identity of its own; no KMS call, nothing pushed;
 * - a namespace listed in `sops_workload_identity_namespaces`: an SMC without any key Secret decrypts
 *   with the controller's own identity;
 * - Vault transit (the labelled fake, test/peers/fakes/vault-transit.ts; files by the real sops):
 *   `sops.vault-token` in the SMC's key Secret.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { generateX25519Identity } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type VaultTransitFake, startVaultTransitFake } from '../peers/fakes/vault-transit.js';
import { childEnv, peerPath } from '../sops/helpers.js';
import { type KmsMoto, startKmsMoto } from '../sops/kms-moto.js';
import { type ControllerProcess, startController } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { condition, smcClient } from './smc.js';

const kube = useKube();
const run = promisify(execFile);
const FILE = (svc: string) => `${svc}/deployment-configuration/profiles/dev/application.secrets.env`;

let aws: KmsMoto;
let vault: VaultTransitFake;
let arn: string;
let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
let ctl: string;
let nsA: string;
let nsW: string;
const log = () => controller.log();
const canaries: string[] = [];
function canary(tag: string): string {
  const v = `canary-${tag}-${Math.random().toString(36).slice(2, 10)}`;
  canaries.push(v);
  return v;
}

let commitN = 0;
/** Publish a tree of `files` (path → already encrypted content) as the artifact of `ns/name`. */
async function publish(ns: string, name: string, files: Record<string, string>): Promise<string> {
  const tree = await mkdtemp(join(scratch, 'tree-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), content);
  }
  const ref = { kind: 'GitRepository' as const, namespace: ns, name };
  const artifact = await artifacts.publishDirectory(ref, tree, {
    revision: gitRevision('main', (++commitN).toString(16).padStart(40, '0')),
  });
  await setFluxArtifact(kube(), ref, artifact);
  return artifact.revision;
}

const encryptEnv = (env: Record<string, string>) =>
  aws.encrypt(
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    'env',
    { arn, context: 'team:payments' },
  );

async function keySecret(ns: string, name: string, data: Record<string, string>) {
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData: data } });
}

const awsYaml = (k: { accessKeyId: string; secretAccessKey: string }) =>
  `aws_access_key_id: ${k.accessKeyId}\naws_secret_access_key: ${k.secretAccessKey}\n`;

async function gcpSecretNames(project: string): Promise<string[]> {
  const [list] = await gcp.client().listSecrets({ parent: `projects/${project}` });
  return list.map((s) => s.name!.split('/').pop()!).sort();
}

function spec(source: string, project: string, sops: Record<string, unknown>) {
  return {
    sourceRef: { kind: 'GitRepository', name: source },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops },
  };
}

async function expectNoLeak(ns: string, names: string[], secrets: string[]): Promise<void> {
  const seen = [log()];
  const smcs = smcClient(kube, ns, log);
  for (const name of names) {
    const o = await smcs.get(name);
    if (o) seen.push(JSON.stringify(o.status ?? {}));
    const ev = await kube()
      .client(CoreV1Api)
      .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
    seen.push(JSON.stringify(ev.items));
  }
  const all = seen.join('\n');
  for (const v of [...canaries, ...secrets])
    expect(all.includes(v), 'a value or credential leaked').toBe(false);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-sops-kms-'));
  [aws, gcp, artifacts, vault] = await Promise.all([
    startKmsMoto(),
    startGcpSecretManager(),
    startArtifactServer(),
    startVaultTransitFake(),
  ]);
  arn = await aws.createKey();
  [ctl, nsA, nsW] = await Promise.all([
    kube().createNamespace('e2e-kms-ctl'),
    kube().createNamespace('e2e-kms-a'),
    kube().createNamespace('e2e-kms-w'),
  ]);
  const access = await shippedRbacAccess(kube(), ctl);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: `${nsA},${nsW}`,
    POD_NAMESPACE: ctl,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    SECRET_POLL_INTERVAL: '1s',
    LOG_LEVEL: 'debug',
    // The AWS SDK's own endpoint variables: every KMS and STS call goes through the counting proxy.
    AWS_ENDPOINT_URL_KMS: aws.proxy.url,
    AWS_ENDPOINT_URL_STS: aws.proxy.url,
    AWS_EC2_METADATA_DISABLED: 'true',
    // The controller's own identity (what workload identity would give it): usable only by nsW.
    AWS_ACCESS_KEY_ID: aws.decryptor.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.decryptor.secretAccessKey,
    SOPS_WORKLOAD_IDENTITY_NAMESPACES: nsW,
  });
}, 180_000);

afterAll(async () => {
  const code = await controller?.stop();
  if (ctl) await removeShippedRbac(kube(), ctl);
  await Promise.all([aws?.stop(), gcp?.stop(), artifacts?.stop(), vault?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('SOPS key services through the controller', () => {
  it('per-SMC credentials: 50 KMS files sync; the unchanged revision costs no KMS call; one changed file costs one', async () => {
    const project = gcp.newProject();
    const values = Array.from({ length: 50 }, (_, i) => canary(`kms${i}`));
    const files: Record<string, string> = {};
    values.forEach((v, i) => (files[FILE(`svc${i}`)] = encryptEnv({ TOKEN: v })));
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'kms-src' });
    await keySecret(nsA, 'kms-creds', { 'sops.aws-kms': awsYaml(aws.decryptor) });
    aws.proxy.reset();
    const okBefore = await controller.metric('secret_manager_sops_kms_calls_total', {
      service: 'aws_kms',
      result: 'ok',
    });
    const rev1 = await publish(nsA, 'kms-src', files);
    const smcs = smcClient(kube, nsA, log);
    await smcs.create('kms', spec('kms-src', project, { ageSecretRef: { name: 'kms-creds' } }));
    const s = await smcs.waitStatus(
      'kms',
      (x) => x.phase === 'Synced' && x.lastSyncedRevision === rev1,
      120_000,
    );
    expect(condition(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(await gcp.latestValue(project, 'svc7-TOKEN')).toBe(values[7]);
    expect(await gcp.latestValue(project, 'svc49-TOKEN')).toBe(values[49]);
    expect(aws.decryptCalls()).toBe(50);
    expect(
      (await controller.metric('secret_manager_sops_kms_calls_total', { service: 'aws_kms', result: 'ok' })) -
        okBefore,
    ).toBe(50);

    // The same revision again (a requested reconcile): served by the shared render of that revision
    // (src/render/cache.ts), so no file is decrypted again and no KMS call is made.
    aws.proxy.reset();
    const decryptedBefore = await controller.metric('secret_manager_sops_decryption_total', {
      result: 'success',
    });
    await smcs.reconcileAndWait('kms', 'again-1');
    expect(
      (await controller.metric('secret_manager_sops_decryption_total', { result: 'success' })) -
        decryptedBefore,
    ).toBe(0);
    expect(aws.decryptCalls()).toBe(0);

    // A revision that changes one of the 50 files: all 50 decrypted again, one KMS call (the data
    // keys of the 49 unchanged files come from the data-key cache).
    const changed = canary('kms7-changed');
    files[FILE('svc7')] = encryptEnv({ TOKEN: changed });
    aws.proxy.reset();
    const rev2 = await publish(nsA, 'kms-src', files);
    await smcs.waitStatus('kms', (x) => x.phase === 'Synced' && x.lastSyncedRevision === rev2, 120_000);
    expect(await gcp.latestValue(project, 'svc7-TOKEN')).toBe(changed);
    expect(
      (await controller.metric('secret_manager_sops_decryption_total', { result: 'success' })) -
        decryptedBefore,
    ).toBe(50);
    expect(aws.decryptCalls()).toBe(1);
    await expectNoLeak(nsA, ['kms'], [aws.decryptor.secretAccessKey]);
  });

  it('wrong credentials → Ready=False naming the key, AWS KMS and the reason; nothing pushed', async () => {
    const project = gcp.newProject();
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'wrong-src' });
    await publish(nsA, 'wrong-src', { [FILE('svc')]: encryptEnv({ TOKEN: canary('wrong') }) });
    const wrong = { accessKeyId: 'AKIAWRONGWRONGWRONG1', secretAccessKey: 'wrong-secret-canary-1' };
    await keySecret(nsA, 'kms-wrong', { 'sops.aws-kms': awsYaml(wrong) });
    const smcs = smcClient(kube, nsA, log);
    await smcs.create('kms-wrong', spec('wrong-src', project, { ageSecretRef: { name: 'kms-wrong' } }));
    const s = await smcs.waitStatus('kms-wrong', (x) => condition(x, 'Ready')?.status === 'False', 60_000);
    const ready = condition(s, 'Ready')!;
    expect(ready.reason).toBe('SopsKmsFailed');
    expect(ready.message).toContain('application.secrets.env: no key service opened the data key');
    expect(ready.message).toContain(`AWS KMS key ${arn}: auth_failed: aws kms Decrypt "${arn}" failed`);
    expect(ready.message).toContain(
      `spec.secrets.sops.ageSecretRef: Secret ${nsA}/kms-wrong keys sops.aws-kms`,
    );
    expect(condition(s, 'Stalled')?.status).not.toBe('True');
    expect(await gcpSecretNames(project)).toEqual([]);
    await expectNoLeak(nsA, ['kms-wrong'], [wrong.secretAccessKey]);
    // It is retried with backoff (an IAM fix is not visible to the controller): stop it here.
    await smcs.delete('kms-wrong');
    await smcs.waitGone('kms-wrong');
  });

  it('no credentials: Ready=False naming the Secret key to add and the setting, although the controller has an identity; no KMS call', async () => {
    const project = gcp.newProject();
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'none-src' });
    await publish(nsA, 'none-src', { [FILE('svc')]: encryptEnv({ TOKEN: canary('none') }) });
    // The SMC's key Secret holds an age key only (no sops.aws-kms).
    await keySecret(nsA, 'age-only', { 'age.agekey': `${await generateX25519Identity()}\n` });
    aws.proxy.reset();
    const smcs = smcClient(kube, nsA, log);
    await smcs.create('kms-none', spec('none-src', project, { ageSecretRef: { name: 'age-only' } }));
    const s = await smcs.waitStatus('kms-none', (x) => condition(x, 'Ready')?.status === 'False', 60_000);
    const ready = condition(s, 'Ready')!;
    expect(ready.reason).toBe('SopsNoMatchingKey');
    expect(ready.message).toContain('application.secrets.env: no configured key can decrypt this file');
    expect(ready.message).toContain(
      `AWS KMS key ${arn}: no_credentials: no credentials for AWS KMS: no sops.aws-kms given and the controller's workload identity is not allowed for namespace ${nsA} (setting sops_workload_identity_namespaces)`,
    );
    expect(aws.decryptCalls()).toBe(0);
    expect(await gcpSecretNames(project)).toEqual([]);
  });

  it('a namespace listed in sops_workload_identity_namespaces decrypts with the controller’s own identity', async () => {
    const project = gcp.newProject();
    const value = canary('wi');
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsW, name: 'wi-src' });
    const rev = await publish(nsW, 'wi-src', { [FILE('svc')]: encryptEnv({ TOKEN: value }) });
    aws.proxy.reset();
    const smcs = smcClient(kube, nsW, log);
    await smcs.create('kms-wi', spec('wi-src', project, {}));
    await smcs.waitStatus('kms-wi', (x) => x.phase === 'Synced' && x.lastSyncedRevision === rev, 60_000);
    expect(await gcp.latestValue(project, 'svc-TOKEN')).toBe(value);
    // Signed with the controller's own keys.
    const dec = aws.proxy.requests.filter((r) => r.target.endsWith('.Decrypt'));
    expect(dec.map((r) => r.accessKeyId)).toEqual([aws.decryptor.accessKeyId]);
    await expectNoLeak(nsW, ['kms-wi'], [aws.decryptor.secretAccessKey]);
  });

  it('Vault transit: sops.vault-token in the SMC’s key Secret opens files the real sops made', async () => {
    vault.createKey('sops', 'payments');
    const writer = vault.token(['sops/encrypt/payments', 'sops/decrypt/payments']);
    const file = join(scratch, 'vault.env');
    const value = canary('vault');
    await writeFile(file, `TOKEN=${value}\n`);
    const env = childEnv({ VAULT_TOKEN: writer, VAULT_ADDR: vault.address });
    const enc = (
      await run(
        peerPath('sops'),
        ['-e', '--hc-vault-transit', `${vault.address}/v1/sops/keys/payments`, file],
        {
          env,
          encoding: 'utf8',
        },
      )
    ).stdout;
    const project = gcp.newProject();
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: nsA, name: 'vault-src' });
    const rev = await publish(nsA, 'vault-src', { [FILE('svc')]: enc });
    const reader = vault.token(['sops/decrypt/payments']);
    await keySecret(nsA, 'vault-creds', { 'sops.vault-token': `${reader}\n` });
    const smcs = smcClient(kube, nsA, log);
    await smcs.create('kms-vault', spec('vault-src', project, { ageSecretRef: { name: 'vault-creds' } }));
    await smcs.waitStatus('kms-vault', (x) => x.phase === 'Synced' && x.lastSyncedRevision === rev, 60_000);
    expect(await gcp.latestValue(project, 'svc-TOKEN')).toBe(value);
    expect(vault.decryptCalls()).toBe(1);
    await expectNoLeak(nsA, ['kms-vault'], [reader, writer]);
  });
});
