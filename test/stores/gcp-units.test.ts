/** GCP store pieces that need no peer: error mapping, client options and endpoints, version ids. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import {
  ENDPOINT_ENV,
  gcpClientOptions,
  parseEndpoint,
  parseServiceAccountKey,
} from '../../src/stores/gcp/client-options.js';
import { gcpProviderError } from '../../src/stores/gcp/errors.js';
import { ownerFilter, ownerLabels } from '../../src/stores/gcp/labels.js';
import { gcpParameterNaming } from '../../src/stores/gcp/naming.js';
import { newParameterVersionId } from '../../src/stores/gcp/parameter-versions.js';
import { GcpSecretManagerStore } from '../../src/stores/gcp/secret-manager.js';

const CANARY = `cnry${randomBytes(8).toString('hex')}`;

/** A google-gax 6 GoogleError as its REST or gRPC transport builds it (message may echo the request). */
function googleError(code: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`request echo: ${CANARY}`), { code, ...extra });
}

describe('gcpProviderError', () => {
  it.each([
    [3, 'InvalidRequest', false],
    [5, 'NotFound', false],
    [6, 'Conflict', false],
    [7, 'ProviderAuthFailed', false],
    [16, 'ProviderAuthFailed', false],
    [8, 'Throttled', true],
    [9, 'Conflict', false],
    [10, 'Conflict', false],
    [13, 'ProviderUnavailable', true],
    [14, 'ProviderUnavailable', true],
    [4, 'ProviderUnavailable', true],
  ])('gRPC code %i → %s (retryable %s)', (code, reason, retryable) => {
    const e = gcpProviderError('AddSecretVersion', 'projects/p/secrets/s', googleError(code));
    expect(e.reason).toBe(reason);
    expect(e.retryable).toBe(retryable);
    expect(e.message).toMatch(/^AddSecretVersion on projects\/p\/secrets\/s failed: [A-Z_]+/);
    expect(e.message).not.toContain(CANARY);
    expect(String(e.cause ?? '')).not.toContain(CANARY);
  });

  it('names the status and HTTP code, and points auth failures at the credentials', () => {
    const e = gcpProviderError('GetSecret', 'projects/p/secrets/s', googleError(7, { httpStatusCode: 403 }));
    expect(e.message).toContain('PERMISSION_DENIED (HTTP 403)');
    expect(e.message).toMatch(/credentials/);
    expect(e.status).toBe('PERMISSION_DENIED');
  });

  it('honours google.rpc.RetryInfo (decoded or JSON duration)', () => {
    const decoded = googleError(8, { statusDetails: [{ retryDelay: { seconds: '2', nanos: 500_000_000 } }] });
    expect(gcpProviderError('op', 'r', decoded).retryAfterMs).toBe(2500);
    const json = googleError(14, { statusDetails: [{ retryDelay: '0.25s' }] });
    expect(gcpProviderError('op', 'r', json).retryAfterMs).toBe(250);
  });

  it("reads google-gax 5's plain errors (HTTP code, JSON body as message) without keeping the body", () => {
    const body = JSON.stringify({
      error: {
        code: 409,
        status: 'ALREADY_EXISTS',
        message: `exists: ${CANARY}`,
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }],
      },
    });
    const e = gcpProviderError(
      'CreateParameter',
      'projects/p/locations/global/parameters/x',
      Object.assign(new Error(body), { code: 409 }),
    );
    expect(e.reason).toBe('Conflict');
    expect(e.status).toBe('ALREADY_EXISTS');
    expect(e.message).toBe(
      'CreateParameter on projects/p/locations/global/parameters/x failed: ALREADY_EXISTS (HTTP 409)',
    );
    const throttled = gcpProviderError(
      'op',
      'r',
      Object.assign(new Error(body.replace('ALREADY_EXISTS', 'RESOURCE_EXHAUSTED')), { code: 429 }),
    );
    expect(throttled.reason).toBe('Throttled');
    expect(throttled.retryAfterMs).toBe(1000);
    const notJson = gcpProviderError(
      'op',
      'r',
      Object.assign(new Error(`<html>${CANARY}</html>`), { code: 503 }),
    );
    expect(notJson.reason).toBe('ProviderUnavailable');
    expect(notJson.message).not.toContain(CANARY);
  });

  it('a credentials failure before any request (no ADC, refused refresh) is ProviderAuthFailed', () => {
    const noAdc = new Error(
      'Could not load the default credentials. Browse to https://cloud.google.com/docs',
    );
    expect(gcpProviderError('GetSecret', 'r', noAdc)).toMatchObject({
      reason: 'ProviderAuthFailed',
      retryable: false,
    });
    const refused = Object.assign(new Error(`invalid_grant: ${CANARY}`), { response: { status: 400 } });
    const e = gcpProviderError('GetSecret', 'r', refused);
    expect(e.reason).toBe('ProviderAuthFailed');
    expect(e.message).toMatch(/^GetSecret on r failed: no usable GCP credentials/);
    expect(e.message).not.toContain(CANARY);
  });

  it('network failures are retryable; anything else is a value-free StoreError', () => {
    const net = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(gcpProviderError('op', 'r', net)).toMatchObject({
      reason: 'ProviderUnavailable',
      retryable: true,
    });
    const odd = gcpProviderError('op', 'r', new RangeError(CANARY));
    expect(odd.reason).toBe('StoreError');
    expect(odd.message).toBe('op on r failed: RangeError');
  });
});

describe('client options and endpoints', () => {
  it('parses the documented endpoint forms', () => {
    expect(parseEndpoint('http://127.0.0.1:8085')).toEqual({
      host: '127.0.0.1',
      port: 8085,
      transport: 'rest',
      protocol: 'http',
    });
    expect(parseEndpoint('https://sm.example.internal')).toEqual({
      host: 'sm.example.internal',
      port: 443,
      transport: 'rest',
      protocol: 'https',
    });
    expect(parseEndpoint('private.googleapis.com:8443')).toEqual({
      host: 'private.googleapis.com',
      port: 8443,
      transport: 'grpc',
      protocol: 'https',
    });
    expect(parseEndpoint('http://[::1]:9000').host).toBe('::1');
    for (const bad of ['ftp://x:1', 'http://u:p@x:1', 'http://x:1/path', 'x y']) {
      expect(() => parseEndpoint(bad, 'SMC_GCP_SECRET_MANAGER_ENDPOINT')).toThrow(
        /SMC_GCP_SECRET_MANAGER_ENDPOINT/,
      );
    }
  });

  it('production default: ADC over gRPC, global or regional endpoint', () => {
    expect(gcpClientOptions('secretmanager', { env: {} })).toEqual({});
    expect(gcpClientOptions('secretmanager', { location: 'europe-west4', env: {} })).toEqual({
      apiEndpoint: 'secretmanager.europe-west4.rep.googleapis.com',
    });
    expect(gcpClientOptions('parametermanager', { location: 'global', env: {} })).toEqual({});
  });

  it('an http:// override (from the environment) means REST, no credentials, never a token in the clear', () => {
    const key = JSON.stringify({ type: 'service_account', client_email: 'a@b', private_key: CANARY });
    const opts = gcpClientOptions('secretmanager', {
      credentials: key,
      env: { [ENDPOINT_ENV.secretmanager]: 'http://127.0.0.1:9999' },
    });
    expect(opts).toMatchObject({ apiEndpoint: '127.0.0.1', port: 9999, fallback: true, protocol: 'http' });
    expect(opts.authClient).toBeDefined();
    expect(opts.credentials).toBeUndefined();
  });

  it('a service account key is passed to the client, with its project', () => {
    const key = {
      type: 'service_account',
      project_id: 'proj-123456',
      client_email: 'sa@x',
      private_key: CANARY,
    };
    const opts = gcpClientOptions('parametermanager', { credentials: JSON.stringify(key), env: {} });
    expect(opts.credentials).toEqual(key);
    expect(opts.projectId).toBe('proj-123456');
  });

  it('bad keys fail with messages that never quote the key', () => {
    for (const bad of [
      `{"private_key": "${CANARY}"`,
      `{"type":"authorized_user","private_key":"${CANARY}"}`,
      `{"private_key":"${CANARY}"}`,
      '[]',
    ]) {
      let error: unknown;
      try {
        parseServiceAccountKey(bad);
      } catch (e) {
        error = e;
      }
      expect(isSmcError(error, 'InvalidSpec')).toBe(true);
      expect((error as Error).message).not.toContain(CANARY);
    }
  });

  it('the store refuses an invalid project, location or environment at construction', () => {
    const env = { environment: 'dev' };
    expect(() => new GcpSecretManagerStore({ projectId: 'Bad_Project', ...env })).toThrow(/project id/);
    expect(() => new GcpSecretManagerStore({ projectId: 'good-project', location: 'EU!', ...env })).toThrow(
      /location/,
    );
    expect(() => new GcpSecretManagerStore({ projectId: 'good-project', environment: 'Prod.EU' })).toThrow(
      /environment/,
    );
  });
});

describe('labels', () => {
  it('ownership labels and the list filter', () => {
    expect(ownerLabels({ namespace: 'team-a', name: 'app' }, 'prod')).toEqual({
      'managed-by': 'secret-manager-controller',
      'smc-namespace': 'team-a',
      'smc-name': 'app',
      environment: 'prod',
    });
    expect(ownerFilter({ namespace: 'team-a', name: 'app' })).toBe(
      'labels.managed-by="secret-manager-controller" AND labels.smc-namespace="team-a" AND labels.smc-name="app"',
    );
    expect(() => ownerLabels({ namespace: 'ns', name: 'My.App' }, 'prod')).toThrow(/label value/);
  });
});

describe('Parameter Manager version ids', () => {
  it('are [a-z0-9-], at most 63 characters, and unique even within one millisecond', () => {
    const at = new Date('2025-01-02T03:04:05.678Z');
    const ids = Array.from({ length: 500 }, () => newParameterVersionId(at));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^v20250102t030405678z-[0-9a-z]{4}-[0-9a-f]{6}$/);
      expect(id.length).toBeLessThanOrEqual(63);
    }
  });

  it('parameter ids: the naming rule keeps them to 63 characters of [A-Za-z0-9_-]', () => {
    expect(gcpParameterNaming.sanitize('db.url/x y')).toBe('db_url_x_y');
    expect(gcpParameterNaming.maxLength).toBe(63);
  });
});
