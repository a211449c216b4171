/**
 * AWS store behaviour beyond the shared contract, against moto: tags, recovery windows and restore
 * (Secrets Manager); tiers, types and KMS keys (SSM). moto does not enforce SSM tier sizes or the
 * no-downgrade rule, so the tier tests check what we ask for, as AWS would see it.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.js';
import type { Action } from '../../src/plan/actions.js';
import { AwsSecretsManagerStore } from '../../src/stores/aws/secrets-manager.js';
import { AwsSsmParameterStore } from '../../src/stores/aws/ssm.js';
import type { Owner } from '../../src/stores/store.js';
import { ensurePeer, startMoto, type MotoPeer } from '../peers/cloud/index.js';
import { ssmOutOfBand } from './contract/aws-targets.js';
import { canaryValue } from './contract/suite.js';
import { syncTo } from './local-helpers.js';

let moto: MotoPeer;
let sm: SecretsManagerClient;
let ssm: SSMClient;
const stores: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  await ensurePeer('moto');
  moto = await startMoto();
  sm = new SecretsManagerClient(moto.clientConfig);
  ssm = new SSMClient(moto.clientConfig);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  sm?.destroy();
  ssm?.destroy();
  await moto?.stop();
});

const me = (): Owner => ({ namespace: `ns-${randomBytes(3).toString('hex')}`, name: 'app' });
const rand = () => randomBytes(3).toString('hex');
function src(values: Record<string, string>, service = `s${rand()}`): Entry[] {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value,
    kind: 'secret',
    enabled: true,
    origin: 'svc/application.secrets.env',
    service,
  }));
}

function smStore(opts: Partial<ConstructorParameters<typeof AwsSecretsManagerStore>[0]> = {}) {
  const store = new AwsSecretsManagerStore({
    region: moto.region,
    environment: 'staging',
    endpoint: moto.endpointUrl,
    credentials: moto.credentials,
    ...opts,
  });
  stores.push(store);
  return store;
}

function ssmStore(opts: Partial<ConstructorParameters<typeof AwsSsmParameterStore>[0]> = {}) {
  const store = new AwsSsmParameterStore({
    region: moto.region,
    environment: 'staging',
    parameterPath: `/stores/${rand()}/staging`,
    endpoint: moto.endpointUrl,
    credentials: moto.credentials,
    ...opts,
  });
  stores.push(store);
  return store;
}

describe('AwsSecretsManagerStore', () => {
  it('tags new secrets with ownership and environment, and records the version id', async () => {
    const owner = me();
    const store = smStore({ kmsKeyId: 'alias/smc-test' });
    const { results } = await syncTo(store, owner, src({ DB: canaryValue('db') }));
    expect(results[0]).toMatchObject({ ok: true, wrote: true });
    expect(results[0]!.version).toMatch(/^[0-9a-f-]{36}$/);
    const d = await sm.send(new DescribeSecretCommand({ SecretId: results[0]!.action.storeName }));
    expect(Object.fromEntries((d.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      'managed-by': 'secret-manager-controller',
      'smc-namespace': owner.namespace,
      'smc-name': owner.name,
      environment: 'staging',
    });
    expect(d.KmsKeyId).toBe('alias/smc-test');
    expect(store.type).toBe('aws');
    expect(store.target).toBe(`aws:${moto.region}`);
  });

  it('Delete uses the recovery window; forceDelete deletes at once', async () => {
    const owner = me();
    const windowed = smStore({ recoveryWindowDays: 10 });
    const source = src({ W: canaryValue('w') });
    const name = (await syncTo(windowed, owner, source)).results[0]!.action.storeName;
    await syncTo(windowed, owner, [], { deletionPolicy: 'Delete' });
    const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    const days = (d.DeletedDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(9.9);
    expect(days).toBeLessThan(10.1);

    const owner2 = me();
    const forced = smStore({ forceDelete: true });
    const name2 = (await syncTo(forced, owner2, src({ F: canaryValue('f') }))).results[0]!.action.storeName;
    await syncTo(forced, owner2, [], { deletionPolicy: 'Delete' });
    await expect(sm.send(new DescribeSecretCommand({ SecretId: name2 }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it("never restores someone else's secret that is scheduled for deletion", async () => {
    const name = `other-${rand()}`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const store = smStore();
    const owner = me();
    // Scheduled for deletion reads as absent, so the plan creates; the store refuses to take it over.
    expect(await store.read(owner, [name])).toEqual([]);
    const create: Action = {
      type: 'create',
      cause: 'missing',
      key: 'K',
      storeName: name,
      kind: 'secret',
      value: canaryValue('mine'),
      enabled: true,
      reason: 'missing from store',
    };
    const [result] = await store.apply(owner, [create]);
    expect(result).toMatchObject({ ok: false, wrote: false });
    expect(result!.message).toMatch(/no ownership marker/);
    const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.DeletedDate).toBeDefined();
  });

  it('refuses an oversize value in apply without calling AWS', async () => {
    const calls: string[] = [];
    const store = smStore({ observer: { onCall: (c) => calls.push(c.operation) } });
    const [result] = await store.apply(me(), [
      {
        type: 'create',
        cause: 'missing',
        key: 'BIG',
        storeName: `big-${rand()}`,
        kind: 'secret',
        value: 'x'.repeat(65_537),
        enabled: true,
        reason: 'missing from store',
      },
    ]);
    expect(result).toMatchObject({ ok: false, wrote: false });
    expect(result!.message).toMatch(/65537 bytes, over the limit of 65536/);
    expect(calls).toEqual([]);
  });

  it('returns one result per action, in order, with noop/conflict passed through', async () => {
    const store = smStore();
    const owner = me();
    const names = [0, 1, 2, 3, 4].map((i) => `order-${rand()}-${i}`);
    const actions: Action[] = names.map(
      (storeName, i) =>
        ({
          type: i === 2 ? 'conflict' : i === 4 ? 'noop' : 'create',
          key: `K${i}`,
          storeName,
          kind: 'secret',
          ...(i === 2 || i === 4 ? {} : { cause: 'missing', value: canaryValue(`o${i}`), enabled: true }),
          reason: i === 2 ? 'unmanaged entry exists' : 'missing from store',
        }) as Action,
    );
    const results = await store.apply(owner, actions);
    expect(results.map((r) => r.action)).toEqual(actions);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, true, true]);
    expect(results[2]!.message).toBe('conflict: unmanaged entry exists');
  });
});

describe('AwsSsmParameterStore', () => {
  const tierOf = async (name: string) =>
    (
      await ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }],
        }),
      )
    ).Parameters?.[0];

  it('names parameters under parameterPath, SecureString by default, tagged', async () => {
    const owner = me();
    const store = ssmStore({ kmsKeyId: 'alias/smc-ssm' });
    const { results } = await syncTo(store, owner, src({ 'db.url': canaryValue('u') }, 'svc'));
    const name = results[0]!.action.storeName;
    expect(name).toMatch(/^\/stores\/[0-9a-f]+\/staging\/svc-db\.url$/);
    const p = await tierOf(name);
    expect(p).toMatchObject({ Type: 'SecureString', Tier: 'Standard', KeyId: 'alias/smc-ssm' });
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
    );
    expect(Object.fromEntries((tags.TagList ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      'managed-by': 'secret-manager-controller',
      'smc-namespace': owner.namespace,
      environment: 'staging',
    });
    expect(store.target).toMatch(/^ssm:us-east-1\/stores\//);
  });

  it('String type when configured', async () => {
    const store = ssmStore({ parameterType: 'String' });
    const { results } = await syncTo(store, me(), src({ PLAIN: canaryValue('p') }));
    expect((await tierOf(results[0]!.action.storeName))?.Type).toBe('String');
  });

  it('tier by size: over 4 KB is Advanced, and an Advanced parameter is never downgraded', async () => {
    const owner = me();
    const store = ssmStore();
    expect(store.limits.maxValueBytes).toBe(8192);
    const service = `s${rand()}`;
    const big = canaryValue('big').padEnd(5000, 'b');
    const name = (await syncTo(store, owner, src({ T: big }, service))).results[0]!.action.storeName;
    expect((await tierOf(name))?.Tier).toBe('Advanced');
    await syncTo(store, owner, src({ T: canaryValue('small') }, service));
    expect((await tierOf(name))?.Tier).toBe('Advanced');

    const small = (await syncTo(store, owner, src({ S: canaryValue('s') }, service))).results;
    expect((await tierOf(small.find((r) => r.action.key === 'S')!.action.storeName))?.Tier).toBe('Standard');
  });

  it('without the Advanced tier the limit is 4 KB', () => {
    expect(ssmStore({ allowAdvancedTier: false }).limits.maxValueBytes).toBe(4096);
  });

  it('an adopted String parameter keeps its type (Parameter Store refuses type changes)', async () => {
    const owner = me();
    const store = ssmStore();
    const service = `s${rand()}`;
    const [named] = src({ ADOPT: 'x' }, service);
    const name = store.naming.compose!({ prefix: service, key: named!.key });
    await ssmOutOfBand(ssm).createUnmanaged(name, canaryValue('theirs'));
    const { results } = await syncTo(store, owner, src({ ADOPT: canaryValue('ours') }, service), {
      adopt: true,
    });
    expect(results[0]).toMatchObject({ ok: true, wrote: true });
    expect((await tierOf(name))?.Type).toBe('String');
    expect(await ssmOutOfBand(ssm).readValue(name)).toBe(canaryValue('ours'));
  });

  it('a bad parameterPath is InvalidSpec at construction', () => {
    expect(() => ssmStore({ parameterPath: '/aws/reserved' })).toThrow(/parameterPath/);
  });
});
