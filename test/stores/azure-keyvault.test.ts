/**
 * Azure Key Vault store specifics, against the FAKE Key Vault (test/peers/fakes/azure-keyvault.ts):
 * the 401 challenge, TLS trust per client through SMC_AZURE_KEYVAULT_CA_FILE, soft delete and
 * recovery, disable/enable (a disabled value cannot be read), the one retry policy (throttling, 5xx, lost responses),
 * auth failures, and that no value reaches an error or an observer call.
 */
import { randomBytes } from 'node:crypto';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Entry } from '../../src/entry.js';
import { isSmcError } from '../../src/errors.js';
import { nameEntries } from '../../src/naming/name.js';
import type { ActionResult, DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import {
  AzureKeyVaultStore,
  type AzureKeyVaultStoreOptions,
  credentialFor,
  keyVaultOperation,
  staticTokenCredential,
} from '../../src/stores/azure/index.js';
import type { Owner, ProviderCall } from '../../src/stores/store.js';
import { type FakeKeyVault, startFakeKeyVault } from '../peers/fakes/azure-keyvault.js';

const CANARY = `azcnry${randomBytes(8).toString('hex')}q`;
const val = (tag: string) => `${tag}:${CANARY}`;

function noCanary(label: string, x: unknown): void {
  const text = JSON.stringify(x, (k, v: unknown) =>
    k === 'value' ? undefined : v instanceof Error ? `${v.name}: ${v.message} ${String(v.cause ?? '')}` : v,
  );
  expect(text.includes(CANARY), `${label} carries a value: ${text.slice(0, 200)}`).toBe(false);
}

function entries(values: Record<string, string>, disabled: string[] = []): Entry[] {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value,
    kind: 'secret',
    enabled: !disabled.includes(key),
    origin: 'svc/application.secrets.env',
  }));
}

let vault: FakeKeyVault;
let direct: SecretClient;
beforeAll(async () => {
  vault = await startFakeKeyVault();
  direct = new SecretClient(vault.vaultUrl, staticTokenCredential(), {
    tlsOptions: { ca: vault.caPem },
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
});
afterAll(async () => {
  await vault?.stop();
});

const rand = () => randomBytes(3).toString('hex');

function harness(opts: Partial<AzureKeyVaultStoreOptions> = {}) {
  const calls: ProviderCall[] = [];
  let throttled = 0;
  const prefix = `t${rand()}`;
  const owner: Owner = { namespace: 'payments', name: `smc-${rand()}` };
  const make = (extra: Partial<AzureKeyVaultStoreOptions> = {}) =>
    new AzureKeyVaultStore({
      vaultUrl: vault.vaultUrl,
      environment: 'prod',
      credential: staticTokenCredential(),
      env: { SMC_AZURE_KEYVAULT_CA_FILE: vault.caFile },
      clientOptions: { disableChallengeResourceVerification: true },
      retryPolicy: { maxAttempts: 4, baseDelayMs: 2, maxDelayMs: 20 },
      observer: { onCall: (c) => calls.push(c), onThrottled: () => throttled++ },
      ...opts,
      ...extra,
    });
  const store = make();
  const h = {
    calls,
    owner,
    prefix,
    get store() {
      return store;
    },
    throttled: () => throttled,
    name: (key: string) => nameEntries(entries({ [key]: 'x' }), { rule: store.naming, prefix })[0]!.storeName,
    writes: () => calls.filter((c) => c.write).map((c) => c.operation),
    async sync(
      source: Entry[],
      o: { deletionPolicy?: DeletionPolicy; adopt?: boolean; owner?: Owner } = {},
    ): Promise<ActionResult[]> {
      const who = o.owner ?? owner;
      const named = nameEntries(source, { rule: store.naming, prefix });
      const actual = await store.read(
        who,
        named.map((e) => e.storeName),
      );
      const actions = planActions({
        desired: named,
        actual,
        owner: who,
        deletionPolicy: o.deletionPolicy ?? 'Delete',
        triggerUpdate: true,
        adopt: o.adopt ?? false,
      });
      const results = await store.apply(who, actions);
      noCanary('results', results);
      noCanary('observer calls', calls);
      return results;
    },
  };
  return h;
}

function ok(results: ActionResult[]): void {
  expect(results.filter((r) => !r.ok).map((r) => `${r.action.storeName}: ${r.message}`)).toEqual([]);
}

describe('AzureKeyVaultStore', () => {
  it('answers the 401 bearer challenge once, then sends the token; the probe is reported as AuthChallenge', async () => {
    const h = harness();
    const from = vault.requests.length;
    ok(await h.sync(entries({ FIRST: val('1') })));
    const seen = vault.requests.slice(from);
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/secrets', status: 401, authorized: false });
    expect(seen.slice(1).every((r) => r.authorized)).toBe(true);
    expect(h.calls.map((c) => c.operation)).toEqual(['AuthChallenge', 'GetSecrets', 'SetSecret']);
    expect(h.calls[0]).toMatchObject({ write: false, result: 'ok' });
  });

  it('trusts the vault certificate only through SMC_AZURE_KEYVAULT_CA_FILE, per client', async () => {
    const untrusted = harness({ env: {} });
    const err = await untrusted.store.read(untrusted.owner, []).catch((e: unknown) => e);
    expect(isSmcError(err)).toBe(true);
    expect((err as Error).message).toContain('TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)');
    // The trusted store in the same process is unaffected, and vice versa.
    expect(await harness().store.read(untrusted.owner, [])).toEqual([]);
    expect(() => harness({ env: { SMC_AZURE_KEYVAULT_CA_FILE: '/nonexistent/ca.pem' } })).toThrow(
      /SMC_AZURE_KEYVAULT_CA_FILE=\/nonexistent\/ca.pem: cannot read the CA file \(ENOENT\)/,
    );
    // Challenge verification stays on unless asked: the fake is not *.vault.azure.net.
    const strict = harness({ clientOptions: {} });
    const refused = await strict.store.read(strict.owner, []).catch((e: unknown) => e);
    expect(refused).toMatchObject({ reason: 'ProviderAuthFailed' });
    const relaxed = harness({
      clientOptions: {},
      env: {
        SMC_AZURE_KEYVAULT_CA_FILE: vault.caFile,
        SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
      },
    });
    expect(await relaxed.store.read(relaxed.owner, [])).toEqual([]);
  });

  it('tags entries with ownership, environment and the source key, keeping tags others set', async () => {
    const h = harness();
    const n = h.name('db.password');
    await direct.setSecret(n, val('theirs'), { tags: { team: 'payments' } });
    ok(await h.sync(entries({ 'db.password': val('ours') }), { adopt: true }));
    const s = await direct.getSecret(n);
    expect(s.value).toBe(val('ours'));
    expect(s.properties.tags).toEqual({
      team: 'payments',
      'managed-by': 'secret-manager-controller',
      'smc-namespace': h.owner.namespace,
      'smc-name': h.owner.name,
      environment: 'prod',
      'smc-key': 'db.password',
    });
    expect((await h.store.read(h.owner, []))[0]).toMatchObject({ key: 'db.password', owner: h.owner });
  });

  it('soft-deletes on prune and recovers its own soft-deleted secret when the key comes back', async () => {
    const h = harness();
    const n = h.name('GONE');
    ok(await h.sync(entries({ GONE: val('v1'), KEEP: val('k') })));
    ok(await h.sync(entries({ GONE: val('v2'), KEEP: val('k') })));
    expect(vault.versionCount(n)).toBe(2);

    h.calls.length = 0;
    ok(await h.sync(entries({ KEEP: val('k') })));
    expect(h.writes()).toEqual(['DeleteSecret']);
    expect(vault.isSoftDeleted(n)).toBe(true);

    // Back with the same value: recovered with its history, no new version.
    h.calls.length = 0;
    ok(await h.sync(entries({ GONE: val('v2'), KEEP: val('k') })));
    expect(h.writes()).toEqual(['SetSecret', 'RecoverDeletedSecret']);
    expect(h.calls.find((c) => c.operation === 'SetSecret')).toMatchObject({
      result: 'error',
      reason: 'Conflict',
    });
    expect(vault.isSoftDeleted(n)).toBe(false);
    expect(vault.versionCount(n)).toBe(2);
    expect((await direct.getSecret(n)).value).toBe(val('v2'));

    // Deleted again, back with another value: recovered, then exactly one new version.
    ok(await h.sync(entries({ KEEP: val('k') })));
    ok(await h.sync(entries({ GONE: val('v3'), KEEP: val('k') })));
    expect(vault.versionCount(n)).toBe(3);
    expect((await direct.getSecret(n)).value).toBe(val('v3'));
  });

  it('never recovers a soft-deleted secret that is not its own: the entry fails as a conflict', async () => {
    const h = harness();
    const unmanaged = h.name('LOOSE');
    const foreign = h.name('FOREIGN');
    await direct.setSecret(unmanaged, val('x'));
    await (await direct.beginDeleteSecret(unmanaged)).pollUntilDone();
    const other = harness();
    ok(await other.sync(entries({ FOREIGN: val('f') }), {}));
    // `other` used its own prefix; write FOREIGN under ours for the other owner, then delete it.
    ok(await h.sync(entries({ FOREIGN: val('f') }), { owner: other.owner }));
    ok(await h.sync(entries({}), { owner: other.owner }));
    expect(vault.isSoftDeleted(foreign)).toBe(true);

    const results = await h.sync(entries({ LOOSE: val('mine'), FOREIGN: val('mine') }));
    const byName = new Map(results.map((r) => [r.action.storeName, r]));
    expect(byName.get(unmanaged)).toMatchObject({ ok: false, wrote: false });
    expect(byName.get(unmanaged)?.message).toMatch(
      /soft-deleted .* was not created by secret-manager-controller; recover or purge it/,
    );
    expect(byName.get(foreign)?.message).toContain(
      `belongs to SecretManagerConfig ${other.owner.namespace}/${other.owner.name}`,
    );
    expect(vault.isSoftDeleted(unmanaged)).toBe(true);
    expect(vault.isSoftDeleted(foreign)).toBe(true);
  });

  it('disables with enabled=false (the value then cannot be read), and re-enables without a new version', async () => {
    const h = harness();
    const n = h.name('TOGGLE');
    ok(await h.sync(entries({ TOGGLE: val('t') })));
    h.calls.length = 0;
    ok(await h.sync(entries({ TOGGLE: val('t') }, ['TOGGLE'])));
    expect(h.writes()).toEqual(['UpdateSecret']);
    const err = await direct.getSecret(n).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(
      (err as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code,
    ).toBe('SecretDisabled');

    h.calls.length = 0;
    ok(await h.sync(entries({ TOGGLE: val('t') })));
    expect(h.writes()).toEqual(['UpdateSecret']);
    expect((await direct.getSecret(n)).value).toBe(val('t'));
    expect(vault.versionCount(n)).toBe(1);
  });

  it('a disabled value cannot be read: the entry is left alone while disabled and compared when enabled', async () => {
    const h = harness();
    const n = h.name('SLEEPY');
    ok(await h.sync(entries({ SLEEPY: val('s1') }, ['SLEEPY'])));
    expect(vault.versionCount(n)).toBe(1);
    const read = await h.store.read(h.owner, [n]);
    expect(read).toEqual([expect.objectContaining({ storeName: n, enabled: false, owner: h.owner })]);
    expect(read[0]?.value).toBeUndefined();

    h.calls.length = 0;
    const still = await h.sync(entries({ SLEEPY: val('s1') }, ['SLEEPY']));
    ok(still);
    expect(still[0]).toMatchObject({ wrote: false, action: { type: 'noop' } });
    expect(h.writes()).toEqual([]);

    // Enabled with the same value: enabled, read back, equal — no new version.
    h.calls.length = 0;
    ok(await h.sync(entries({ SLEEPY: val('s1') })));
    expect(h.writes()).toEqual(['UpdateSecret']);
    expect(vault.versionCount(n)).toBe(1);

    // Disabled again; the value changes in Git while disabled (nothing written), then it is enabled:
    // enabled, compared, one new version with the value from Git.
    ok(await h.sync(entries({ SLEEPY: val('s1') }, ['SLEEPY'])));
    h.calls.length = 0;
    ok(await h.sync(entries({ SLEEPY: val('s2') }, ['SLEEPY'])));
    expect(h.writes()).toEqual([]);
    ok(await h.sync(entries({ SLEEPY: val('s2') })));
    expect(h.writes()).toEqual(['UpdateSecret', 'SetSecret']);
    expect((await direct.getSecret(n)).value).toBe(val('s2'));
    expect(vault.versionCount(n)).toBe(2);
  });

  it('retries throttling (honouring Retry-After) and 5xx with its own policy only, with no duplicate version', async () => {
    const h = harness();
    const n = h.name('BUSY');
    vault.fault({
      method: 'PUT',
      path: new RegExp(`/secrets/${n}$`),
      status: 429,
      times: 2,
      retryAfter: '0',
    });
    ok(await h.sync(entries({ BUSY: val('b') })));
    expect(h.throttled()).toBe(2);
    expect(h.calls.filter((c) => c.operation === 'SetSecret').map((c) => c.reason ?? c.result)).toEqual([
      'Throttled',
      'Throttled',
      'ok',
    ]);
    expect(vault.versionCount(n)).toBe(1);

    // A lost response: the vault wrote the version, then answered 500. The retry sees the value and stops.
    const lost = h.name('LOST');
    vault.fault({ method: 'PUT', path: new RegExp(`/secrets/${lost}$`), status: 500, afterServing: true });
    ok(await h.sync(entries({ LOST: val('l') })));
    expect(vault.versionCount(lost)).toBe(1);

    // The SDK does not retry underneath: a 503 that never ends is tried exactly maxAttempts (4) times.
    const down = h.name('DOWN');
    const from = vault.requests.length;
    vault.fault({ method: 'PUT', path: new RegExp(`/secrets/${down}$`), status: 503, times: 100 });
    const results = await h.sync(entries({ DOWN: val('d') }));
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toBe(`Azure Key Vault set of "${down}" failed: HTTP 503 InternalError`);
    expect(vault.requests.slice(from).filter((r) => r.method === 'PUT').length).toBe(4);
    vault.fault({ method: 'PUT', path: new RegExp(`/secrets/${down}$`), status: 503, times: 0 });
  });

  it('fails fast with ProviderAuthFailed when the identity has no access', async () => {
    const h = harness();
    vault.denyAll = true;
    try {
      const err = await h.store.read(h.owner, [h.name('X')]).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'ProviderAuthFailed' });
      expect((err as Error).message).toBe(
        // A paged list's error carries the code but not the inner code.
        'Azure Key Vault list failed: HTTP 403 Forbidden; the identity needs get, list, set, delete and recover permissions on the vault secrets',
      );
      expect(h.calls.filter((c) => c.operation === 'GetSecrets')).toHaveLength(1);
      const results = await h.store.apply(h.owner, [
        {
          type: 'create',
          cause: 'missing',
          storeName: h.name('X'),
          key: 'X',
          kind: 'secret',
          value: val('x'),
          enabled: true,
          reason: 'test',
        },
      ]);
      expect(results[0]).toMatchObject({ ok: false, wrote: false });
      expect(results[0]?.message).toContain('HTTP 403');
      expect(h.calls.filter((c) => c.operation === 'SetSecret')).toHaveLength(1);
      noCanary('auth failure', { err, results, calls: h.calls });
    } finally {
      vault.denyAll = false;
    }
  });

  it('names REST operations from the request, for the observer', () => {
    const base = 'https://v.vault.azure.net';
    expect(keyVaultOperation('PUT', `${base}/secrets/a?api-version=x`, '')).toEqual({
      operation: 'SetSecret',
      write: true,
    });
    expect(keyVaultOperation('GET', `${base}/secrets/a/?api-version=x`, '')).toEqual({
      operation: 'GetSecret',
      write: false,
    });
    expect(keyVaultOperation('PATCH', `${base}/secrets/a/`, '')).toEqual({
      operation: 'UpdateSecret',
      write: true,
    });
    expect(keyVaultOperation('GET', `${base}/secrets?$skiptoken=2`, '')).toEqual({
      operation: 'GetSecrets',
      write: false,
    });
    expect(keyVaultOperation('GET', `${base}/secrets/a/versions`, '')).toEqual({
      operation: 'GetSecretVersions',
      write: false,
    });
    expect(keyVaultOperation('POST', `${base}/deletedsecrets/a/recover`, '')).toEqual({
      operation: 'RecoverDeletedSecret',
      write: true,
    });
    expect(keyVaultOperation('DELETE', `${base}/deletedsecrets/a`, '')).toEqual({
      operation: 'PurgeDeletedSecret',
      write: true,
    });
    expect(keyVaultOperation('GET', `${base}/kv/secrets/a`, '/kv')).toEqual({
      operation: 'GetSecret',
      write: false,
    });
  });

  it('credentialFor picks the credential for provider.azure.auth without making a request', () => {
    vi.stubEnv('AZURE_CLIENT_ID', '');
    vi.stubEnv('AZURE_TENANT_ID', '');
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', '');
    expect(() => credentialFor({ type: 'workloadIdentity' })).toThrow(/workload identity is not configured/);
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', '/var/run/secrets/azure/tokens/azure-identity-token');
    expect(
      credentialFor({
        type: 'workloadIdentity',
        clientId: '11111111-2222-3333-4444-555555555555',
        tenantId: '66666666-7777-8888-9999-000000000000',
      }).constructor.name,
    ).toBe('WorkloadIdentityCredential');
    vi.unstubAllEnvs();
    expect(
      credentialFor({ type: 'managedIdentity', clientId: '11111111-2222-3333-4444-555555555555' }).constructor
        .name,
    ).toBe('ManagedIdentityCredential');
    const sp = {
      type: 'servicePrincipal',
      clientId: '11111111-2222-3333-4444-555555555555',
      tenantId: '66666666-7777-8888-9999-000000000000',
      secretRef: { name: 'azure-sp' },
    } as const;
    expect(credentialFor(sp, { AZURE_CLIENT_SECRET: val('sp') }).constructor.name).toBe(
      'ClientSecretCredential',
    );
    let err: unknown;
    try {
      credentialFor(sp, {});
    } catch (e) {
      err = e;
    }
    expect(isSmcError(err, 'InvalidSpec')).toBe(true);
    expect((err as Error).message).toContain('has no non-empty key AZURE_CLIENT_SECRET');
  });
});
