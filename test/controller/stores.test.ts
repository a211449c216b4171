/**
 * The store factory (src/controller/stores.ts): the right store per provider and `configs`, and
 * credentials from the referenced Secret — namespace rules, errors that name the Secret and key but
 * never a value, and a cache keyed by the Secret's resourceVersion so a rotation is picked up.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/index.js';
import { SmcError } from '../../src/errors.js';
import { type StoreFactoryOptions, type StorePolicy, StoreFactory } from '../../src/controller/stores.js';

const AK = 'AKIAEXAMPLEKEYID0001';
const SK = 'very-secret-access-key-value-0001';

function secretOf(data: Record<string, string>, resourceVersion = '1'): V1Secret {
  return {
    metadata: { uid: 'u1', resourceVersion },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

function factory(
  secrets: Record<string, V1Secret>,
  policy: Partial<StorePolicy> = {},
  over: Partial<StoreFactoryOptions> = {},
) {
  const reads: string[] = [];
  const captured: { credentials?: unknown; endpoint?: unknown }[] = [];
  let destroyed = 0;
  const f = new StoreFactory({
    core: {
      readNamespacedSecret: (async (req: { namespace: string; name: string }) => {
        reads.push(`${req.namespace}/${req.name}`);
        const s = secrets[`${req.namespace}/${req.name}`];
        if (!s) throw Object.assign(new Error('not found'), { code: 404 });
        return s;
      }) as never,
    },
    controllerNamespace: 'smc-system',
    policy: () => ({
      noCrossNamespaceRefs: false,
      storeAllowlist: [],
      ...policy,
    }),
    overrides: {
      aws: {
        clientFactory: (config: { credentials?: unknown }) => {
          captured.push(config);
          return {
            destroy() {
              destroyed++;
            },
            send: async () => ({}),
          };
        },
      },
    },
    ...over,
  });
  return { f, reads, captured, destroyed: () => destroyed };
}

const SMC = { namespace: 'team-a', name: 'app' };

function spec(provider: unknown, extra: Record<string, unknown> = {}) {
  return parseSpec(
    {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider,
      secrets: { environment: 'dev', prefix: 'app' },
      ...extra,
    },
    'test',
  );
}

async function failure(p: Promise<unknown>): Promise<SmcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SmcError);
    return e as SmcError;
  }
  throw new Error('expected a failure');
}

describe('StoreFactory', () => {
  it('opens GCP Secret Manager with ADC and Parameter Manager for configs', async () => {
    const { f, reads } = factory({});
    const s1 = await f.open(SMC, spec({ gcp: { projectId: 'my-project-1' } }));
    expect(s1.secretStore.type).toBe('gcp');
    expect(s1.configStore).toBeUndefined();
    const s2 = await f.open(
      SMC,
      spec({ gcp: { projectId: 'my-project-1' } }, { configs: { enabled: true, store: 'ParameterManager' } }),
    );
    expect(s2.configStore?.type).toBe('gcp-pm');
    expect(reads).toEqual([]);
    await Promise.all([s1.secretStore.close?.(), s2.secretStore.close?.(), s2.configStore?.close?.()]);
  });

  it('reads a GCP service-account key from the Secret and refuses an invalid one naming the key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const sa = JSON.stringify({
      type: 'service_account',
      client_email: 'x@my-project-1.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const { f, reads } = factory({
      'team-a/gcp-sa': secretOf({ 'credentials.json': sa }),
      'team-a/bad-sa': secretOf({ 'credentials.json': 'not json SECRETMATERIAL' }),
    });
    const provider = (name: string) => ({
      gcp: { projectId: 'my-project-1', auth: { type: 'serviceAccountKey', secretRef: { name } } },
    });
    const ok = await f.open(SMC, spec(provider('gcp-sa')));
    expect(ok.secretStore.type).toBe('gcp');
    expect(reads).toEqual(['team-a/gcp-sa']);
    const e = await failure(f.open(SMC, spec(provider('bad-sa'))));
    expect(e.code).toBe('InvalidSpec');
    expect(e.message).toContain('team-a/bad-sa');
    expect(e.message).toContain('credentials.json');
    expect(e.message).not.toContain('SECRETMATERIAL');
    await ok.secretStore.close?.();
  });

  it('AWS accessKeys: keys from the Secret; SSM at /<prefix>/<environment> for configs', async () => {
    const { f, captured } = factory({
      'team-a/aws-keys': secretOf({ AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }),
    });
    const stores = await f.open(
      SMC,
      spec(
        { aws: { region: 'eu-central-1', auth: { type: 'accessKeys', secretRef: { name: 'aws-keys' } } } },
        { configs: { enabled: true } },
      ),
    );
    expect(stores.secretStore.type).toBe('aws');
    expect(stores.configStore?.target).toBe('ssm:eu-central-1/app/dev');
    expect(captured).toHaveLength(2);
    const creds = captured[0]!.credentials as () => Promise<{ accessKeyId: string; secretAccessKey: string }>;
    expect(await creds()).toMatchObject({ accessKeyId: AK, secretAccessKey: SK });
    // Nothing in the targets.
    expect(JSON.stringify([stores.secretStore.target, stores.configStore?.target])).not.toContain(AK);
  });

  it('AWS default chain reads no Secret; an explicit parameterPath wins', async () => {
    const { f, reads, captured } = factory({});
    const stores = await f.open(
      SMC,
      spec({ aws: { region: 'us-east-1' } }, { configs: { enabled: true, parameterPath: '/x/y' } }),
    );
    expect(reads).toEqual([]);
    expect(stores.configStore?.target).toBe('ssm:us-east-1/x/y');
    expect(captured[0]!.credentials).toBeUndefined();
  });

  it('a missing Secret is ProviderAuthFailed and a missing key InvalidSpec, both naming it, no values', async () => {
    const { f } = factory({ 'team-a/half': secretOf({ AWS_ACCESS_KEY_ID: AK }) });
    const aws = (name: string, namespace?: string) =>
      spec({
        aws: {
          region: 'eu-central-1',
          auth: { type: 'accessKeys', secretRef: { name, ...(namespace ? { namespace } : {}) } },
        },
      });
    const missing = await failure(f.open(SMC, aws('nope')));
    expect(missing.code).toBe('ProviderAuthFailed');
    expect(missing.message).toContain('Secret team-a/nope not found');
    const half = await failure(f.open(SMC, aws('half')));
    expect(half.code).toBe('InvalidSpec');
    expect(half.message).toContain('team-a/half');
    expect(half.message).toContain('AWS_SECRET_ACCESS_KEY');
    expect(half.message).not.toContain(AK);
  });

  it('caches credentials per Secret resourceVersion: a rotation is picked up', async () => {
    const secrets: Record<string, V1Secret> = {
      'team-a/aws-keys': secretOf({ AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }, '1'),
    };
    const { f, captured } = factory(secrets);
    const s = spec({
      aws: { region: 'eu-central-1', auth: { type: 'accessKeys', secretRef: { name: 'aws-keys' } } },
    });
    await f.open(SMC, s);
    await f.open(SMC, s);
    expect(f.cachedCredentials).toBe(1);
    secrets['team-a/aws-keys'] = secretOf(
      { AWS_ACCESS_KEY_ID: 'AKIAROTATED', AWS_SECRET_ACCESS_KEY: SK },
      '2',
    );
    await f.open(SMC, s);
    expect(f.cachedCredentials).toBe(2);
    // The second open reused the first one's client; the rotation built a new one.
    expect(captured).toHaveLength(2);
    const creds = captured[1]!.credentials as () => Promise<{ accessKeyId: string }>;
    expect((await creds()).accessKeyId).toBe('AKIAROTATED');
  });

  it('no_cross_namespace_refs refuses a credential Secret in another namespace (AccessDenied)', async () => {
    const { f, reads } = factory(
      { 'other/aws-keys': secretOf({ AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }) },
      { noCrossNamespaceRefs: true },
    );
    const e = await failure(
      f.open(
        SMC,
        spec({
          aws: {
            region: 'eu-central-1',
            auth: { type: 'accessKeys', secretRef: { name: 'aws-keys', namespace: 'other' } },
          },
        }),
      ),
    );
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toContain('no_cross_namespace_refs');
    expect(reads).toEqual([]);
  });

  it('no_cross_namespace_refs refuses a credential Secret in the controller namespace too (no exception for it)', async () => {
    const { f, reads } = factory(
      { 'smc-system/aws-keys': secretOf({ AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }) },
      { noCrossNamespaceRefs: true },
    );
    const e = await failure(
      f.open(
        SMC,
        spec({
          aws: {
            region: 'eu-central-1',
            auth: { type: 'accessKeys', secretRef: { name: 'aws-keys', namespace: 'smc-system' } },
          },
        }),
      ),
    );
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toContain('Secret smc-system/aws-keys is outside namespace');
    expect(e.message).toContain('no_cross_namespace_refs');
    expect(reads).toEqual([]);
  });

  it('store_allowlist refuses a target (AccessDenied naming the setting)', async () => {
    const { f } = factory(
      {},
      { storeAllowlist: [{ namespace: 'team-a', targets: [{ provider: 'gcp', segments: ['allowed-1'] }] }] },
    );
    const e = await failure(f.open(SMC, spec({ gcp: { projectId: 'other-project' } })));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toContain('store_allowlist');
  });

  it('Azure: Key Vault with a service principal from the Secret; App Configuration needs its endpoint', async () => {
    const { f } = factory({ 'team-a/sp': secretOf({ AZURE_CLIENT_SECRET: 'sp-secret-value' }) });
    const provider = {
      azure: {
        vaultUrl: 'https://my-vault.vault.azure.net/',
        auth: {
          type: 'servicePrincipal',
          clientId: '00000000-0000-0000-0000-000000000001',
          tenantId: '00000000-0000-0000-0000-000000000002',
          secretRef: { name: 'sp' },
        },
      },
    };
    const s = await f.open(SMC, spec(provider));
    expect(s.secretStore.type).toBe('azure-keyvault');
    const withConfigs = await f.open(
      SMC,
      spec(provider, { configs: { enabled: true, appConfigEndpoint: 'https://my-config.azconfig.io' } }),
    );
    expect(withConfigs.configStore?.type).toBe('appconfig');
    const e = await failure(f.open(SMC, spec(provider, { configs: { enabled: true } })));
    expect(e.code).toBe('InvalidSpec');
    expect(e.message).toContain('appConfigEndpoint');
  });

  it('builds a store client once per configuration and credentials; a client nobody uses any more is closed', async () => {
    const secrets: Record<string, V1Secret> = {
      'team-a/aws-keys': secretOf({ AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }, '1'),
    };
    const { f, captured, destroyed } = factory(secrets);
    const s = spec(
      { aws: { region: 'eu-central-1', auth: { type: 'accessKeys', secretRef: { name: 'aws-keys' } } } },
      { configs: { enabled: true } },
    );
    const close = (x: Awaited<ReturnType<StoreFactory['open']>>) =>
      Promise.all([x.secretStore.close?.(), x.configStore?.close?.()]);
    // Three reconciles: one Secrets Manager client and one SSM client, never closed in between.
    for (let i = 0; i < 3; i++) await close(await f.open(SMC, s));
    expect(captured).toHaveLength(2);
    expect(destroyed()).toBe(0);
    expect(f.cachedClients).toBe(2);
    // Another SMC with the same credentials and region shares them.
    await close(await f.open({ namespace: 'team-a', name: 'other' }, s));
    expect(captured).toHaveLength(2);

    // Rotated credentials: new clients; the old ones close once no SMC's latest open used them and
    // no store holds them.
    secrets['team-a/aws-keys'] = secretOf({ AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }, '2');
    const held = await f.open(SMC, s);
    expect(captured).toHaveLength(4);
    expect(destroyed()).toBe(0); // 'other' still uses them
    await close(await f.open({ namespace: 'team-a', name: 'other' }, s));
    expect(destroyed()).toBe(2);
    // Deleted SMCs: their clients close when the last store holding them does.
    f.forget(SMC);
    f.forget({ namespace: 'team-a', name: 'other' });
    expect(destroyed()).toBe(2);
    await close(held);
    expect(destroyed()).toBe(4);
    expect(f.cachedClients).toBe(0);
  });

  it('a failed open closes the clients of the stores it made before failing', async () => {
    let made = 0;
    let destroyed = 0;
    const { f } = factory(
      {},
      {},
      {
        overrides: {
          aws: {
            // The second client (SSM's) cannot be built: the open fails after Secrets Manager's.
            clientFactory: () => {
              if (made++ === 1) throw new SmcError('InvalidSpec', 'no SSM client here');
              return { destroy: () => void destroyed++, send: async () => ({}) };
            },
          },
        },
      },
    );
    const e = await failure(
      f.open(SMC, spec({ aws: { region: 'eu-central-1' } }, { configs: { enabled: true } })),
    );
    expect(e.message).toBe('no SSM client here');
    expect(made).toBe(2);
    expect(destroyed).toBe(1);
    expect(f.cachedClients).toBe(0);
  });
});
