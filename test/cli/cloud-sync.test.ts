/**
 * `msmctl sync` against real cloud emulators, configured the way a user configures the CLI: the
 * documented endpoint variables and the SDKs' default credentials. The same example repository and
 * the same plan as the local store; a second run makes no writes.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startGcpSecretManager,
  startMoto,
  type GcpSecretManagerPeer,
  type MotoPeer,
} from '../peers/cloud/index.js';
import { startFakeAppConfig, type FakeAppConfig } from '../peers/fakes/azure-app-configuration.js';
import { repoRoot } from '../peers.js';
import { msmctl, msmctlAsync } from './run.js';

const example = path.join(repoRoot, 'examples/gitops');
const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');

interface JsonEntry {
  name: string;
  action: string;
  result: string;
}

function entriesOf(r: { status: number | null; stdout: string; stderr: string }): JsonEntry[] {
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { entries: JsonEntry[] }).entries;
}

describe('msmctl sync to GCP Secret Manager (emulator)', () => {
  let gcp: GcpSecretManagerPeer;
  beforeAll(async () => {
    gcp = await startGcpSecretManager();
  });
  afterAll(() => gcp?.stop());

  it('creates every secret, then a second run is all noop', async () => {
    const project = gcp.newProject();
    const env = {
      SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
      METADATA_SERVER_DETECTION: 'none',
    };
    const args = [
      'sync',
      example,
      '--env',
      'dev',
      '--store',
      `gcp:${project}`,
      '--age-key-file',
      demoKey,
      '-o',
      'json',
    ];
    const first = entriesOf(msmctl(args, { env }));
    expect(first.length).toBeGreaterThanOrEqual(10);
    expect(first.every((e) => e.action === 'create' && e.result === 'ok')).toBe(true);

    const [version] = await gcp.client().accessSecretVersion({
      name: `projects/${project}/secrets/payments-STRIPE_API_KEY/versions/latest`,
    });
    expect(Buffer.from(version.payload!.data as Uint8Array).toString('utf8')).toBe('sk_test_demo_51Hx');

    const second = entriesOf(msmctl(args, { env }));
    expect(second.map((e) => e.action)).toEqual(first.map(() => 'noop'));
  });
});

describe('msmctl sync to AWS Secrets Manager and SSM (moto)', () => {
  let moto: MotoPeer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(() => moto?.stop());

  it('secrets to Secrets Manager, properties to SSM under /<prefix>/<env>', async () => {
    const env = { ...moto.env };
    const args = [
      'sync',
      example,
      '--env',
      'dev',
      '--age-key-file',
      demoKey,
      '-o',
      'json',
      '--store',
      `aws:${moto.region}`,
      '--config-store',
      `ssm:${moto.region}/demo/dev`,
    ];
    const first = entriesOf(msmctl(args, { env }));
    expect(first.every((e) => e.action === 'create' && e.result === 'ok')).toBe(true);
    expect(first.map((e) => e.name)).toEqual(
      expect.arrayContaining(['payments-DATABASE_URL', '/demo/dev/payments-payments.currency']),
    );

    const sm = new SecretsManagerClient(moto.clientConfig);
    const ssm = new SSMClient(moto.clientConfig);
    try {
      const secret = await sm.send(new GetSecretValueCommand({ SecretId: 'payments-DATABASE_URL' }));
      expect(secret.SecretString).toBe('postgres://payments:dev-password@db.dev.internal:5432/payments');
      const params = await ssm.send(
        new GetParametersByPathCommand({ Path: '/demo/dev', Recursive: true, WithDecryption: true }),
      );
      expect(params.Parameters?.find((p) => p.Name === '/demo/dev/payments-payments.currency')?.Value).toBe(
        'EUR',
      );
    } finally {
      sm.destroy();
      ssm.destroy();
    }

    const second = entriesOf(msmctl(args, { env }));
    expect(second.map((e) => e.action)).toEqual(first.map(() => 'noop'));
  });
});

describe('msmctl sync with configs to Azure App Configuration (labelled fake)', () => {
  let appConfig: FakeAppConfig;
  let caFile: string;
  beforeAll(async () => {
    appConfig = await startFakeAppConfig();
    caFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'appconfig-ca-')), 'ca.pem');
    writeFileSync(caFile, appConfig.caPem);
  });
  afterAll(() => appConfig?.stop());

  it('properties become prefix:environment:key settings; a second run is all noop', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'appconfig-secrets-'));
    const env = {
      AZURE_APPCONFIG_CONNECTION_STRING: appConfig.connectionString,
      NODE_EXTRA_CA_CERTS: caFile,
    };
    const args = [
      'sync',
      example,
      '--env',
      'dev',
      '--age-key-file',
      demoKey,
      '-o',
      'json',
      '--store',
      `local:${out}`,
      '--config-store',
      'appconfig:env',
    ];
    const first = entriesOf(await msmctlAsync(args, { env }));
    expect(first.every((e) => e.action === 'create' && e.result === 'ok')).toBe(true);
    expect(appConfig.get('payments:dev:payments.currency')?.value).toBe('EUR');
    const second = entriesOf(await msmctlAsync(args, { env }));
    expect(second.map((e) => e.action)).toEqual(first.map(() => 'noop'));
    rmSync(out, { recursive: true, force: true });
  });
});
