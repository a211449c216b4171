/** Smoke test of moto (AWS Secrets Manager + SSM Parameter Store) through the official AWS SDK v3 clients. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { ensurePeer, startMoto, type MotoPeer } from '../peers/cloud/index.js';

describe('moto peer', () => {
  let moto: MotoPeer;
  let sm: SecretsManagerClient;
  let ssm: SSMClient;

  beforeAll(async () => {
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    await ensurePeer('moto');
    moto = await startMoto();
    sm = new SecretsManagerClient(moto.clientConfig);
    ssm = new SSMClient(moto.clientConfig);
    console.log(`moto ready in ${moto.startMs} ms at ${moto.endpointUrl}`);
  });
  afterAll(async () => {
    sm?.destroy();
    ssm?.destroy();
    await moto?.stop();
  });

  it('Secrets Manager: create, read, add a version, list versions, tags', async () => {
    const name = moto.uniqueName('app/db');
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: 'v1',
        Tags: [{ Key: 'managed-by', Value: 'smc' }],
      }),
    );
    expect(created.ARN).toContain(`:secret:${name}-`);

    const first = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(first.SecretString).toBe('v1');

    const put = await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);

    expect((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v2');
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.SecretString).toBe('v1');

    const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    const stages = (versions.Versions ?? []).map((v) => v.VersionStages?.[0]).sort();
    expect(stages).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);

    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Tags).toEqual([{ Key: 'managed-by', Value: 'smc' }]);

    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: moto.uniqueName('missing') })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('SSM: put/get parameters with tags and history', async () => {
    const name = `/${moto.uniqueName('smc')}/db/password`;
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: 'p1',
        Type: 'SecureString',
        Tags: [{ Key: 'managed-by', Value: 'smc' }],
      }),
    );
    const got = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(got.Parameter).toMatchObject({ Name: name, Value: 'p1', Type: 'SecureString', Version: 1 });

    // Overwrite (Tags may not be given together with Overwrite, as on AWS).
    const second = await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'p2', Type: 'SecureString', Overwrite: true }),
    );
    expect(second.Version).toBe(2);
    expect(
      (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value,
    ).toBe('p2');

    const history = await ssm.send(new GetParameterHistoryCommand({ Name: name, WithDecryption: true }));
    expect((history.Parameters ?? []).map((p) => [p.Version, p.Value])).toEqual([
      [1, 'p1'],
      [2, 'p2'],
    ]);

    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
    );
    expect(tags.TagList).toEqual([{ Key: 'managed-by', Value: 'smc' }]);
  });
});
