/**
 * AWS store configuration against moto, observed through the loopback proxy: endpoint overrides
 * from the SDK's standard environment variables (no test-only code path), the credential sources
 * (default chain, access keys, assume-role via STS), and the write token bucket.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { clearAwsCredentialCache } from '../../src/stores/aws/credentials.js';
import { AwsSecretsManagerStore } from '../../src/stores/aws/secrets-manager.js';
import { AwsSsmParameterStore } from '../../src/stores/aws/ssm.js';
import { ProviderError } from '../../src/stores/provider-error.js';
import type { Owner } from '../../src/stores/store.js';
import { ensurePeer, startMoto, type MotoPeer } from '../peers/cloud/index.js';
import { canaryValue } from './contract/suite.js';
import { authFailure, FaultProxy } from './fault-proxy.js';
import { entries, syncTo } from './local-helpers.js';

let moto: MotoPeer;
let proxy: FaultProxy;
const stores: { close(): Promise<void> }[] = [];

const ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ENDPOINT_URL_SECRETSMANAGER',
  'AWS_ENDPOINT_URL_SSM',
  'AWS_ENDPOINT_URL_STS',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
] as const;
let savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  await ensurePeer('moto');
  moto = await startMoto();
  proxy = await FaultProxy.start(moto.endpointUrl);
});
beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  // No shared config files on this machine can leak into the default chain.
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  clearAwsCredentialCache();
});
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  proxy.reset();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await proxy?.stop();
  await moto?.stop();
});

const me = (): Owner => ({ namespace: `ns-${randomBytes(3).toString('hex')}`, name: 'cfg' });

function sm(opts: Partial<ConstructorParameters<typeof AwsSecretsManagerStore>[0]> = {}) {
  const store = new AwsSecretsManagerStore({ region: moto.region, environment: 'test', ...opts });
  stores.push(store);
  return store;
}

describe('endpoint overrides come from the SDK-standard environment variables', () => {
  it('AWS_ENDPOINT_URL_SECRETS_MANAGER is read by the SDK itself', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = proxy.url;
    const store = sm({ credentials: moto.credentials });
    expect(await store.read(me(), [])).toEqual([]);
    expect(proxy.count('ListSecrets')).toBe(1);
  });

  it('the documented spelling (docs/providers.md) AWS_ENDPOINT_URL_SECRETSMANAGER is honoured when the SDK one is unset', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETSMANAGER = proxy.url;
    const store = sm({ credentials: moto.credentials });
    await store.read(me(), []);
    expect(proxy.count('ListSecrets')).toBe(1);
  });

  it('AWS_ENDPOINT_URL_SSM is read by the SDK itself', async () => {
    process.env.AWS_ENDPOINT_URL_SSM = proxy.url;
    const store = new AwsSsmParameterStore({
      region: moto.region,
      environment: 'test',
      parameterPath: '/cfg/dev',
      credentials: moto.credentials,
    });
    stores.push(store);
    await store.read(me(), ['/cfg/dev/x']);
    expect(proxy.count('DescribeParameters')).toBe(2);
    expect(proxy.count('GetParameters')).toBe(1);
  });
});

describe('credentials', () => {
  it('default chain: keys from the environment (as IRSA/Pod Identity would provide) are used', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = proxy.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIADEFAULTCHAIN0001';
    process.env.AWS_SECRET_ACCESS_KEY = 'default-chain-secret';
    const store = sm({ auth: { type: 'default' } });
    await store.read(me(), []);
    expect(proxy.requests.map((r) => r.accessKeyId)).toEqual(['AKIADEFAULTCHAIN0001']);
  });

  it('default chain with nothing to find fails fast as ProviderAuthFailed (no IMDS probe in tests)', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = proxy.url;
    const store = sm({});
    const error = await store.read(me(), []).catch((e: unknown) => e);
    expect((error as ProviderError).reason).toBe('ProviderAuthFailed');
    expect((error as ProviderError).message).toContain('CredentialsProviderError');
    expect(proxy.requests).toHaveLength(0);
  });

  it('explicit access keys', async () => {
    const store = sm({
      endpoint: proxy.url,
      auth: { type: 'accessKeys', accessKeyId: 'AKIAEXPLICIT00000001', secretAccessKey: 'explicit-secret' },
    });
    await store.read(me(), []);
    expect(proxy.requests.map((r) => r.accessKeyId)).toEqual(['AKIAEXPLICIT00000001']);
  });

  it('assume role: STS AssumeRole with the source keys, then the role session signs every call (cached)', async () => {
    process.env.AWS_ENDPOINT_URL_STS = proxy.url;
    const auth = {
      type: 'assumeRole' as const,
      roleArn: 'arn:aws:iam::123456789012:role/smc-writer',
      externalId: 'ext-1',
      source: { accessKeyId: 'AKIASOURCE0000000001', secretAccessKey: 'source-secret' },
    };
    const owner = me();
    const store = sm({ endpoint: proxy.url, auth });
    const { results } = await syncTo(store, owner, entries({ ROLE: canaryValue('role') }));
    expect(results[0]).toMatchObject({ ok: true });
    const sts = proxy.requests.filter((r) => r.target === 'query.AssumeRole');
    expect(sts.map((r) => r.accessKeyId)).toEqual(['AKIASOURCE0000000001']);
    const signedBy = new Set(
      proxy.requests.filter((r) => r.target !== 'query.AssumeRole').map((r) => r.accessKeyId),
    );
    expect(signedBy.size).toBe(1);
    const [roleKey] = [...signedBy];
    expect(roleKey).toMatch(/^ASIA/);

    // A second store with the same auth reuses the cached role session.
    const again = sm({ endpoint: proxy.url, auth });
    await again.read(owner, []);
    expect(proxy.count('AssumeRole')).toBe(1);
    expect(proxy.requests.at(-1)?.accessKeyId).toBe(roleKey);
  });

  it('assume role from the default chain (no source keys given)', async () => {
    process.env.AWS_ENDPOINT_URL_STS = proxy.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIADEFAULTCHAIN0002';
    process.env.AWS_SECRET_ACCESS_KEY = 'default-chain-secret';
    const store = sm({
      endpoint: proxy.url,
      auth: { type: 'assumeRole', roleArn: 'arn:aws:iam::123456789012:role/r2' },
    });
    await store.read(me(), []);
    expect(proxy.requests.find((r) => r.target === 'query.AssumeRole')?.accessKeyId).toBe(
      'AKIADEFAULTCHAIN0002',
    );
    expect(proxy.requests.find((r) => r.target.endsWith('ListSecrets'))?.accessKeyId).toMatch(/^ASIA/);
  });

  it('a refused AssumeRole fails fast as ProviderAuthFailed naming the role, never a key', async () => {
    process.env.AWS_ENDPOINT_URL_STS = proxy.url;
    proxy.inject(authFailure('AssumeRole', 10));
    const store = sm({
      endpoint: proxy.url,
      auth: {
        type: 'assumeRole',
        roleArn: 'arn:aws:iam::123456789012:role/denied',
        source: { accessKeyId: 'AKIASOURCE0000000002', secretAccessKey: 'never-print-me' },
      },
    });
    const error = await store.read(me(), []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).reason).toBe('ProviderAuthFailed');
    expect((error as ProviderError).message).toContain('arn:aws:iam::123456789012:role/denied');
    expect((error as ProviderError).message).not.toContain('never-print-me');
    expect((error as ProviderError).message).not.toContain('AKIASOURCE0000000002');
    expect(proxy.count('AssumeRole')).toBe(1);
    expect(proxy.requests.filter((r) => !r.target.endsWith('AssumeRole'))).toEqual([]);
  });

  it('bad auth settings are InvalidSpec at construction; the target never names credentials', () => {
    const bad = (auth: ConstructorParameters<typeof AwsSecretsManagerStore>[0]['auth']) => {
      try {
        sm({ auth });
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(isSmcError(bad({ type: 'assumeRole', roleArn: 'not-an-arn' }), 'InvalidSpec')).toBe(true);
    expect(
      isSmcError(bad({ type: 'accessKeys', accessKeyId: 'AKIA', secretAccessKey: '' }), 'InvalidSpec'),
    ).toBe(true);
    const store = sm({
      auth: { type: 'accessKeys', accessKeyId: 'AKIAX', secretAccessKey: 'hidden-secret' },
    });
    expect(store.target).toBe(`aws:${moto.region}`);
  });

  it('recoveryWindowDays must be 7–30', () => {
    expect(() => sm({ recoveryWindowDays: 3 })).toThrow(/7 to 30/);
    expect(() => sm({ recoveryWindowDays: 31 })).toThrow(/7 to 30/);
    expect(() => sm({ recoveryWindowDays: 3, forceDelete: true })).not.toThrow();
  });
});

describe('write token bucket', () => {
  it('spaces writes at the configured rate (lower bound only, so never flaky)', async () => {
    const store = sm({
      endpoint: proxy.url,
      credentials: moto.credentials,
      maxWritesPerSecond: 4,
      writeBurst: 1,
    });
    const started = performance.now();
    const { results } = await syncTo(
      store,
      me(),
      entries({ W1: canaryValue('1'), W2: canaryValue('2'), W3: canaryValue('3') }),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    // Three CreateSecret calls with a burst of one at 4/s: the 2nd and 3rd wait ≥ 250 ms each.
    expect(performance.now() - started).toBeGreaterThanOrEqual(480);
    expect(proxy.count('CreateSecret')).toBe(3);
  });
});
