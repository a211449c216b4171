/** AWS SDK errors → ProviderError: typed reasons, Retry-After, and messages free of SDK text and values. */
import {
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { ParameterNotFound, TooManyUpdates } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { awsErrorInfo, mapAwsError } from '../../src/stores/aws/errors.js';
import { ProviderError } from '../../src/stores/provider-error.js';

const SECRET_TEXT = 'hunter2-the-value-echoed-by-the-service';

function sdkError(name: string, status: number, headers: Record<string, string> = {}) {
  return Object.assign(new Error(`${name}: ${SECRET_TEXT}`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    $response: { statusCode: status, headers },
  });
}

const ctx = { service: 'secretsmanager', operation: 'PutSecretValue', name: 'app/db-password' };

describe('mapAwsError', () => {
  it.each([
    ['ThrottlingException', 400, 'Throttled'],
    ['TooManyRequestsException', 400, 'Throttled'],
    ['SomethingNew', 429, 'Throttled'],
    ['InternalServiceError', 500, 'ProviderUnavailable'],
    ['ServiceUnavailable', 503, 'ProviderUnavailable'],
    ['SomethingNew', 502, 'ProviderUnavailable'],
    ['UnrecognizedClientException', 400, 'ProviderAuthFailed'],
    ['InvalidSignatureException', 400, 'ProviderAuthFailed'],
    ['AccessDeniedException', 400, 'ProviderAuthFailed'],
    ['ExpiredTokenException', 400, 'ProviderAuthFailed'],
    ['InvalidClientTokenId', 403, 'ProviderAuthFailed'],
    ['SomethingNew', 403, 'ProviderAuthFailed'],
    ['ResourceNotFoundException', 400, 'NotFound'],
    ['ParameterNotFound', 400, 'NotFound'],
    ['ResourceExistsException', 400, 'Conflict'],
    ['ParameterAlreadyExists', 400, 'Conflict'],
    ['ValidationException', 400, 'InvalidRequest'],
    ['InvalidRequestException', 400, 'InvalidRequest'],
    ['SomethingNew', 400, 'InvalidRequest'],
  ])('%s (HTTP %i) → %s', (name, status, reason) => {
    const e = mapAwsError(sdkError(name, status), ctx);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.reason).toBe(reason);
    expect(e.retryable).toBe(reason === 'Throttled' || reason === 'ProviderUnavailable');
  });

  it('works on the SDK exception classes themselves', () => {
    const meta = { $metadata: { httpStatusCode: 400 }, message: SECRET_TEXT };
    expect(mapAwsError(new ResourceNotFoundException(meta), ctx).reason).toBe('NotFound');
    expect(mapAwsError(new ResourceExistsException(meta), ctx).reason).toBe('Conflict');
    expect(mapAwsError(new InvalidRequestException(meta), ctx).reason).toBe('InvalidRequest');
    expect(mapAwsError(new ParameterNotFound(meta), ctx).reason).toBe('NotFound');
    expect(mapAwsError(new TooManyUpdates(meta), ctx).reason).toBe('Throttled');
  });

  it('names service, operation, entry, error name and status — never the SDK message text', () => {
    const e = mapAwsError(sdkError('AccessDeniedException', 400), ctx);
    expect(e.message).toBe(
      'aws secretsmanager PutSecretValue "app/db-password" failed: authentication or authorisation failed (check the credentials, role and IAM policy) (AccessDeniedException, HTTP 400)',
    );
    expect(e.message).not.toContain('hunter2');
    expect(e.cause).toBeUndefined();
  });

  it('reads Retry-After (seconds or HTTP date) from the response', () => {
    expect(mapAwsError(sdkError('ThrottlingException', 429, { 'Retry-After': '3' }), ctx).retryAfterMs).toBe(
      3000,
    );
    // An hour ahead (second precision): whatever time passes between these lines, well over 50 min.
    const date = new Date(Date.now() + 3_600_000).toUTCString();
    const ms = mapAwsError(sdkError('ThrottlingException', 429, { 'retry-after': date }), ctx).retryAfterMs;
    expect(ms).toBeGreaterThan(3_000_000);
    expect(ms).toBeLessThanOrEqual(3_600_000);
    expect(mapAwsError(sdkError('ThrottlingException', 429), ctx).retryAfterMs).toBeUndefined();
  });

  it('transport failures (no HTTP answer) are ProviderUnavailable, so they are retried', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(mapAwsError(reset, ctx).reason).toBe('ProviderUnavailable');
    expect(mapAwsError(Object.assign(new Error('x'), { name: 'TimeoutError' }), ctx).reason).toBe(
      'ProviderUnavailable',
    );
    expect(mapAwsError(new Error('socket closed unexpectedly'), ctx).reason).toBe('ProviderUnavailable');
  });

  it('an empty credential chain is an auth failure', () => {
    const e = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(mapAwsError(e, ctx).reason).toBe('ProviderAuthFailed');
  });

  it('unknown errors are StoreError; odd names are not copied into the message', () => {
    expect(mapAwsError(new Error(SECRET_TEXT), ctx).reason).toBe('StoreError');
    const odd = mapAwsError(Object.assign(new Error('x'), { name: `Weird ${SECRET_TEXT}` }), ctx);
    expect(odd.message).not.toContain('hunter2');
    expect(mapAwsError('a string', ctx).reason).toBe('StoreError');
    expect(mapAwsError(undefined, ctx).reason).toBe('StoreError');
  });

  it('passes a ProviderError through unchanged', () => {
    const pe = new ProviderError('Conflict', 'ours');
    expect(mapAwsError(pe, ctx)).toBe(pe);
  });

  it('awsErrorInfo gives the detail without a context', () => {
    expect(awsErrorInfo(sdkError('ThrottlingException', 400))).toEqual({
      reason: 'Throttled',
      detail: 'ThrottlingException, HTTP 400',
    });
  });
});
