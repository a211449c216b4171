/**
 * Per-SMC cloud credentials end to end (docs/crd-reference.md `provider.*.auth.secretRef`): the controller as a
 * separate process (its ServiceAccount, the shipped RBAC) with no cloud credentials of its own.
 *
 * - AWS `assumeRole` + `roleArn` + `secretRef`: STS AssumeRole (moto) is signed with the keys from the
 *   Secret, every Secrets Manager call with the assumed role's session keys — seen on the wire by a
 *   recording proxy in front of moto (`AWS_ENDPOINT_URL` points at it, for STS too). The role session
 *   is reused across reconciles; rotating the Secret's keys makes exactly one new AssumeRole, signed
 *   with the new keys.
 * - GCP `serviceAccountKey`: the Secret's JSON key is read and validated (bad JSON, wrong type and a
 *   missing key are `Ready=False, reason=InvalidSpec` naming the Secret and key, never its content), a
 *   change of the Secret is picked up at once (cached per resourceVersion, never stale), and a valid
 *   key syncs. An `http://` endpoint never carries credentials, so a second controller reaches the
 *   emulator through an HTTPS front (self-signed certificate trusted with NODE_EXTRA_CA_CERTS) that
 *   records the `Authorization` header: every call carries a self-signed JWT (RS256) whose `kid`,
 *   `iss`/`sub` are the key's and whose signature verifies with the key's public half. (No OAuth token
 *   exchange happens on this path — google-auth-library signs the JWT itself — so none is tested.)
 * Canaries: no key material in the controller log, any status or Event.
 */
import { type KeyObject, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GcpSecretManagerPeer,
  type MotoPeer,
  startGcpSecretManager,
  startMoto,
} from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  type FluxArtifact,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { FaultProxy } from '../stores/fault-proxy.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { condition, smcClient } from './smc.js';
import { type TlsRecordingProxy, startTlsRecordingProxy } from './tls-recording-proxy.js';

const kube = useKube();
const ENV_FILE = 'svc/deployment-configuration/profiles/dev/application.secrets.env';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/e2e-smc-writer';
/** Source keys: distinct from moto's `testing` keys and from anything the controller's env has. */
const SOURCE_1 = {
  id: 'AKIAE2ECREDSOURCE001',
  secret: `e2e-source-secret-1-${randomBytes(6).toString('hex')}`,
};
const SOURCE_2 = {
  id: 'AKIAE2ECREDSOURCE002',
  secret: `e2e-source-secret-2-${randomBytes(6).toString('hex')}`,
};
const VALUE = `creds-canary-value-${randomBytes(6).toString('hex')}`;

let moto: MotoPeer;
let proxy: FaultProxy;
let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
let ns: string;
let sm: SecretsManagerClient;
let smcs: ReturnType<typeof smcClient>;
let artifact: FluxArtifact;
let tree: string;
const log = () => controller.log();
/** Strings that must never appear in a log line, status or Event. */
const secrets: string[] = [VALUE, SOURCE_1.secret, SOURCE_2.secret];

async function putSecret(name: string, data: Record<string, string>, replace = false): Promise<void> {
  const core = kube().client(CoreV1Api);
  const body = { metadata: { name }, stringData: data };
  if (replace) await core.replaceNamespacedSecret({ namespace: ns, name, body });
  else await core.createNamespacedSecret({ namespace: ns, body });
}

const requestReconcile = (name: string, token: string) => smcs.reconcileAndWait(name, token);

async function expectNoLeak(names: string[]): Promise<void> {
  const seen = [log()];
  for (const name of names) {
    seen.push(JSON.stringify((await smcs.get(name))?.status ?? {}));
    const ev = await kube()
      .client(CoreV1Api)
      .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
    seen.push(JSON.stringify(ev.items));
  }
  const all = seen.join('\n');
  for (const s of secrets) expect(all.includes(s), 'credential or value leaked').toBe(false);
}

/** A throwaway service-account key (fresh RSA key; the email is made up). */
function serviceAccountKey(): {
  json: string;
  privateKeyLine: string;
  publicKey: KeyObject;
  email: string;
  keyId: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'smc-e2e@e2e-creds.iam.gserviceaccount.com';
  const keyId = randomBytes(20).toString('hex');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const json = JSON.stringify({
    type: 'service_account',
    project_id: 'e2e-creds',
    private_key_id: keyId,
    private_key: pem,
    client_email: email,
    client_id: '100000000000000000001',
    token_uri: 'https://oauth2.googleapis.com/token',
  });
  return { json, privateKeyLine: pem.split('\n')[2]!, publicKey, email, keyId };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-creds-'));
  [moto, gcp, artifacts] = await Promise.all([startMoto(), startGcpSecretManager(), startArtifactServer()]);
  proxy = await FaultProxy.start(moto.endpointUrl);
  sm = new SecretsManagerClient(moto.clientConfig);
  ns = await kube().createNamespace('e2e-creds');
  tree = await mkdtemp(join(scratch, 'tree-'));
  await mkdir(join(tree, ENV_FILE, '..'), { recursive: true });
  await writeFile(join(tree, ENV_FILE), `API_KEY=${VALUE}\n`);
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  await createFluxSource(kube(), ref);
  artifact = await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', '1'.repeat(40)) });
  await setFluxArtifact(kube(), ref, artifact);
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    // Endpoints only, no keys: every AWS service (STS included) goes through the recording proxy.
    AWS_ENDPOINT_URL: proxy.url,
    AWS_EC2_METADATA_DISABLED: 'true',
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    // Credentials Secrets are polled (the controller may not watch them): every second here.
    SECRET_POLL_INTERVAL: '1s',
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  });
  smcs = smcClient(kube, ns, log);
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  sm?.destroy();
  await proxy?.stop();
  await Promise.all([moto?.stop(), gcp?.stop(), artifacts?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('provider.aws auth.assumeRole with source keys from a Secret (moto STS)', () => {
  const name = 'aws-role';
  const assumeCalls = () => proxy.requests.filter((r) => r.target === 'query.AssumeRole');
  const smCalls = () => proxy.requests.filter((r) => r.target.startsWith('secretsmanager.'));

  it('AssumeRole is signed with the Secret’s keys, every Secrets Manager call with the role session', async () => {
    await putSecret('aws-source', {
      AWS_ACCESS_KEY_ID: SOURCE_1.id,
      AWS_SECRET_ACCESS_KEY: SOURCE_1.secret,
    });
    await smcs.create(name, {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: {
        aws: {
          region: moto.region,
          auth: { type: 'assumeRole', roleArn: ROLE_ARN, secretRef: { name: 'aws-source' } },
        },
      },
      secrets: { environment: 'dev', sops: { enabled: false }, allowPlaintext: true },
    });
    const s = await smcs.waitStatus(name, (x) => x.phase === 'Synced');
    expect(condition(s, 'Ready')?.status).toBe('True');
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'svc-API_KEY' }))).SecretString).toBe(VALUE);

    expect(assumeCalls().map((r) => r.accessKeyId)).toEqual([SOURCE_1.id]);
    expect(assumeCalls()[0]?.status).toBe(200);
    const roleKeys = new Set(smCalls().map((r) => r.accessKeyId));
    expect(smCalls().length).toBeGreaterThan(0);
    // One key id signs them all: the session's (moto issues ASIA… ids), never the source keys.
    expect(roleKeys.size).toBe(1);
    const [roleKey] = [...roleKeys];
    expect(roleKey).toMatch(/^ASIA/);
    expect(roleKey).not.toBe(SOURCE_1.id);
    expect(log()).not.toContain(roleKey!);
    await expectNoLeak([name]);
  });

  it('the role session is reused by later reconciles; rotated source keys assume the role again once', async () => {
    const firstSession = smCalls()[0]?.accessKeyId;
    const smBefore = smCalls().length;
    await requestReconcile(name, 'reuse-1');
    expect(smCalls().length).toBeGreaterThan(smBefore); // the forced pass read the store…
    expect(assumeCalls()).toHaveLength(1); // …with the cached session
    expect(
      new Set(
        smCalls()
          .slice(smBefore)
          .map((r) => r.accessKeyId),
      ),
    ).toEqual(new Set([firstSession]));

    // Rotating the Secret triggers a reconcile by itself; its new keys assume the role anew.
    await putSecret(
      'aws-source',
      { AWS_ACCESS_KEY_ID: SOURCE_2.id, AWS_SECRET_ACCESS_KEY: SOURCE_2.secret },
      true,
    );
    await waitFor(
      'an AssumeRole with the rotated keys',
      async () => (assumeCalls().length === 2 ? true : undefined),
      { log },
    );
    expect(assumeCalls().map((r) => r.accessKeyId)).toEqual([SOURCE_1.id, SOURCE_2.id]);
    // The calls after the new AssumeRole are signed with the new session, not the old one.
    const at = proxy.requests.indexOf(assumeCalls()[1]!);
    const next = await waitFor(
      'a Secrets Manager call with the new session',
      async () => proxy.requests.slice(at + 1).find((r) => r.target.startsWith('secretsmanager.')),
      { log },
    );
    expect(next.accessKeyId).toMatch(/^ASIA/);
    expect(next.accessKeyId).not.toBe(firstSession);
    const s = await smcs.waitStatus(name, (x) => x.phase === 'Synced');
    expect(condition(s, 'Ready')?.status).toBe('True');
    await expectNoLeak([name]);
  });

  it('STS refusing the source keys → Ready=False ProviderAuthFailed naming the role, nothing written', async () => {
    proxy.inject({
      match: 'AssumeRole',
      times: Infinity,
      fault: { kind: 'respond', status: 403, errorType: 'InvalidClientTokenId', message: 'bad keys' },
    });
    try {
      await putSecret('aws-bad', {
        AWS_ACCESS_KEY_ID: 'AKIAE2ECREDREFUSED01',
        AWS_SECRET_ACCESS_KEY: SOURCE_1.secret,
      });
      await smcs.create('aws-refused', {
        sourceRef: { kind: 'GitRepository', name: 'config' },
        provider: {
          aws: {
            region: moto.region,
            auth: { type: 'assumeRole', roleArn: ROLE_ARN, secretRef: { name: 'aws-bad' } },
          },
        },
        secrets: { environment: 'dev', suffix: 'refused', sops: { enabled: false }, allowPlaintext: true },
      });
      const s = await smcs.waitStatus('aws-refused', (x) => condition(x, 'Ready')?.status === 'False');
      expect(condition(s, 'Ready')?.reason).toBe('ProviderAuthFailed');
      expect(condition(s, 'Ready')?.message).toContain(ROLE_ARN);
      const written = proxy.requests.filter(
        (r) => r.accessKeyId === 'AKIAE2ECREDREFUSED01' && r.target.startsWith('secretsmanager.'),
      );
      expect(written).toEqual([]);
      await expect(sm.send(new GetSecretValueCommand({ SecretId: 'svc-API_KEY-refused' }))).rejects.toThrow();
    } finally {
      proxy.clearRules();
    }
    await expectNoLeak(['aws-refused']);
  });
});

describe('provider.gcp auth.serviceAccountKey from a Secret', () => {
  it('bad JSON, a wrong type, a missing key → Ready=False InvalidSpec naming Secret and key, never content; a fix syncs', async () => {
    const project = gcp.newProject();
    const good = serviceAccountKey();
    secrets.push(good.privateKeyLine);
    const badCanary = `sa-canary-${randomBytes(6).toString('hex')}`;
    secrets.push(badCanary);
    await putSecret('gcp-sa', { 'credentials.json': `{"private_key": "${badCanary}` });
    await smcs.create('gcp-key', {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: {
        gcp: { projectId: project, auth: { type: 'serviceAccountKey', secretRef: { name: 'gcp-sa' } } },
      },
      secrets: { environment: 'dev', sops: { enabled: false }, allowPlaintext: true },
    });
    const listed = async () => {
      const [l] = await gcp.client().listSecrets({ parent: `projects/${project}` });
      return l.map((x) => x.name!.split('/').pop());
    };
    let s = await smcs.waitStatus('gcp-key', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(s, 'Ready')).toMatchObject({ reason: 'InvalidSpec' });
    expect(condition(s, 'Ready')?.message).toBe(
      `spec.provider.gcp.auth.secretRef: Secret ${ns}/gcp-sa key credentials.json: the GCP service account key is not valid JSON`,
    );
    expect(await listed()).toEqual([]);

    // Each change of the Secret is picked up at once (the Secret watch), with its own verdict.
    const cases: [Record<string, string>, string][] = [
      [
        { 'credentials.json': JSON.stringify({ type: 'authorized_user', client_secret: badCanary }) },
        'credentials.json: the GCP credentials are not a service account key (type is not "service_account")',
      ],
      [{ 'key.json': good.json }, `Secret ${ns}/gcp-sa has no non-empty key credentials.json`],
    ];
    for (const [data, message] of cases) {
      await putSecret('gcp-sa', data, true);
      s = await smcs.waitStatus('gcp-key', (x) => (condition(x, 'Ready')?.message ?? '').includes(message));
      expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      expect(condition(s, 'Stalled')?.status).toBe('True');
      expect(await listed()).toEqual([]);
    }

    await putSecret('gcp-sa', { 'credentials.json': good.json }, true);
    s = await smcs.waitStatus('gcp-key', (x) => x.phase === 'Synced');
    expect(condition(s, 'Ready')?.status).toBe('True');
    expect(await listed()).toEqual(['svc-API_KEY']);

    // And back to a broken key: the cached good credential is not used any more.
    await putSecret('gcp-sa', { 'credentials.json': '[]' }, true);
    s = await smcs.waitStatus('gcp-key', (x) => condition(x, 'Ready')?.status === 'False');
    expect(condition(s, 'Ready')?.message).toContain('is not a JSON object');
    await expectNoLeak(['gcp-key']);
  });
});

describe('provider.gcp serviceAccountKey over TLS: every request carries a token signed with the key', () => {
  let tls: TlsRecordingProxy;
  let tlsController: ControllerProcess;
  let ns2: string;

  beforeAll(async () => {
    // An HTTPS endpoint gets the normal credential path (an http:// one never sends credentials).
    tls = await startTlsRecordingProxy(`http://${gcp.endpoint.host}:${gcp.endpoint.port}`);
    ns2 = await kube().createNamespace('e2e-creds-tls');
    const ref = { kind: 'GitRepository' as const, namespace: ns2, name: 'config' };
    await createFluxSource(kube(), ref);
    await setFluxArtifact(
      kube(),
      ref,
      await artifacts.publishDirectory(ref, tree, { revision: gitRevision('main', '2'.repeat(40)) }),
    );
    const access = await shippedRbacAccess(kube(), ns2);
    tlsController = await startController({
      KUBECONFIG: access.kubeconfigPath,
      SMC_GCP_SECRET_MANAGER_ENDPOINT: tls.url,
      NODE_EXTRA_CA_CERTS: tls.certPath,
      METADATA_SERVER_DETECTION: 'none',
      WATCH_NAMESPACES: ns2,
      POD_NAMESPACE: ns2,
      BACKOFF_BASE_MS: '200',
      BACKOFF_MAX_MS: '2000',
      LOG_LEVEL: 'debug',
    });
  }, 120_000);

  afterAll(async () => {
    const code = await tlsController?.stop();
    await removeShippedRbac(kube(), ns2);
    await tls?.stop();
    expect(code).toBe(0);
  });

  it('syncs, and the bearer token of every call is a JWT signed by the Secret’s key for its client_email', async () => {
    const key = serviceAccountKey();
    secrets.push(key.privateKeyLine);
    const project = gcp.newProject();
    await kube()
      .client(CoreV1Api)
      .createNamespacedSecret({
        namespace: ns2,
        body: { metadata: { name: 'gcp-sa' }, stringData: { 'credentials.json': key.json } },
      });
    const tlsSmcs = smcClient(kube, ns2, () => tlsController.log());
    await tlsSmcs.create('gcp-tls', {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: {
        gcp: { projectId: project, auth: { type: 'serviceAccountKey', secretRef: { name: 'gcp-sa' } } },
      },
      secrets: { environment: 'dev', sops: { enabled: false }, allowPlaintext: true },
    });
    const s = await tlsSmcs.waitStatus('gcp-tls', (x) => x.phase === 'Synced');
    expect(condition(s, 'Ready')?.status).toBe('True');
    const [v] = await gcp
      .client()
      .accessSecretVersion({ name: `projects/${project}/secrets/svc-API_KEY/versions/latest` });
    expect(Buffer.from(v.payload!.data as Uint8Array).toString('utf8')).toBe(VALUE);

    const calls = tls.calls.filter((c) => c.url.includes(`/projects/${project}/`));
    expect(calls.length).toBeGreaterThan(0);
    const tokens = new Set<string>();
    for (const c of calls) {
      const m = /^Bearer (([\w-]+)\.([\w-]+))\.([\w-]+)$/.exec(c.authorization ?? '');
      expect(m, `${c.method} ${c.url} has no bearer JWT`).not.toBeNull();
      const [, signed, header, payload, sig] = m!;
      tokens.add(c.authorization!);
      const h = JSON.parse(Buffer.from(header!, 'base64url').toString()) as { alg: string; kid?: string };
      const p = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { iss: string; sub: string };
      expect(h).toMatchObject({ alg: 'RS256', kid: key.keyId });
      expect(p).toMatchObject({ iss: key.email, sub: key.email });
      expect(verify('sha256', Buffer.from(signed!), key.publicKey, Buffer.from(sig!, 'base64url'))).toBe(
        true,
      );
    }
    const all = `${tlsController.log()}\n${JSON.stringify(s)}`;
    for (const t of tokens) expect(all.includes(t.slice('Bearer '.length))).toBe(false);
    for (const x of secrets) expect(all.includes(x)).toBe(false);
  });
});
