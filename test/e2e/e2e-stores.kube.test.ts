/**
 * Stores and credentials end to end: the controller as a separate process (its ServiceAccount, the
 * shipped RBAC) syncs a Flux source into AWS Secrets Manager (moto) with `auth: accessKeys` whose
 * keys come from a Secret — the process itself has no AWS keys, only `AWS_ENDPOINT_URL`. A missing
 * credential Secret is `Ready=False, reason=ProviderAuthFailed` naming it; creating it reconciles.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoPeer, startMoto } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const VERSION = 'v1beta1';
/** Distinct from moto's own `testing` keys: these only ever live in the Secret. */
const ACCESS_KEY_ID = 'AKIAE2ESTORESKEY0001';
const SECRET_ACCESS_KEY = 'e2e-stores-secret-access-key-do-not-log';

interface SmcStatus {
  phase?: string;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  secretsCount?: number;
}

let moto: MotoPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
let ns: string;
let sm: SecretsManagerClient;

async function smcStatus(name: string): Promise<SmcStatus | undefined> {
  const o = (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name,
  })) as { status?: SmcStatus };
  return o.status;
}

async function waitStatus(name: string, ok: (s: SmcStatus) => boolean): Promise<SmcStatus> {
  return waitFor(
    `status of ${name}`,
    async () => {
      const s = await smcStatus(name);
      return s && ok(s) ? s : undefined;
    },
    { timeoutMs: 30_000, log: () => controller.log() },
  );
}

async function awsValue(name: string): Promise<string | undefined> {
  try {
    return (await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-stores-'));
  const tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  [moto, artifacts] = await Promise.all([startMoto(), startArtifactServer()]);
  sm = new SecretsManagerClient(moto.clientConfig);
  ns = await kube().createNamespace('e2e-stores');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
    });
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  await createFluxSource(kube(), ref);
  const artifact = await artifacts.publishDirectory(ref, tree, {
    revision: gitRevision('main', '1'.repeat(40)),
  });
  await setFluxArtifact(kube(), ref, artifact);
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    // The endpoint only: the keys come from the SMC's credential Secret.
    AWS_ENDPOINT_URL: moto.endpointUrl,
    AWS_EC2_METADATA_DISABLED: 'true',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    // Credentials Secrets are polled, not watched (docs/security.md): a new one is seen within this.
    SECRET_POLL_INTERVAL: '1s',
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  });
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  sm?.destroy();
  await Promise.all([moto?.stop(), artifacts?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('provider.aws with auth.accessKeys from a Secret → AWS Secrets Manager (moto)', () => {
  it('a missing credential Secret → Ready=False ProviderAuthFailed naming it; nothing written', async () => {
    await kube()
      .client(CustomObjectsApi)
      .createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'secretmanagerconfigs',
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'SecretManagerConfig',
          metadata: { name: 'payments-aws', namespace: ns },
          spec: {
            sourceRef: { kind: 'GitRepository', name: 'config' },
            provider: {
              aws: {
                region: moto.region,
                auth: { type: 'accessKeys', secretRef: { name: 'aws-creds' } },
              },
            },
            secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
          },
        },
      });
    const s = await waitStatus('payments-aws', (x) => x.phase === 'Error');
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ProviderAuthFailed' });
    expect(ready?.message).toContain(`Secret ${ns}/aws-creds not found`);
    expect((await sm.send(new ListSecretsCommand({}))).SecretList ?? []).toEqual([]);
  });

  it('creating the Secret triggers a reconcile: secrets land in moto, keys never logged', async () => {
    await kube()
      .client(CoreV1Api)
      .createNamespacedSecret({
        namespace: ns,
        body: {
          metadata: { name: 'aws-creds' },
          stringData: { AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY },
        },
      });
    const s = await waitStatus('payments-aws', (x) => x.phase === 'Synced');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(s.secretsCount).toBeGreaterThanOrEqual(5);
    expect(await awsValue('payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');
    expect(
      await controller.metric('secret_manager_secrets_published_total', { provider: 'aws' }),
    ).toBeGreaterThanOrEqual(5);
    expect(controller.log()).not.toContain(SECRET_ACCESS_KEY);
    expect(controller.log()).not.toContain(ACCESS_KEY_ID);
  });

  it('configs.enabled: application.properties go to SSM Parameter Store at parameterPath', async () => {
    await kube()
      .client(CustomObjectsApi)
      .createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'secretmanagerconfigs',
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'SecretManagerConfig',
          metadata: { name: 'payments-ssm', namespace: ns },
          spec: {
            sourceRef: { kind: 'GitRepository', name: 'config' },
            provider: {
              aws: {
                region: moto.region,
                auth: { type: 'accessKeys', secretRef: { name: 'aws-creds' } },
              },
            },
            secrets: { environment: 'dev', suffix: 'ssm', sops: { ageSecretRef: { name: 'sops-age' } } },
            configs: { enabled: true, parameterPath: '/e2e-stores/dev' },
          },
        },
      });
    const s = await waitStatus('payments-ssm', (x) => x.phase === 'Synced');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const ssm = new SSMClient(moto.clientConfig);
    try {
      const out = await ssm.send(
        new GetParametersByPathCommand({ Path: '/e2e-stores/dev', Recursive: true }),
      );
      expect((out.Parameters ?? []).length).toBeGreaterThanOrEqual(1);
    } finally {
      ssm.destroy();
    }
  });
});
