/**
 * GCP Parameter Manager store against the Parameter Manager FAKE (test/peers/fakes, written from the
 * API reference; no emulator exists), through the official client over REST: the requests it makes,
 * version ids, disable/enable, delete order, and retries without duplicate versions.
 */
import { randomBytes } from 'node:crypto';
import type { ParameterManagerClient } from '@google-cloud/parametermanager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedEntry } from '../../src/entry.js';
import type { DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import {
  GcpParameterManagerStore,
  type GcpParameterManagerStoreOptions,
} from '../../src/stores/gcp/parameter-manager.js';
import type { Owner, ProviderCall } from '../../src/stores/store.js';
import {
  startFakeParameterManager,
  type FakeParameterManager,
} from '../peers/fakes/gcp-parameter-manager.js';
import { FAST_RETRY, parameterManagerOutOfBand, withEndpointEnv } from './contract/targets/gcp.js';

const CANARY = `cnry${randomBytes(8).toString('hex')}`;
const value = (tag: string) => `${tag}:${CANARY}`;
const owner: Owner = { namespace: 'team-b', name: 'shop' };

let fake: FakeParameterManager;
let pm: ParameterManagerClient;
const stores: GcpParameterManagerStore[] = [];
const allCalls: ProviderCall[] = [];

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = 'none';
  fake = await startFakeParameterManager();
  pm = fake.client();
});
afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  await fake?.stop();
  expectNoCanary('observer calls (whole file)', allCalls);
});

function expectNoCanary(label: string, x: unknown): void {
  const text = JSON.stringify(x, (k, v: unknown) =>
    k === 'value' ? undefined : v instanceof Error ? `${v.name}: ${v.message}` : v,
  );
  for (const f of [CANARY, Buffer.from(CANARY).toString('base64').slice(0, 12)]) {
    expect(text.includes(f), `${label} leaks the value`).toBe(false);
  }
}

function world(opts: Partial<GcpParameterManagerStoreOptions> = {}) {
  const projectId = `smc-test-${randomBytes(5).toString('hex')}`;
  const calls: ProviderCall[] = [];
  const throttled = { n: 0 };
  const store = withEndpointEnv(
    'parametermanager',
    fake.endpoint,
    () =>
      new GcpParameterManagerStore({
        projectId,
        environment: 'prod',
        retryPolicy: FAST_RETRY,
        observer: {
          onCall: (c) => {
            calls.push(c);
            allCalls.push(c);
          },
          onThrottled: () => throttled.n++,
        },
        ...opts,
      }),
  );
  stores.push(store);
  const parent = `projects/${projectId}/locations/global`;
  const wire = () =>
    fake.requests.filter((r) => r.path.includes(`/${parent}/`) || r.path.endsWith(`/${parent}`));
  const sync = async (
    entries: Record<string, string | [string, false]>,
    policy: DeletionPolicy = 'Delete',
  ) => {
    const desired: NamedEntry[] = Object.entries(entries).map(([key, v]) => ({
      key,
      value: typeof v === 'string' ? v : v[0],
      enabled: typeof v === 'string',
      kind: 'config',
      origin: 'svc/application.properties',
      storeName: key.replace(/[^A-Za-z0-9_-]/g, '_'),
    }));
    const actual = await store.read(
      owner,
      desired.map((d) => d.storeName),
    );
    const actions = planActions({
      desired,
      actual,
      owner,
      deletionPolicy: policy,
      triggerUpdate: true,
      adopt: false,
    });
    const results = await store.apply(owner, actions);
    expectNoCanary('results', results);
    return results;
  };
  const versions = async (id: string) =>
    (await pm.listParameterVersions({ parent: `${parent}/parameters/${id}` }))[0].map((v) => ({
      id: v.name?.split('/').pop() ?? '',
      disabled: v.disabled === true,
    }));
  const op = (operation: string) => calls.filter((c) => c.operation === operation);
  return {
    store,
    projectId,
    parent,
    calls,
    throttled,
    wire,
    sync,
    versions,
    op,
    oob: parameterManagerOutOfBand(pm, projectId),
  };
}

describe('GcpParameterManagerStore: requests', () => {
  it('creates an UNFORMATTED parameter with labels, then a version with a generated id', async () => {
    const w = world();
    const results = await w.sync({ 'api.timeout': value('30s') });
    expect(results).toMatchObject([{ ok: true, wrote: true }]);
    const create = w.wire().find((r) => r.method === 'POST' && r.path === `/v1/${w.parent}/parameters`);
    expect(create?.query.parameterId).toBe('api_timeout');
    expect(create?.query.requestId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const [p] = await pm.getParameter({ name: `${w.parent}/parameters/api_timeout` });
    expect(p.format).toBe('UNFORMATTED');
    expect(p.labels).toEqual({
      'managed-by': 'secret-manager-controller',
      'smc-namespace': 'team-b',
      'smc-name': 'shop',
      environment: 'prod',
    });
    const [v] = await w.versions('api_timeout');
    expect(v?.id).toMatch(/^v\d{8}t\d{9}z-[0-9a-z]{4}-[0-9a-f]{6}$/);
    expect(results[0]?.version).toBe(v?.id);
    expect(await w.oob.readValue('api_timeout')).toBe(value('30s'));
    // The version this store wrote is known by digest: compared, not read again.
    const [read] = await w.store.read(owner, []);
    expect(read).toMatchObject({ storeName: 'api_timeout', enabled: true, owner, kind: 'config' });
    expect(read?.value).toBeUndefined();
    expect(read?.holds?.(value('30s'))).toBe(true);
    expect(read?.holds?.(value('31s'))).toBe(false);
  });

  // Ids made in the same millisecond are unique too: gcp-units.test.ts (`newParameterVersionId(at)`).
  it('unique version ids for quick successive writes (and from two stores at once)', async () => {
    const w = world();
    await w.sync({ FAST: value('1') });
    await w.sync({ FAST: value('2') });
    await w.sync({ FAST: value('3') });
    const ids = (await w.versions('FAST')).map((v) => v.id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect(await w.oob.readValue('FAST')).toBe(value('3'));

    const a = world();
    const b = world({ projectId: a.projectId });
    await a.sync({ SHARED: value('a') });
    const desired = (v: string): NamedEntry[] => [
      { key: 'SHARED', value: v, enabled: true, kind: 'config', origin: 'o', storeName: 'SHARED' },
    ];
    const plan = async (s: GcpParameterManagerStore, v: string) =>
      planActions({
        desired: desired(v),
        actual: await s.read(owner, ['SHARED']),
        owner,
        deletionPolicy: 'Retain',
        triggerUpdate: true,
        adopt: false,
      });
    const [pa, pb] = await Promise.all([plan(a.store, value('x')), plan(b.store, value('y'))]);
    const [ra, rb] = await Promise.all([a.store.apply(owner, pa), b.store.apply(owner, pb)]);
    expect([ra[0]?.ok, rb[0]?.ok]).toEqual([true, true]);
    expect(ra[0]?.version).not.toBe(rb[0]?.version);
    expect(await a.versions('SHARED')).toHaveLength(3);
  });

  it('exactly one new version per changed value, none for an equal one', async () => {
    const w = world();
    await w.sync({ A: value('1'), B: value('b') });
    w.calls.length = 0;
    await w.sync({ A: value('2'), B: value('b') });
    expect(w.op('CreateParameterVersion')).toHaveLength(1);
    expect(w.calls.filter((c) => c.write)).toHaveLength(1);
    expect(await w.versions('A')).toHaveLength(2);
    expect(await w.versions('B')).toHaveLength(1);
    w.calls.length = 0;
    await w.sync({ A: value('2'), B: value('b') });
    expect(w.calls.filter((c) => c.write)).toEqual([]);
  });

  it('disable sets disabled on every enabled version; enable only on the newest', async () => {
    const w = world();
    await w.sync({ FLAG: value('1') });
    await w.oob.setValue('FLAG', value('2'));
    await w.sync({ FLAG: value('3') });
    expect((await w.versions('FLAG')).map((v) => v.disabled)).toEqual([false, false, false]);

    w.calls.length = 0;
    const off = await w.sync({ FLAG: [value('3'), false] });
    expect(off).toMatchObject([{ action: { type: 'disable' }, ok: true, wrote: true }]);
    expect(w.op('UpdateParameterVersion')).toHaveLength(3);
    const patches = w.wire().filter((r) => r.method === 'PATCH');
    expect(patches.every((r) => r.query.updateMask === 'disabled')).toBe(true);
    expect((await w.versions('FLAG')).map((v) => v.disabled)).toEqual([true, true, true]);
    expect(await w.store.read(owner, [])).toMatchObject([{ storeName: 'FLAG', enabled: false }]);

    w.calls.length = 0;
    const on = await w.sync({ FLAG: value('3') });
    expect(on).toMatchObject([{ action: { type: 'enable' }, ok: true, wrote: true }]);
    expect(w.op('UpdateParameterVersion')).toHaveLength(1);
    expect(w.op('CreateParameterVersion')).toHaveLength(0);
    expect((await w.versions('FLAG')).map((v) => v.disabled)).toEqual([true, true, false]);
    expect(await w.oob.readValue('FLAG')).toBe(value('3'));
  });

  it('a changed value for a key being disabled is written as a disabled version', async () => {
    const w = world();
    await w.sync({ OFF: value('1') });
    await w.sync({ OFF: [value('2'), false] });
    expect((await w.versions('OFF')).map((v) => v.disabled)).toEqual([true, true]);
    const create = w.wire().filter((r) => r.method === 'POST' && r.path.endsWith('/parameters/OFF/versions'));
    expect(create).toHaveLength(2);
    const on = await w.sync({ OFF: value('2') });
    expect(on).toMatchObject([{ action: { type: 'enable' }, ok: true }]);
    expect(await w.versions('OFF')).toHaveLength(2); // enabling the newest was enough
    expect(await w.oob.readValue('OFF')).toBe(value('2'));
  });

  it('delete removes the versions, then the parameter', async () => {
    const w = world();
    await w.sync({ GONE: value('1') });
    await w.sync({ GONE: value('2') });
    w.calls.length = 0;
    await w.sync({}, 'Delete');
    expect(w.calls.filter((c) => c.write).map((c) => c.operation)).toEqual([
      'DeleteParameterVersion',
      'DeleteParameterVersion',
      'DeleteParameter',
    ]);
    expect(await w.oob.exists('GONE')).toBe(false);
  });
});

describe('GcpParameterManagerStore: faults', () => {
  it('a lost response to CreateParameterVersion does not make a second version', async () => {
    const w = world();
    await w.sync({ ONCE: value('1') });
    fake.inject({ method: 'POST', path: /\/parameters\/ONCE\/versions$/, status: 503, afterServing: true });
    const results = await w.sync({ ONCE: value('2') });
    expect(results).toMatchObject([{ ok: true, wrote: true }]);
    expect(await w.versions('ONCE')).toHaveLength(2);
    expect(w.op('CreateParameterVersion').map((c) => c.reason ?? c.result)).toEqual([
      'ok',
      'ProviderUnavailable',
      'ok',
    ]);
    expect(await w.oob.readValue('ONCE')).toBe(value('2'));
  });

  it('throttling with RetryInfo is retried; an auth failure is not', async () => {
    const w = world();
    fake.inject({ method: 'POST', path: /\/parameters$/, status: 429, times: 2, retryDelay: '0.01s' });
    expect(await w.sync({ HOT: value('h') })).toMatchObject([{ ok: true, wrote: true }]);
    expect(w.throttled.n).toBe(2);
    expect(w.op('CreateParameter').map((c) => c.reason ?? c.result)).toEqual([
      'Throttled',
      'Throttled',
      'ok',
    ]);

    fake.inject({ method: 'GET', path: /\/parameters$/, status: 403, times: 1 });
    let error: unknown;
    try {
      await w.store.read(owner, []);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ reason: 'ProviderAuthFailed' });
    expect((error as Error).message).toContain('ListParameters on projects/');
    expect((error as Error).message).toContain('PERMISSION_DENIED (HTTP 403)');
    expect(w.op('ListParameters').filter((c) => c.result === 'error')).toHaveLength(1);
    expectNoCanary('errors', error);
  });

  it('a server that refuses the list filter is asked again without it (the answer is filtered here)', async () => {
    const w = world();
    await w.sync({ MINE: value('m') });
    await w.oob.createUnmanaged('LOOSE', value('l'));
    fake.inject({ method: 'GET', path: /\/parameters$/, status: 400 });
    const before = w.wire().length;
    expect((await w.store.read(owner, [])).map((e) => e.storeName)).toEqual(['MINE']);
    const lists = w
      .wire()
      .slice(before)
      .filter((r) => r.method === 'GET' && r.path.endsWith('/parameters'));
    expect(lists.map((r) => r.query.filter ?? '')).toEqual([
      expect.stringContaining('labels.smc-name="shop"'),
      '',
    ]);
  });

  it('refuses a parameter id over 63 characters before any call', async () => {
    const w = world();
    const long = 'K'.repeat(64);
    const results = await w.store.apply(owner, [
      {
        type: 'create',
        cause: 'missing',
        key: long,
        storeName: long,
        kind: 'config',
        value: value('x'),
        reason: 'r',
      },
    ]);
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toMatch(/not a valid GCP parameter id: name is 64 characters/);
    expect(w.calls).toEqual([]);
  });
});
