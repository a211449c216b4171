/**
 * Fault tests for the AWS stores: a loopback proxy between the SDK and moto injects throttling, 5xx,
 * lost responses and auth failures. Retried calls must succeed without duplicate versions (checked
 * out of band, directly against moto); auth failures must fail fast with their reason.
 */
import { randomBytes } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.js';
import type { Action } from '../../src/plan/actions.js';
import { AwsSecretsManagerStore } from '../../src/stores/aws/secrets-manager.js';
import { AwsSsmParameterStore } from '../../src/stores/aws/ssm.js';
import { ProviderError } from '../../src/stores/provider-error.js';
import type { RetryPolicy } from '../../src/stores/retry.js';
import type { Owner, ProviderCall } from '../../src/stores/store.js';
import { ensurePeer, startMoto, type MotoPeer } from '../peers/cloud/index.js';
import { secretsManagerOutOfBand, ssmOutOfBand } from './contract/aws-targets.js';
import { canaryValue, expectNoCanary } from './contract/suite.js';
import { authFailure, FaultProxy, lostResponse, throttle, unavailable } from './fault-proxy.js';
import { syncTo } from './local-helpers.js';

const FAST: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 20 };

let moto: MotoPeer;
let proxy: FaultProxy;
let smDirect: SecretsManagerClient;
let ssmDirect: SSMClient;
const cleanup: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  await ensurePeer('moto');
  moto = await startMoto();
  proxy = await FaultProxy.start(moto.endpointUrl);
  smDirect = new SecretsManagerClient(moto.clientConfig);
  ssmDirect = new SSMClient(moto.clientConfig);
});
afterEach(() => proxy.reset());
afterAll(async () => {
  for (const c of cleanup) await c.close();
  smDirect?.destroy();
  ssmDirect?.destroy();
  await proxy?.stop();
  await moto?.stop();
});

function owner(): Owner {
  return { namespace: `ns-${randomBytes(3).toString('hex')}`, name: 'faulty' };
}
function entries(values: Record<string, string>): Entry[] {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value,
    kind: 'secret',
    enabled: true,
    origin: 'svc/application.secrets.env',
    service: `f${randomBytes(3).toString('hex')}`,
  }));
}

function observed() {
  const calls: ProviderCall[] = [];
  let throttled = 0;
  return {
    calls,
    throttled: () => throttled,
    observer: { onCall: (c: ProviderCall) => calls.push(c), onThrottled: () => throttled++ },
  };
}

function smStore(obs = observed(), retryPolicy: RetryPolicy = FAST) {
  const store = new AwsSecretsManagerStore({
    region: moto.region,
    environment: 'test',
    endpoint: proxy.url,
    credentials: moto.credentials,
    observer: obs.observer,
    retryPolicy,
    maxWritesPerSecond: 1000,
    recoveryWindowDays: 7,
  });
  cleanup.push(store);
  return { store, obs };
}

function ssmStore(obs = observed(), retryPolicy: RetryPolicy = FAST) {
  const store = new AwsSsmParameterStore({
    region: moto.region,
    environment: 'test',
    parameterPath: `/faults/${randomBytes(3).toString('hex')}`,
    endpoint: proxy.url,
    credentials: moto.credentials,
    observer: obs.observer,
    retryPolicy,
    maxWritesPerSecond: 1000,
  });
  cleanup.push(store);
  return { store, obs };
}

describe('Secrets Manager through the fault proxy', () => {
  it('throttling (429 + Retry-After) is retried, honours Retry-After, and makes exactly one new version', async () => {
    const { store, obs } = smStore(observed(), { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 500 });
    const me = owner();
    const src = entries({ TOKEN: canaryValue('t1') });
    const name = (await syncTo(store, me, src)).results[0]!.action.storeName;
    const oob = secretsManagerOutOfBand(smDirect);
    expect(await oob.versionCount(name)).toBe(1);

    proxy.reset();
    proxy.inject(throttle('PutSecretValue', 2, 1));
    const started = performance.now();
    const { results } = await syncTo(store, me, [{ ...src[0]!, value: canaryValue('t2') }]);
    const elapsed = performance.now() - started;
    expect(results.map((r) => [r.action.type, r.ok])).toEqual([['update', true]]);
    expect(proxy.count('PutSecretValue')).toBe(3);
    expect(proxy.count('PutSecretValue', 'forwarded')).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(1900); // two Retry-After: 1 waits
    expect(obs.throttled()).toBe(2);
    const puts = obs.calls.filter((c) => c.operation === 'PutSecretValue');
    expect(puts.map((c) => c.reason ?? c.result)).toEqual(['Throttled', 'Throttled', 'ok']);
    expect(await oob.versionCount(name)).toBe(2);
    expect(await oob.readValue(name)).toBe(canaryValue('t2'));
    expectNoCanary('observer calls', obs.calls);
  });

  it('5xx on CreateSecret and on reads is retried; one version', async () => {
    const { store, obs } = smStore();
    proxy.inject(unavailable('ListSecrets', 1), unavailable('CreateSecret', 2));
    const { results } = await syncTo(store, owner(), entries({ FIVE: canaryValue('5xx') }));
    expect(results.map((r) => [r.action.type, r.ok])).toEqual([['create', true]]);
    expect(proxy.count('CreateSecret')).toBe(3);
    expect(proxy.count('ListSecrets')).toBe(2);
    expect(await secretsManagerOutOfBand(smDirect).versionCount(results[0]!.action.storeName)).toBe(1);
    expect(obs.calls.filter((c) => c.reason === 'ProviderUnavailable')).toHaveLength(3);
  });

  it('a lost CreateSecret response is retried with the same token: the secret exists once, one version', async () => {
    const { store } = smStore();
    proxy.inject(lostResponse('CreateSecret'));
    const { results } = await syncTo(store, owner(), entries({ LOST: canaryValue('lost-create') }));
    expect(results.map((r) => [r.action.type, r.ok, r.wrote])).toEqual([['create', true, true]]);
    // The peer received (and acted on) both requests; idempotency made the second a no-op.
    expect(proxy.count('CreateSecret', 'drop-after-forward')).toBe(1);
    expect(proxy.count('CreateSecret', 'forwarded')).toBe(1);
    const name = results[0]!.action.storeName;
    expect(await secretsManagerOutOfBand(smDirect).versionCount(name)).toBe(1);
    expect(await secretsManagerOutOfBand(smDirect).readValue(name)).toBe(canaryValue('lost-create'));
  });

  it('a lost PutSecretValue response is retried with the same token: exactly one new version', async () => {
    const { store } = smStore();
    const me = owner();
    const src = entries({ ROT: canaryValue('r1') });
    const name = (await syncTo(store, me, src)).results[0]!.action.storeName;
    proxy.reset();
    proxy.inject(lostResponse('PutSecretValue'));
    const { results } = await syncTo(store, me, [{ ...src[0]!, value: canaryValue('r2') }]);
    expect(results.map((r) => [r.action.type, r.ok])).toEqual([['update', true]]);
    expect(proxy.count('PutSecretValue', 'drop-after-forward')).toBe(1);
    expect(proxy.count('PutSecretValue', 'forwarded')).toBe(1);
    expect(await secretsManagerOutOfBand(smDirect).versionCount(name)).toBe(2);
    expect(await secretsManagerOutOfBand(smDirect).readValue(name)).toBe(canaryValue('r2'));
  });

  it('values are read 20 a call with BatchGetSecretValue; credentials refused it fall back to GetSecretValue per secret', async () => {
    const { store, obs } = smStore();
    const me = owner();
    // 21 secrets: two batches (20 + 1).
    const many = entries(
      Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`K${i}`, canaryValue(`b${i}`)])),
    );
    await syncTo(store, me, many);
    proxy.reset();
    const again = await syncTo(store, me, many);
    expect(new Set(again.results.map((r) => r.action.type))).toEqual(new Set(['noop']));
    expect(proxy.count('BatchGetSecretValue')).toBe(2);
    expect(proxy.count('GetSecretValue')).toBe(0);

    // An IAM policy without secretsmanager:BatchGetSecretValue: one refused batch, then one by one.
    const refused = smStore(observed());
    proxy.reset();
    proxy.inject({
      match: 'BatchGetSecretValue',
      times: 1,
      fault: { kind: 'respond', status: 400, errorType: 'AccessDeniedException' },
    });
    const fallback = await syncTo(refused.store, me, many);
    expect(new Set(fallback.results.map((r) => r.action.type))).toEqual(new Set(['noop']));
    expect(proxy.count('BatchGetSecretValue')).toBe(1);
    expect(proxy.count('GetSecretValue')).toBe(21);
    expectNoCanary('observer calls', [...obs.calls, ...refused.obs.calls]);
  });

  it('an auth failure fails fast: one call, reason ProviderAuthFailed, no SDK text, no credentials', async () => {
    const { store, obs } = smStore();
    proxy.inject(authFailure(undefined, 100));
    const error = await store.read(owner(), ['some-name']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).reason).toBe('ProviderAuthFailed');
    expect((error as ProviderError).message).toContain('UnrecognizedClientException');
    expect((error as ProviderError).message).toContain('HTTP 403');
    expect((error as ProviderError).message).not.toContain('injected by the fault proxy');
    expect((error as ProviderError).message).not.toContain(moto.credentials.secretAccessKey);
    expect(proxy.requests).toHaveLength(1);
    expect(obs.calls).toEqual([expect.objectContaining({ result: 'error', reason: 'ProviderAuthFailed' })]);

    // The same through apply: the write fails alone, after one call, with the reason in its message.
    proxy.reset();
    proxy.inject(authFailure(undefined, 100));
    obs.calls.length = 0;
    const action: Action = {
      type: 'create',
      cause: 'missing',
      key: 'K',
      storeName: `auth-${randomBytes(3).toString('hex')}`,
      kind: 'secret',
      value: canaryValue('auth'),
      enabled: true,
      reason: 'missing from store',
    };
    const [result] = await store.apply(owner(), [action]);
    expect(result).toMatchObject({ ok: false, wrote: false });
    expect(result!.message).toMatch(/CreateSecret .*authentication or authorisation failed/);
    expect(proxy.requests).toHaveLength(1);
    expect(obs.calls).toHaveLength(1);
    expectNoCanary('auth failure result', result);
  });

  it('gives up after maxAttempts on a persistent 5xx, with reason ProviderUnavailable', async () => {
    const { store, obs } = smStore();
    proxy.inject(unavailable('ListSecrets', 100));
    const error = await store.read(owner(), []).catch((e: unknown) => e);
    expect((error as ProviderError).reason).toBe('ProviderUnavailable');
    expect(proxy.count('ListSecrets')).toBe(FAST.maxAttempts);
    expect(obs.calls).toHaveLength(FAST.maxAttempts);
  });

  it('a dropped connection before forwarding is retried', async () => {
    const { store } = smStore();
    proxy.inject({ match: 'CreateSecret', fault: { kind: 'drop' }, times: 2 });
    const { results } = await syncTo(store, owner(), entries({ DROP: canaryValue('drop') }));
    expect(results[0]).toMatchObject({ ok: true });
    expect(proxy.count('CreateSecret')).toBe(3);
    expect(await secretsManagerOutOfBand(smDirect).versionCount(results[0]!.action.storeName)).toBe(1);
  });
});

describe('SSM Parameter Store through the fault proxy', () => {
  it('a lost PutParameter (overwrite) response: the retry sees the value landed and stops; one new version', async () => {
    const { store, obs } = ssmStore();
    const me = owner();
    const src = entries({ P: canaryValue('p1') });
    const name = (await syncTo(store, me, src)).results[0]!.action.storeName;
    const oob = ssmOutOfBand(ssmDirect);
    expect(await oob.versionCount(name)).toBe(1);

    proxy.reset();
    proxy.inject(lostResponse('PutParameter'));
    const { results } = await syncTo(store, me, [{ ...src[0]!, value: canaryValue('p2') }]);
    expect(results.map((r) => [r.action.type, r.ok, r.wrote])).toEqual([['update', true, true]]);
    expect(proxy.count('PutParameter')).toBe(1);
    expect(await oob.versionCount(name)).toBe(2);
    expect(await oob.readValue(name)).toBe(canaryValue('p2'));
    expect(obs.calls.some((c) => c.operation === 'PutParameter' && c.reason === 'ProviderUnavailable')).toBe(
      true,
    );
  });

  it('a lost PutParameter (create) response: the retry finds our parameter; one version', async () => {
    const { store } = ssmStore();
    proxy.inject(lostResponse('PutParameter'));
    const { results } = await syncTo(store, owner(), entries({ NEWP: canaryValue('np') }));
    expect(results.map((r) => [r.action.type, r.ok])).toEqual([['create', true]]);
    expect(proxy.count('PutParameter')).toBe(2); // the second answered ParameterAlreadyExists
    const name = results[0]!.action.storeName;
    expect(await ssmOutOfBand(ssmDirect).versionCount(name)).toBe(1);
    expect(await ssmOutOfBand(ssmDirect).isEnabled(name)).toBe(true);
  });

  it('throttling and 5xx on PutParameter are retried; one new version', async () => {
    const { store, obs } = ssmStore();
    const me = owner();
    const src = entries({ T: canaryValue('s1') });
    const name = (await syncTo(store, me, src)).results[0]!.action.storeName;
    proxy.reset();
    proxy.inject(throttle('PutParameter', 1), unavailable('PutParameter', 1));
    const { results } = await syncTo(store, me, [{ ...src[0]!, value: canaryValue('s2') }]);
    expect(results[0]).toMatchObject({ ok: true });
    expect(proxy.count('PutParameter')).toBe(3);
    expect(obs.throttled()).toBe(1);
    expect(await ssmOutOfBand(ssmDirect).versionCount(name)).toBe(2);
  });

  it('a lost DeleteParameter response: the retry finds it gone and reports success', async () => {
    const { store } = ssmStore();
    const me = owner();
    const name = (await syncTo(store, me, entries({ D: canaryValue('d') }))).results[0]!.action.storeName;
    proxy.reset();
    proxy.inject(lostResponse('DeleteParameter'));
    const { results } = await syncTo(store, me, [], { deletionPolicy: 'Delete' });
    expect(results).toEqual([expect.objectContaining({ ok: true })]);
    expect(await ssmOutOfBand(ssmDirect).exists(name)).toBe(false);
  });

  it('an auth failure fails fast with ProviderAuthFailed', async () => {
    const { store, obs } = ssmStore();
    proxy.inject(authFailure(undefined, 100));
    const error = await store.read(owner(), ['/faults/x/y']).catch((e: unknown) => e);
    expect((error as ProviderError).reason).toBe('ProviderAuthFailed');
    // read() issues its two listing queries in parallel; each fails once, nothing is retried.
    expect(proxy.requests.length).toBe(obs.calls.length);
    expect(proxy.requests.length).toBeLessThanOrEqual(2);
  });
});

describe('never leaks what the service echoes', () => {
  it('an error message echoing the value (as AWS ValidationException does) never reaches our messages', async () => {
    const value = canaryValue('echoed');
    for (const { store, obs, op } of [
      { ...smStore(), op: 'CreateSecret' },
      { ...ssmStore(), op: 'PutParameter' },
    ]) {
      proxy.reset();
      proxy.inject({
        match: op,
        times: 10,
        fault: {
          kind: 'respond',
          status: 400,
          errorType: 'ValidationException',
          message: `Value '${value}' at 'secretString' failed to satisfy constraint`,
        },
      });
      const { results } = await syncTo(store, owner(), entries({ ECHO: value }));
      expect(results[0]).toMatchObject({ ok: false, wrote: false });
      expect(results[0]!.message).toContain('ValidationException');
      expect(proxy.count(op)).toBe(1); // validation errors are not retried
      expectNoCanary('result', results);
      expectNoCanary('observer calls', obs.calls);
    }
  });
});
