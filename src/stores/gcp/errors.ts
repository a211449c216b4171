import {
  ProviderError,
  type ProviderErrorReason,
  reasonForHttpStatus,
  SOCKET_ERROR_CODES,
  UNDICI_NETWORK_ERROR_CODES,
} from '../provider-error.js';

/** gRPC status codes by number, as Google APIs report them over gRPC and in REST error bodies. */
const GRPC_STATUS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export type GrpcStatusName = (typeof GRPC_STATUS)[number];

const REASON_BY_STATUS: Partial<Record<GrpcStatusName, ProviderErrorReason>> = {
  INVALID_ARGUMENT: 'InvalidRequest',
  OUT_OF_RANGE: 'InvalidRequest',
  DEADLINE_EXCEEDED: 'ProviderUnavailable',
  NOT_FOUND: 'NotFound',
  ALREADY_EXISTS: 'Conflict',
  PERMISSION_DENIED: 'ProviderAuthFailed',
  UNAUTHENTICATED: 'ProviderAuthFailed',
  RESOURCE_EXHAUSTED: 'Throttled',
  // An etag that no longer matches (ABORTED), or a state that forbids the call, e.g. reading a
  // disabled version or deleting a parameter that still has versions (FAILED_PRECONDITION).
  FAILED_PRECONDITION: 'Conflict',
  ABORTED: 'Conflict',
  INTERNAL: 'ProviderUnavailable',
  UNAVAILABLE: 'ProviderUnavailable',
  DATA_LOSS: 'ProviderUnavailable',
};

/** Network failures below HTTP/gRPC: the request may not have reached Google; worth a retry. */
const NETWORK_CODES = new Set([...SOCKET_ERROR_CODES, ...UNDICI_NETWORK_ERROR_CODES]);

/**
 * A failed Secret Manager / Parameter Manager call. Carries the gRPC status so a store can tell,
 * e.g., an existing entry (ALREADY_EXISTS) from a stale etag (ABORTED), both `Conflict`.
 */
export class GcpProviderError extends ProviderError {
  readonly status?: GrpcStatusName;
  constructor(reason: ProviderErrorReason, message: string, status?: GrpcStatusName, retryAfterMs?: number) {
    super(reason, message, retryAfterMs === undefined ? undefined : { retryAfterMs });
    if (status !== undefined) this.status = status;
  }
}

interface GaxLikeError {
  code?: unknown;
  httpStatusCode?: unknown;
  statusDetails?: unknown;
  metadata?: unknown;
  cause?: unknown;
  name?: unknown;
}

/**
 * Map whatever a Google client threw to a ProviderError. The message names the operation, the
 * resource and the status — never the SDK's message text, which can echo request content.
 */
export function gcpProviderError(operation: string, resource: string, error: unknown): GcpProviderError {
  if (error instanceof GcpProviderError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as GaxLikeError;
  // google-gax 5's REST transport throws a plain Error: `code` is the HTTP status and the message is
  // the raw JSON error body. Only the status name and retry delay are taken from that body.
  const httpCode = typeof e.code === 'number' && e.code >= 100 ? e.code : undefined;
  const http = typeof e.httpStatusCode === 'number' ? e.httpStatusCode : httpCode;
  const body = httpCode !== undefined ? errorBody(e) : undefined;
  const status = statusName(body?.status ?? (httpCode === undefined ? e.code : undefined));
  const details = Array.isArray(e.statusDetails) ? (e.statusDetails as unknown[]) : (body?.details ?? []);
  const where = `${operation} on ${resource}`;

  if (status !== undefined && status !== 'UNKNOWN' && status !== 'OK') {
    const reason = REASON_BY_STATUS[status] ?? 'StoreError';
    const retryAfterMs =
      reason === 'Throttled' || reason === 'ProviderUnavailable' ? retryDelayMs(e, details) : undefined;
    return new GcpProviderError(
      reason,
      `${where} failed: ${status}${httpSuffix(http)}${hint(reason)}`,
      status,
      retryAfterMs,
    );
  }
  if (http !== undefined) {
    const reason = reasonForHttpStatus(http);
    return new GcpProviderError(
      reason,
      `${where} failed: HTTP ${http}${hint(reason)}`,
      undefined,
      retryDelayMs(e, details),
    );
  }
  if (authLibraryFailure(error)) {
    return new GcpProviderError(
      'ProviderAuthFailed',
      `${where} failed: no usable GCP credentials${hint('ProviderAuthFailed')}`,
    );
  }
  const net = networkCode(error);
  if (net !== undefined) {
    return new GcpProviderError('ProviderUnavailable', `${where} failed: network error ${net}`);
  }
  const name = typeof e.name === 'string' && /^[A-Za-z]{1,40}$/.test(e.name) ? e.name : 'unknown error';
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new GcpProviderError('ProviderUnavailable', `${where} failed: timed out`);
  }
  return new GcpProviderError(
    'StoreError',
    `${where} failed: ${name}${status === 'UNKNOWN' ? ' (UNKNOWN)' : ''}`,
  );
}

/** `{error: {status, details}}` from a JSON error body carried as the message; nothing else is kept. */
function errorBody(e: GaxLikeError): { status?: string; details?: unknown[] } | undefined {
  const message = (e as { message?: unknown }).message;
  if (typeof message !== 'string' || !message.trimStart().startsWith('{')) return undefined;
  try {
    const err = (JSON.parse(message) as { error?: { status?: unknown; details?: unknown } }).error;
    return {
      ...(typeof err?.status === 'string' ? { status: err.status } : {}),
      ...(Array.isArray(err?.details) ? { details: err.details as unknown[] } : {}),
    };
  } catch {
    return undefined;
  }
}

function statusName(code: unknown): GrpcStatusName | undefined {
  if (typeof code === 'number') return GRPC_STATUS[code];
  if (typeof code === 'string')
    return (GRPC_STATUS as readonly string[]).includes(code) ? (code as GrpcStatusName) : undefined;
  return undefined;
}

function httpSuffix(http: number | undefined): string {
  return http === undefined ? '' : ` (HTTP ${http})`;
}

function hint(reason: ProviderErrorReason): string {
  return reason === 'ProviderAuthFailed'
    ? ' — check the credentials (Workload Identity or service account key) and their IAM roles'
    : '';
}

/** `google.rpc.RetryInfo.retryDelay` from the error details, or a `retry-after` gRPC metadata entry. */
function retryDelayMs(e: GaxLikeError, details: readonly unknown[]): number | undefined {
  for (const d of details) {
    const ms = durationMs((d as { retryDelay?: unknown } | null)?.retryDelay);
    if (ms !== undefined) return ms;
  }
  const md = e.metadata as { get?: (key: string) => unknown[] } | undefined;
  if (md && typeof md.get === 'function') {
    const v = md.get('retry-after')?.[0];
    if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  }
  return undefined;
}

/** A protobuf Duration: `"1.5s"` (JSON) or `{seconds, nanos}` (decoded; seconds may be a Long or string). */
function durationMs(d: unknown): number | undefined {
  if (typeof d === 'string') {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(d.trim());
    return m ? Math.round(Number(m[1]) * 1000) : undefined;
  }
  if (typeof d === 'object' && d !== null && ('seconds' in d || 'nanos' in d)) {
    const { seconds, nanos } = d as { seconds?: unknown; nanos?: unknown };
    const s = Number(typeof seconds === 'object' && seconds !== null ? String(seconds) : (seconds ?? 0));
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return Math.round(s * 1000 + n / 1e6);
  }
  return undefined;
}

/**
 * google-auth-library fails before any request when it cannot get a token: no Application Default
 * Credentials, a refused refresh (`invalid_grant`), an unreadable private key. Recognised by its
 * message, which is matched here but never repeated.
 */
const AUTH_LIBRARY_FAILURE =
  /default credentials|could not refresh access token|invalid_grant|unauthorized_client|invalid_client|DECODER routines|PEM routines/i;

function authLibraryFailure(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && AUTH_LIBRARY_FAILURE.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
