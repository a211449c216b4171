/**
 * GCP Secret Manager store against drongo (the emulator process), through the recording / fault-
 * injecting proxy of contract/targets/gcp.ts: the requests it makes (replication, labels, etags,
 * versions), retries under throttling, 5xx and lost responses, fast auth failures, rate limiting,
 * and no value in any message.
 */
import { randomBytes } from 'node:crypto';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedEntry } from '../../src/entry.js';
import type { Action, DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import {
  GcpSecretManagerStore,
  type GcpSecretManagerStoreOptions,
} from '../../src/stores/gcp/secret-manager.js';
import type { Owner, ProviderCall } from '../../src/stores/store.js';
import { ensurePeer, startGcpSecretManager, type GcpSecretManagerPeer } from '../peers/cloud/index.js';
import {
  FAST_RETRY,
  secretManagerOutOfBand,
  startGcpRestProxy,
  withEndpointEnv,
  type GcpRestProxy,
} from './contract/targets/gcp.js';

const CANARY = `cnry${randomBytes(8).toString('hex')}`;
const value = (tag: string) => `${tag}:${CANARY}`;
const owner: Owner = { namespace: 'team-a', name: 'billing' };

let peer: GcpSecretManagerPeer;
let proxy: GcpRestProxy;
let sm: SecretManagerServiceClient;
const stores: GcpSecretManagerStore[] = [];
const allCalls: ProviderCall[] = [];

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = 'none';
  await ensurePeer('gcp-sm-emulator');
  peer = await startGcpSecretManager();
  proxy = await startGcpRestProxy(`http://127.0.0.1:${peer.endpoint.port}`, { regional: true });
  sm = peer.client();
});
afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  await proxy?.stop();
  await peer?.stop();
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

interface World {
  store: GcpSecretManagerStore;
  projectId: string;
  calls: ProviderCall[];
  throttled: { n: number };
  /** Requests this world's store sent (through the proxy). */
  wire(): GcpRestProxy['requests'];
  sync(
    entries: Record<string, string | [string, false]>,
    policy?: DeletionPolicy,
  ): Promise<Awaited<ReturnType<GcpSecretManagerStore['apply']>>>;
  oob: ReturnType<typeof secretManagerOutOfBand>;
}

function world(opts: Partial<GcpSecretManagerStoreOptions> = {}): World {
  const projectId = peer.newProject();
  const calls: ProviderCall[] = [];
  const throttled = { n: 0 };
  const store = withEndpointEnv(
    'secretmanager',
    proxy.endpoint,
    () =>
      new GcpSecretManagerStore({
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
  const start = proxy.requests.length;
  const wire = () => proxy.requests.slice(start).filter((r) => r.path.includes(`/projects/${projectId}/`));
  const sync: World['sync'] = async (entries, policy = 'Delete') => {
    const desired: NamedEntry[] = Object.entries(entries).map(([key, v]) => ({
      key,
      value: typeof v === 'string' ? v : v[0],
      enabled: typeof v === 'string',
      kind: 'secret',
      origin: 'svc/application.secrets.env',
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
  return { store, projectId, calls, throttled, wire, sync, oob: secretManagerOutOfBand(sm, projectId) };
}

const op = (w: World, operation: string) => w.calls.filter((c) => c.operation === operation);

describe('GcpSecretManagerStore: requests', () => {
  it('creates with automatic replication, ownership + environment labels and the key as an annotation', async () => {
    const w = world();
    const results = await w.sync({ 'db.Password': value('a') });
    expect(results).toMatchObject([{ ok: true, wrote: true, version: '1' }]);
    const create = w
      .wire()
      .find((r) => r.method === 'POST' && r.path === `/v1/projects/${w.projectId}/secrets`);
    expect(create?.query.secretId).toBe('db_Password');
    expect(create?.body).toMatchObject({
      replication: { automatic: {} },
      labels: {
        'managed-by': 'secret-manager-controller',
        'smc-namespace': 'team-a',
        'smc-name': 'billing',
        environment: 'prod',
      },
      annotations: { 'smc-key': 'db.Password', 'smc-kind': 'secret' },
    });
    expect(await w.oob.readValue('db_Password')).toBe(value('a'));
  });

  it('regional: the regional REST paths and no replication policy', async () => {
    const w = world({ location: 'europe-west4' });
    expect(w.store.target).toBe(`gcp:${w.projectId}/europe-west4`);
    const results = await w.sync({ TOKEN: value('r') });
    expect(results).toMatchObject([{ ok: true, wrote: true }]);
    const paths = w.wire().map((r) => r.path);
    expect(
      paths.every((p) => p.startsWith(`/v1/projects/${w.projectId}/locations/europe-west4/secrets`)),
    ).toBe(true);
    const create = w
      .wire()
      .find((r) => r.method === 'POST' && r.path.endsWith('/locations/europe-west4/secrets'));
    expect(create?.body).not.toHaveProperty('replication');
    const read = await w.store.read(owner, []);
    expect(read).toMatchObject([{ storeName: 'TOKEN', value: value('r'), enabled: true, owner }]);
  });

  it('lists with the owner filter and filters the answer itself (drongo ignores filters)', async () => {
    const w = world();
    await w.sync({ MINE: value('m') });
    await w.oob.createUnmanaged('LOOSE', value('l'));
    const list = w.wire().find((r) => r.method === 'GET' && r.path === `/v1/projects/${w.projectId}/secrets`);
    expect(list?.query.filter).toBe(
      'labels.managed-by="secret-manager-controller" AND labels.smc-namespace="team-a" AND labels.smc-name="billing"',
    );
    expect((await w.store.read(owner, [])).map((e) => e.storeName)).toEqual(['MINE']);
  });

  it('exactly one new version per changed value, none for an equal one', async () => {
    const w = world();
    await w.sync({ A: value('1'), B: value('b') });
    w.calls.length = 0;
    await w.sync({ A: value('2'), B: value('b') });
    expect(op(w, 'AddSecretVersion')).toHaveLength(1);
    expect(w.calls.filter((c) => c.write)).toHaveLength(1);
    expect(await w.oob.versionCount('A')).toBe(2);
    expect(await w.oob.versionCount('B')).toBe(1);
    w.calls.length = 0;
    await w.sync({ A: value('2'), B: value('b') });
    expect(w.calls.filter((c) => c.write)).toEqual([]);
  });

  it('disable disables every enabled version; enable enables only the newest', async () => {
    const w = world();
    await w.sync({ MULTI: value('1') });
    await w.oob.setValue('MULTI', value('2')); // drift: a second enabled version
    await w.sync({ MULTI: value('3') }); // back to Git: a third
    const states = async () =>
      (await sm.listSecretVersions({ parent: `projects/${w.projectId}/secrets/MULTI` }))[0]
        .map((v) => [v.name?.split('/').pop(), v.state])
        .sort();
    expect(await states()).toEqual([
      ['1', 'ENABLED'],
      ['2', 'ENABLED'],
      ['3', 'ENABLED'],
    ]);
    w.calls.length = 0;
    const off = await w.sync({ MULTI: [value('3'), false] });
    expect(off).toMatchObject([{ action: { type: 'disable' }, ok: true, wrote: true, version: '3' }]);
    expect(op(w, 'DisableSecretVersion')).toHaveLength(3);
    expect(await states()).toEqual([
      ['1', 'DISABLED'],
      ['2', 'DISABLED'],
      ['3', 'DISABLED'],
    ]);
    expect(await w.store.read(owner, [])).toMatchObject([{ storeName: 'MULTI', enabled: false }]);

    w.calls.length = 0;
    const on = await w.sync({ MULTI: value('3') });
    expect(on).toMatchObject([{ action: { type: 'enable' }, ok: true, wrote: true, version: '3' }]);
    expect(op(w, 'EnableSecretVersion')).toHaveLength(1);
    expect(op(w, 'AddSecretVersion')).toHaveLength(0);
    expect(await states()).toEqual([
      ['1', 'DISABLED'],
      ['2', 'DISABLED'],
      ['3', 'ENABLED'],
    ]);
  });

  it('label updates and deletes carry the etag read just before', async () => {
    const w = world();
    await w.oob.createUnmanaged('ADOPT', value('x'));
    const desired: NamedEntry[] = [
      { key: 'ADOPT', value: value('x'), enabled: true, kind: 'secret', origin: 'o', storeName: 'ADOPT' },
    ];
    const actual = await w.store.read(owner, ['ADOPT']);
    const actions = planActions({
      desired,
      actual,
      owner,
      deletionPolicy: 'Delete',
      triggerUpdate: true,
      adopt: true,
    });
    expect(actions).toMatchObject([{ type: 'update' }]);
    expect(await w.store.apply(owner, actions)).toMatchObject([{ ok: true, wrote: true }]);
    const patch = w.wire().find((r) => r.method === 'PATCH');
    expect(patch?.query.updateMask).toBe('labels,annotations');
    expect((patch?.body as { etag?: string }).etag).toMatch(/^"\d+"$/);
    expect(op(w, 'AddSecretVersion')).toHaveLength(0); // equal value: ownership only

    await w.sync({}, 'Delete');
    const del = w.wire().find((r) => r.method === 'DELETE');
    expect(del?.query.etag).toMatch(/^"\d+"$/);
    expect(await w.oob.exists('ADOPT')).toBe(false);
  });

  it('refuses entries it does not own at apply time, even if the plan was stale', async () => {
    const w = world();
    await w.oob.createUnmanaged('THEIRS', value('t'));
    const stale: Action[] = [
      {
        type: 'disable',
        cause: 'disabled',
        key: 'THEIRS',
        storeName: 'THEIRS',
        kind: 'secret',
        reason: 'stale',
      },
      {
        type: 'prune',
        cause: 'removed',
        key: 'THEIRS',
        storeName: 'THEIRS',
        kind: 'secret',
        deletion: 'Delete',
        reason: 'stale',
      },
      {
        type: 'create',
        cause: 'missing',
        key: 'THEIRS',
        storeName: 'THEIRS',
        kind: 'secret',
        value: value('n'),
        reason: 'stale',
      },
    ];
    const results = await w.store.apply(owner, stale);
    expect(results.map((r) => [r.ok, r.wrote])).toEqual([
      [false, false],
      [false, false],
      [false, false],
    ]);
    expect(results[0]?.message).toMatch(/not created by us/);
    expectNoCanary('refusals', results);
    expect(await w.oob.readValue('THEIRS')).toBe(value('t'));
    expect(await w.oob.isEnabled('THEIRS')).toBe(true);
  });
});

describe('GcpSecretManagerStore: faults between the client and the emulator', () => {
  it('throttling (429 with RetryInfo) is retried and counted; one version results', async () => {
    const w = world();
    proxy.inject({ method: 'POST', path: /:addVersion$/, status: 429, times: 2, retryDelay: '0.02s' });
    const results = await w.sync({ HOT: value('h') });
    expect(results).toMatchObject([{ ok: true, wrote: true }]);
    expect(w.throttled.n).toBe(2);
    expect(op(w, 'AddSecretVersion').map((c) => c.result)).toEqual(['error', 'error', 'ok']);
    expect(op(w, 'AddSecretVersion')[0]?.reason).toBe('Throttled');
    expect(await w.oob.versionCount('HOT')).toBe(1);
  });

  it('5xx on reads and writes is retried', async () => {
    const w = world();
    proxy.inject({ method: 'GET', path: /\/secrets$/, status: 503, times: 1 });
    proxy.inject({ method: 'POST', path: /\/secrets$/, status: 500, times: 1 });
    const results = await w.sync({ FLAKY: value('f') });
    expect(results).toMatchObject([{ ok: true, wrote: true }]);
    expect(op(w, 'ListSecrets').map((c) => c.result)).toEqual(['error', 'ok']);
    expect(op(w, 'CreateSecret').map((c) => c.result)).toEqual(['error', 'ok']);
    expect(await w.oob.readValue('FLAKY')).toBe(value('f'));
  });

  it('a lost response to AddSecretVersion or CreateSecret does not duplicate anything', async () => {
    const w = world();
    proxy.inject({ method: 'POST', path: /\/secrets$/, status: 503, afterServing: true });
    proxy.inject({ method: 'POST', path: /:addVersion$/, status: 503, afterServing: true });
    const results = await w.sync({ ONCE: value('o') });
    expect(results).toMatchObject([{ ok: true, wrote: true, version: '1' }]);
    expect(await w.oob.versionCount('ONCE')).toBe(1);
    expect(await w.oob.readValue('ONCE')).toBe(value('o'));
    // The retried create met its own secret (ALREADY_EXISTS) and carried on.
    expect(op(w, 'CreateSecret').map((c) => c.reason ?? c.result)).toEqual([
      'ProviderUnavailable',
      'Conflict',
    ]);
    expect(op(w, 'AddSecretVersion')).toHaveLength(1);

    // Same for an update.
    proxy.inject({ method: 'POST', path: /:addVersion$/, status: 502, afterServing: true });
    await w.sync({ ONCE: value('p') });
    expect(await w.oob.versionCount('ONCE')).toBe(2);
    expect(await w.oob.readValue('ONCE')).toBe(value('p'));
  });

  it('an auth failure fails fast with ProviderAuthFailed, once, naming the operation', async () => {
    const w = world();
    proxy.inject({ method: 'GET', path: /\/secrets$/, status: 403, times: 5 });
    let error: unknown;
    try {
      await w.store.read(owner, ['X']);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ reason: 'ProviderAuthFailed' });
    expect((error as Error).message).toMatch(
      /^ListSecrets on projects\/smc-test-\w+ failed: PERMISSION_DENIED \(HTTP 403\)/,
    );
    expect(op(w, 'ListSecrets')).toHaveLength(1);
    proxy.inject({ method: 'POST', path: /\/secrets$/, status: 401 });
    const results = await w.store.apply(owner, [
      {
        type: 'create',
        cause: 'missing',
        key: 'K',
        storeName: 'K',
        kind: 'secret',
        value: value('k'),
        reason: 'r',
      },
    ]);
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toMatch(/CreateSecret .* UNAUTHENTICATED \(HTTP 401\)/);
    expect(op(w, 'CreateSecret')).toHaveLength(1);
    expectNoCanary('auth failure', { error, results });
    proxy.clearFaults();
  });

  it('writes are rate-limited per project (token bucket)', async () => {
    const w = world({ maxWritesPerSecond: 4 });
    const started = performance.now();
    // 3 new secrets = 6 writes: a burst of 4, then 2 more at 4/s.
    await w.sync({ R1: value('1'), R2: value('2'), R3: value('3') });
    expect(w.calls.filter((c) => c.write)).toHaveLength(6);
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });
});
