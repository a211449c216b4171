import {
  parseRetryAfter,
  ProviderError,
  type ProviderErrorReason,
  reasonForHttpStatus,
  SOCKET_ERROR_CODES,
} from '../provider-error.js';

/** Where an AWS call failed: service, operation and (when there is one) the entry's name. Never a value. */
export interface AwsCallContext {
  /** `secretsmanager` or `ssm`. */
  service: string;
  operation: string;
  name?: string;
}

const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'TooManyUpdates', // SSM: concurrent updates of one parameter; retrying later succeeds
  'ProvisionedThroughputExceededException',
]);

const AUTH_FAILED = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'AccessDeniedException',
  'AccessDenied',
  'ExpiredTokenException',
  'ExpiredToken',
  'RequestExpired',
  'NotAuthorized',
  'AuthFailure',
  'OptInRequired',
  // The SDK's credential chain found nothing usable (no env keys, no web identity, no IMDS).
  'CredentialsProviderError',
  // KMS refused to encrypt/decrypt for us: a permission on the key, not worth retrying.
  'DecryptionFailure',
  'EncryptionFailure',
  'KMSAccessDeniedException',
]);

const NOT_FOUND = new Set(['ResourceNotFoundException', 'ParameterNotFound', 'ParameterVersionNotFound']);

const CONFLICT = new Set([
  'ResourceExistsException',
  'ParameterAlreadyExists',
  'PreconditionNotMetException',
  'ConcurrentModificationException',
]);

const INVALID = new Set([
  'ValidationException',
  'InvalidParameterException',
  'InvalidRequestException',
  'InvalidNextTokenException',
  'MalformedPolicyDocumentException',
  'LimitExceededException',
  'InvalidKeyId',
  'InvalidAllowedPatternException',
  'HierarchyLevelLimitExceededException',
  'HierarchyTypeMismatchException',
  'ParameterLimitExceeded',
  'ParameterMaxVersionLimitExceeded',
  'ParameterPatternMismatchException',
  'UnsupportedParameterType',
  'InvalidResourceId',
  'InvalidResourceType',
  'TooManyTagsError',
  'IncompatiblePolicyException',
  'PoliciesLimitExceededException',
  'InvalidPolicyTypeException',
  'InvalidPolicyAttributeException',
  'SerializationException',
]);

const UNAVAILABLE = new Set([
  'InternalServiceError',
  'InternalServiceErrorException',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Node/undici network error codes: the request may not have reached AWS, or its answer was lost. */
const NETWORK_CODES = new Set([
  ...SOCKET_ERROR_CODES,
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, string | undefined> };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** A short identifier made only of name-like characters, so nothing free-form reaches a message. */
function token(x: unknown): string | undefined {
  return typeof x === 'string' && /^[A-Za-z0-9_.:-]{1,80}$/.test(x) ? x : undefined;
}

function reasonFor(name: string | undefined, code: string | undefined, status: number | undefined) {
  for (const id of [name, code]) {
    if (id === undefined) continue;
    if (THROTTLED.has(id)) return 'Throttled';
    if (AUTH_FAILED.has(id)) return 'ProviderAuthFailed';
    if (NOT_FOUND.has(id)) return 'NotFound';
    if (CONFLICT.has(id)) return 'Conflict';
    if (INVALID.has(id)) return 'InvalidRequest';
    if (UNAVAILABLE.has(id)) return 'ProviderUnavailable';
    if (NETWORK_CODES.has(id)) return 'ProviderUnavailable';
  }
  if (status !== undefined) return reasonForHttpStatus(status);
  return undefined;
}

/** What can be said about an SDK error without its message text: reason, `Name/code, HTTP n`, Retry-After. */
export interface AwsErrorInfo {
  reason: ProviderErrorReason;
  detail: string;
  retryAfterMs?: number;
}

export function awsErrorInfo(error: unknown): AwsErrorInfo {
  const e = shape(error);
  const name = token(e.name);
  const code = token(e.code);
  const rawStatus = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const status = typeof rawStatus === 'number' && rawStatus >= 100 ? rawStatus : undefined;
  let reason: ProviderErrorReason | undefined = reasonFor(name, code, status);
  if (reason === undefined) {
    // No HTTP answer and nothing recognised: a transport failure (lost connection, aborted socket).
    const transport =
      e.$fault === undefined && /socket|network|connection|hang up|abort/i.test(errorText(error));
    reason = transport ? 'ProviderUnavailable' : 'StoreError';
  }
  const headers = e.$response?.headers;
  const retryAfterHeader = headers
    ? Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1]
    : undefined;
  const retryAfterMs = parseRetryAfter(retryAfterHeader);
  const what = [name, code && code !== name ? code : undefined].filter(Boolean).join('/') || 'error';
  const detail = `${what}${status !== undefined ? `, HTTP ${status}` : ''}`;
  return { reason, detail, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/**
 * Map whatever an AWS SDK v3 call threw to a ProviderError. The message names the service,
 * operation, entry name, the SDK's error name and the HTTP status — never the SDK's message text
 * (which can echo request content) and never a value.
 */
export function mapAwsError(error: unknown, ctx: AwsCallContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const { reason, detail, retryAfterMs } = awsErrorInfo(error);
  return new ProviderError(reason, `${awsWhere(ctx)} failed: ${describeReason(reason)} (${detail})`, {
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** `aws SERVICE OPERATION "name"`. */
export function awsWhere(ctx: AwsCallContext): string {
  return `aws ${ctx.service} ${ctx.operation}${ctx.name !== undefined ? ` "${ctx.name}"` : ''}`;
}

/** Only used to recognise a transport failure; never copied into a message. */
function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name} ${error.message}` : '';
}

function describeReason(reason: ProviderErrorReason): string {
  switch (reason) {
    case 'ProviderAuthFailed':
      return 'authentication or authorisation failed (check the credentials, role and IAM policy)';
    case 'Throttled':
      return 'throttled by AWS';
    case 'NotFound':
      return 'not found';
    case 'Conflict':
      return 'conflicts with an existing entry';
    case 'TooLarge':
      return 'too large';
    case 'InvalidRequest':
      return 'request refused as invalid';
    case 'ProviderUnavailable':
      return 'AWS unavailable or the connection failed';
    default:
      return 'unexpected error';
  }
}
