/**
 * Azure App Configuration store specifics, against the FAKE App Configuration
 * (test/peers/fakes/azure-app-configuration.ts): labels, content type, HMAC and bearer auth, the
 * etag conditions (a 412 re-reads and retries once), read-only key-values, the 10 KB limit on key and
 * value together, the one retry policy (throttling, 5xx, lost responses), auth failures, and that no
 * value reaches an error or an observer call.
 */
import { randomBytes } from 'node:crypto';
import { AppConfigurationClient } from '@azure/app-configuration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.js';
import { isSmcError } from '../../src/errors.js';
import { checkLimits } from '../../src/naming/limits.js';
import { nameEntries } from '../../src/naming/name.js';
import type { ActionResult, DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import {
  APPCONFIG_MAX_KEY_VALUE_BYTES,
  AzureAppConfigurationStore,
  type AzureAppConfigurationStoreOptions,
  appConfigOperation,
  staticTokenCredential,
} from '../../src/stores/azure/index.js';
import type { Owner, ProviderCall } from '../../src/stores/store.js';
import { type FakeAppConfig, startFakeAppConfig } from '../peers/fakes/azure-app-configuration.js';

const CANARY = `accnry${randomBytes(8).toString('hex')}q`;
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
    kind: 'config',
    enabled: !disabled.includes(key),
    origin: 'svc/application.properties',
  }));
}

let fake: FakeAppConfig;
let direct: AppConfigurationClient;
beforeAll(async () => {
  fake = await startFakeAppConfig();
  direct = new AppConfigurationClient(fake.connectionString, {
    retryOptions: { maxRetries: 0 },
    tlsOptions: { ca: fake.caPem },
  });
});
afterAll(async () => {
  await fake?.stop();
});

const rand = () => randomBytes(3).toString('hex');

function harness(opts: Partial<AzureAppConfigurationStoreOptions> = {}) {
  const calls: ProviderCall[] = [];
  let throttled = 0;
  const prefix = `t${rand()}`;
  const owner: Owner = { namespace: 'payments', name: `smc-${rand()}` };
  const store = new AzureAppConfigurationStore({
    connectionString: fake.connectionString,
    environment: 'prod',
    clientOptions: { tlsOptions: { ca: fake.caPem } },
    retryPolicy: { maxAttempts: 4, baseDelayMs: 2, maxDelayMs: 20 },
    observer: { onCall: (c) => calls.push(c), onThrottled: () => throttled++ },
    ...opts,
  });
  return {
    calls,
    owner,
    prefix,
    store,
    throttled: () => throttled,
    name: (key: string) => nameEntries(entries({ [key]: 'x' }), { rule: store.naming, prefix })[0]!.storeName,
    writes: () => calls.filter((c) => c.write).map((c) => `${c.operation}:${c.result}`),
    async plan(source: Entry[], o: { deletionPolicy?: DeletionPolicy; adopt?: boolean } = {}) {
      const named = nameEntries(source, { rule: store.naming, prefix });
      const actual = await store.read(
        owner,
        named.map((e) => e.storeName),
      );
      return planActions({
        desired: named,
        actual,
        owner,
        deletionPolicy: o.deletionPolicy ?? 'Delete',
        triggerUpdate: true,
        adopt: o.adopt ?? false,
      });
    },
    async sync(source: Entry[], o: { deletionPolicy?: DeletionPolicy; adopt?: boolean } = {}) {
      const actions = await this.plan(source, o);
      const results = await store.apply(owner, actions);
      noCanary('results', results);
      noCanary('observer calls', calls);
      return results;
    },
  };
}

function ok(results: ActionResult[]): void {
  expect(results.filter((r) => !r.ok).map((r) => `${r.action.storeName}: ${r.message}`)).toEqual([]);
}

describe('AzureAppConfigurationStore', () => {
  it('keys are prefix:environment:key; tags carry ownership, environment and the source key', async () => {
    const h = harness();
    const n = h.name('db.url');
    expect(n).toBe(`${h.prefix}:prod:db.url`);
    ok(await h.sync(entries({ 'db.url': val('u') })));
    const kv = fake.get(n, null)!;
    expect(kv.value).toBe(val('u'));
    expect(kv.contentType).toBe('text/plain');
    expect(kv.tags).toEqual({
      'managed-by': 'secret-manager-controller',
      'smc-namespace': 'payments',
      'smc-name': h.owner.name,
      environment: 'prod',
      'smc-key': 'db.url',
    });
    expect(h.store.type).toBe('appconfig');
    expect(h.store.target).toBe(fake.endpoint);
  });

  it('labels: each store writes and reads only its own label; the null label is separate', async () => {
    const blue = harness({ label: 'blue', contentType: 'application/json' });
    const owner = blue.owner;
    const key = 'SHARED_KEY';
    const n = blue.name(key);
    // Same owner and prefix for both, so only the label tells them apart.
    const plain = new AzureAppConfigurationStore({
      connectionString: fake.connectionString,
      environment: 'prod',
      clientOptions: { tlsOptions: { ca: fake.caPem } },
    });
    ok(await blue.store.apply(owner, await blue.plan(entries({ [key]: val('blue') }))));
    expect(fake.get(n, 'blue')).toMatchObject({ value: val('blue'), contentType: 'application/json' });
    expect(fake.get(n, null)).toBeUndefined();
    expect(blue.store.target).toBe(`${fake.endpoint} (label blue)`);

    // The unlabelled store sees nothing of the labelled key-value.
    expect(await plain.read(owner, [n])).toEqual([]);
    const actions = planActions({
      desired: nameEntries(entries({ [key]: val('none') }), { rule: plain.naming, prefix: blue.prefix }),
      actual: await plain.read(owner, [n]),
      owner,
      deletionPolicy: 'Delete',
      triggerUpdate: true,
      adopt: false,
    });
    expect(actions.map((a) => a.type)).toEqual(['create']);
    ok(await plain.apply(owner, actions));
    expect(fake.get(n, null)?.value).toBe(val('none'));
    expect(fake.get(n, 'blue')?.value).toBe(val('blue'));

    // Listing for the owner stays within the label.
    expect((await blue.store.read(owner, [])).map((e) => [e.storeName, e.value])).toEqual([[n, val('blue')]]);
    expect((await plain.read(owner, [])).map((e) => [e.storeName, e.value])).toEqual([[n, val('none')]]);
  });

  it('disable keeps the value and tags disabled=true; enable removes the tag', async () => {
    const h = harness();
    const n = h.name('FLAG');
    ok(await h.sync(entries({ FLAG: val('f') })));
    ok(await h.sync(entries({ FLAG: val('f') }, ['FLAG'])));
    expect(fake.get(n, null)).toMatchObject({ value: val('f') });
    expect(fake.get(n, null)?.tags.disabled).toBe('true');
    expect((await h.store.read(h.owner, [])).find((e) => e.storeName === n)?.enabled).toBe(false);
    ok(await h.sync(entries({ FLAG: val('f') })));
    expect(fake.get(n, null)?.tags.disabled).toBeUndefined();
  });

  it('etag conflict: a key-value changed between read and write is re-read and written once more', async () => {
    const h = harness();
    const n = h.name('RACE');
    ok(await h.sync(entries({ RACE: val('v1') })));
    const actions = await h.plan(entries({ RACE: val('v2') }));
    // Someone (another replica) changes the value after our read: the etag we read is stale.
    const kv = fake.get(n, null)!;
    fake.poke(n, null, { value: val('other'), tags: kv.tags });
    h.calls.length = 0;
    const results = await h.store.apply(h.owner, actions);
    ok(results);
    expect(h.writes()).toEqual(['PutKeyValue:error', 'PutKeyValue:ok']);
    expect(h.calls.find((c) => c.result === 'error')?.reason).toBe('Conflict');
    expect(h.calls.map((c) => c.operation)).toEqual(['PutKeyValue', 'GetKeyValue', 'PutKeyValue']);
    expect(fake.get(n, null)?.value).toBe(val('v2'));
    noCanary('results', results);
  });

  it('etag conflict: a re-read that shows another owner stops without a second write', async () => {
    const h = harness();
    const n = h.name('TAKEN');
    ok(await h.sync(entries({ TAKEN: val('v1') })));
    const actions = await h.plan(entries({ TAKEN: val('v2') }));
    const kv = fake.get(n, null)!;
    fake.poke(n, null, { tags: { ...kv.tags, 'smc-name': 'someone-else' } });
    h.calls.length = 0;
    const [r] = await h.store.apply(h.owner, actions);
    expect(r).toMatchObject({ ok: false, wrote: false });
    expect(r?.message).toMatch(/no longer ours/);
    expect(h.writes()).toEqual(['PutKeyValue:error']);
    expect(fake.get(n, null)?.value).toBe(val('v1'));
  });

  it('etag conflict twice in a row fails the entry as a Conflict (no third attempt)', async () => {
    const h = harness();
    const n = h.name('HOT');
    ok(await h.sync(entries({ HOT: val('v1') })));
    fake.fault({ method: 'PUT', path: new RegExp(`/kv/${encodeURIComponent(n)}$`), status: 412, times: 2 });
    h.calls.length = 0;
    const [r] = await h.sync(entries({ HOT: val('v2') }));
    expect(r).toMatchObject({ ok: false });
    expect(r?.message).toMatch(/changed concurrently twice/);
    expect(h.writes()).toEqual(['PutKeyValue:error', 'PutKeyValue:error']);
  });

  it('a create racing another writer (If-None-Match: * fails) re-reads and converges when the entry is ours', async () => {
    const h = harness();
    const n = h.name('BORN');
    const actions = await h.plan(entries({ BORN: val('b') }));
    // The same owner created it meanwhile (e.g. a previous reconcile whose response was lost).
    fake.fault({
      method: 'PUT',
      path: new RegExp(`/kv/${encodeURIComponent(n)}$`),
      status: 412,
      afterServing: true,
    });
    h.calls.length = 0;
    ok(await h.store.apply(h.owner, actions));
    expect(h.writes()).toEqual(['PutKeyValue:error']);
    expect(fake.get(n, null)?.value).toBe(val('b'));
  });

  it('throttling (429 + Retry-After) and 5xx are retried by the one policy; a lost response writes once', async () => {
    const h = harness();
    const n = h.name('RETRY');
    fake.fault({ method: 'GET', path: /^\/kv$/, status: 429, retryAfter: '0' });
    fake.fault({ method: 'PUT', path: new RegExp(`/kv/${encodeURIComponent(n)}$`), status: 503 });
    ok(await h.sync(entries({ RETRY: val('r1') })));
    expect(h.throttled()).toBe(1);
    expect(h.calls.filter((c) => c.reason === 'Throttled')).toHaveLength(1);
    expect(h.calls.filter((c) => c.reason === 'ProviderUnavailable')).toHaveLength(1);
    expect(fake.get(n, null)?.value).toBe(val('r1'));

    // The update is served but its response lost (a 500): the retry's If-Match fails, the re-read
    // shows our value, and nothing more is written.
    fake.fault({
      method: 'PUT',
      path: new RegExp(`/kv/${encodeURIComponent(n)}$`),
      status: 500,
      afterServing: true,
    });
    h.calls.length = 0;
    ok(await h.sync(entries({ RETRY: val('r2') })));
    expect(h.writes()).toEqual(['PutKeyValue:error', 'PutKeyValue:error']);
    expect(fake.get(n, null)?.value).toBe(val('r2'));
    h.calls.length = 0;
    ok(await h.sync(entries({ RETRY: val('r2') })));
    expect(h.writes()).toEqual([]);
  });

  it('auth failure (a wrong HMAC secret) fails fast as ProviderAuthFailed, without the secret or a value', async () => {
    const h = harness({ connectionString: fake.badConnectionString });
    let error: unknown;
    try {
      await h.store.read(h.owner, [h.name('X')]);
    } catch (e) {
      error = e;
    }
    expect(isSmcError(error, 'ProviderAuthFailed'), String(error)).toBe(true);
    expect(h.calls).toHaveLength(1);
    const secret = /Secret=([^;]+)/.exec(fake.badConnectionString)![1]!;
    expect(String((error as Error).message)).not.toContain(secret);
    expect(JSON.stringify(h.calls)).not.toContain(secret);
  });

  it('a TokenCredential (bearer) works as well as the connection string', async () => {
    const h = harness({
      connectionString: undefined,
      endpoint: fake.endpoint,
      credential: staticTokenCredential(),
    });
    ok(await h.sync(entries({ BEARER: val('t') })));
    expect(fake.get(h.name('BEARER'), null)?.value).toBe(val('t'));
  });

  it('a read-only (locked) key-value is never unlocked: the write fails as a Conflict', async () => {
    const h = harness();
    const n = h.name('LOCKED');
    ok(await h.sync(entries({ LOCKED: val('l1') })));
    await direct.setReadOnly({ key: n }, true);
    const [r] = await h.sync(entries({ LOCKED: val('l2') }));
    expect(r).toMatchObject({ ok: false, wrote: false });
    expect(r?.message).toMatch(/HTTP 409.*read-only/);
    expect(fake.get(n, null)).toMatchObject({ value: val('l1'), locked: true });
  });

  it('size: key, content type, tags and value together over 10 KB fail before any call', async () => {
    const h = harness();
    const key = `LONG_${'k'.repeat(2000)}`;
    const value = val('big').padEnd(h.store.limits.maxValueBytes, 'x');
    const named = nameEntries(entries({ [key]: value }), { rule: h.store.naming, prefix: h.prefix });
    expect(checkLimits(named, h.store.limits).rejected).toEqual([]); // the value alone fits
    const results = await h.sync(entries({ [key]: value }));
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toContain(String(APPCONFIG_MAX_KEY_VALUE_BYTES));
    expect(h.writes()).toEqual([]);
    expect(h.store.limits.maxValueBytes).toBeLessThan(APPCONFIG_MAX_KEY_VALUE_BYTES);
  });

  it('name collision through the only rewritten character (%) stops the run', () => {
    const h = harness();
    let error: unknown;
    try {
      nameEntries(entries({ 'a%b': val('1'), a_b: val('2') }), { rule: h.store.naming, prefix: h.prefix });
    } catch (e) {
      error = e;
    }
    expect(isSmcError(error, 'NameCollision')).toBe(true);
    noCanary('collision', error);
  });

  it('prefix: listing is limited to keys prefix:environment:*; keys outside it are not pruned', async () => {
    const h = harness();
    const other = new AzureAppConfigurationStore({
      connectionString: fake.connectionString,
      environment: 'prod',
      prefix: h.prefix,
      clientOptions: { tlsOptions: { ca: fake.caPem } },
    });
    ok(await h.sync(entries({ IN: val('in') })));
    // The same owner has a key under another prefix (written by an unprefixed store).
    const outside = nameEntries(entries({ OUT: val('out') }), { rule: h.store.naming, prefix: 'elsewhere' });
    const acts = planActions({
      desired: outside,
      actual: [],
      owner: h.owner,
      deletionPolicy: 'Retain',
      triggerUpdate: true,
      adopt: false,
    });
    ok(await h.store.apply(h.owner, acts));
    expect((await h.store.read(h.owner, [])).map((e) => e.storeName).sort()).toEqual(
      [h.name('IN'), 'elsewhere:prod:OUT'].sort(),
    );
    expect((await other.read(h.owner, [])).map((e) => e.storeName)).toEqual([h.name('IN')]);
  });

  it('prune Disable of a key-value that holds no value (null) tags it and keeps it value-less', async () => {
    const h = harness();
    const n = h.name('EMPTY');
    ok(await h.sync(entries({ EMPTY: val('e'), KEEP: val('k') })));
    const kv = fake.get(n, null)!;
    await direct.setConfigurationSetting({ key: n, tags: kv.tags, contentType: 'text/plain' });
    expect(fake.get(n, null)?.value).toBeNull();
    const actions = await h.plan(entries({ KEEP: val('k') }), { deletionPolicy: 'Disable' });
    expect(actions.map((a) => a.type)).toEqual(['prune', 'noop']);
    ok(await h.store.apply(h.owner, actions));
    expect(fake.get(n, null)).toMatchObject({ value: null, tags: { disabled: 'true' } });
  });

  it('prune Delete removes only our key-value, conditional on the etag read', async () => {
    const h = harness();
    ok(await h.sync(entries({ A: val('a'), B: val('b') })));
    h.calls.length = 0;
    ok(await h.sync(entries({ A: val('a') }), { deletionPolicy: 'Delete' }));
    expect(h.writes()).toEqual(['DeleteKeyValue:ok']);
    expect(fake.get(h.name('B'), null)).toBeUndefined();
    expect(fake.get(h.name('A'), null)?.value).toBe(val('a'));
  });

  it('rejects a malformed connection string without echoing it', () => {
    const bad = 'Endpoint=https://x.azconfig.io;Secret=topsecretvalue';
    expect(() => new AzureAppConfigurationStore({ connectionString: bad, environment: 'prod' })).toThrow(
      /Endpoint=…;Id=…;Secret=…/,
    );
    try {
      new AzureAppConfigurationStore({ connectionString: bad, environment: 'prod' });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('topsecretvalue');
    }
  });

  it('names REST operations from the request', () => {
    expect(appConfigOperation('GET', 'https://s.azconfig.io/kv?key=a')).toEqual({
      operation: 'GetKeyValues',
      write: false,
    });
    expect(appConfigOperation('PUT', 'https://s.azconfig.io/kv/a%3Ab')).toEqual({
      operation: 'PutKeyValue',
      write: true,
    });
    expect(appConfigOperation('DELETE', 'https://s.azconfig.io/kv/a')).toEqual({
      operation: 'DeleteKeyValue',
      write: true,
    });
    expect(appConfigOperation('PUT', 'https://s.azconfig.io/locks/a')).toEqual({
      operation: 'PutLock',
      write: true,
    });
  });
});
