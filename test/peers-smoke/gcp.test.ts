/** Smoke test of the GCP Secret Manager emulator through the official @google-cloud/secret-manager client. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { ensurePeer, startGcpSecretManager, type GcpSecretManagerPeer } from '../peers/cloud/index.js';

describe('gcp-sm-emulator peer', () => {
  let gcp: GcpSecretManagerPeer;
  let sm: SecretManagerServiceClient;

  beforeAll(async () => {
    process.env.METADATA_SERVER_DETECTION = 'none';
    await ensurePeer('gcp-sm-emulator');
    gcp = await startGcpSecretManager();
    sm = gcp.client();
    console.log(`gcp-sm-emulator ready in ${gcp.startMs} ms on ${gcp.endpoint.host}:${gcp.endpoint.port}`);
  });
  afterAll(async () => {
    await gcp?.stop();
  });

  it('creates, reads, versions, disables and enables a secret', async () => {
    const project = gcp.newProject();
    const [secret] = await sm.createSecret({
      parent: `projects/${project}`,
      secretId: 'db-password',
      secret: { replication: { automatic: {} }, labels: { 'managed-by': 'smc' } },
    });
    expect(secret.name).toBe(`projects/${project}/secrets/db-password`);
    const name = secret.name!;

    const [got] = await sm.getSecret({ name });
    expect(got.labels).toEqual({ 'managed-by': 'smc' });

    const [v1] = await sm.addSecretVersion({ parent: name, payload: { data: Buffer.from('first') } });
    const [v2] = await sm.addSecretVersion({ parent: name, payload: { data: Buffer.from('second') } });
    expect(v1.name).toBe(`${name}/versions/1`);
    expect(v2.name).toBe(`${name}/versions/2`);

    const [latest] = await sm.accessSecretVersion({ name: `${name}/versions/latest` });
    expect(latest.payload?.data?.toString()).toBe('second');
    const [first] = await sm.accessSecretVersion({ name: v1.name! });
    expect(first.payload?.data?.toString()).toBe('first');

    const [versions] = await sm.listSecretVersions({ parent: name });
    expect(versions.map((v) => [v.name, v.state]).sort()).toEqual([
      [v1.name, 'ENABLED'],
      [v2.name, 'ENABLED'],
    ]);

    const [disabled] = await sm.disableSecretVersion({ name: v2.name! });
    expect(disabled.state).toBe('DISABLED');
    const [afterDisable] = await sm.accessSecretVersion({ name: `${name}/versions/latest` });
    expect(afterDisable.payload?.data?.toString()).toBe('first');
    await expect(sm.accessSecretVersion({ name: v2.name! })).rejects.toMatchObject({ code: 9 }); // FAILED_PRECONDITION

    const [enabled] = await sm.enableSecretVersion({ name: v2.name! });
    expect(enabled.state).toBe('ENABLED');
    const [again] = await sm.accessSecretVersion({ name: `${name}/versions/latest` });
    expect(again.payload?.data?.toString()).toBe('second');
  });

  it('maps errors to gRPC status codes and keeps projects apart', async () => {
    const a = gcp.newProject();
    const b = gcp.newProject();
    await sm.createSecret({
      parent: `projects/${a}`,
      secretId: 's',
      secret: { replication: { automatic: {} } },
    });
    await expect(
      sm.createSecret({ parent: `projects/${a}`, secretId: 's', secret: { replication: { automatic: {} } } }),
    ).rejects.toMatchObject({ code: 6 }); // ALREADY_EXISTS
    await expect(sm.getSecret({ name: `projects/${b}/secrets/s` })).rejects.toMatchObject({ code: 5 }); // NOT_FOUND
    const [inB] = await sm.listSecrets({ parent: `projects/${b}` });
    expect(inB).toEqual([]);
  });
});
