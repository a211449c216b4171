/**
 * App Configuration calls as the controller sees them: the REST operation a request is (for the
 * observer), what a failure means (a ProviderError naming operation, key and HTTP status, never the
 * service's message text), the endpoint of a connection string, and key filters.
 */
import { isRestError } from '@azure/app-configuration';
import { SmcError } from '../../errors.js';
import {
  parseRetryAfter,
  ProviderError,
  reasonForHttpStatus,
  SOCKET_ERROR_CODES,
} from '../provider-error.js';

/** `/kv/{key}`, `/kv`, `/locks/{key}` → the REST operation name, and whether it writes. */
export function appConfigOperation(method: string, url: string): { operation: string; write: boolean } {
  const [root, key] = new URL(url).pathname.split('/').filter((p) => p !== '');
  const m = method.toUpperCase();
  if (root === 'kv') {
    if (key === undefined)
      return { operation: m === 'HEAD' ? 'CheckKeyValues' : 'GetKeyValues', write: false };
    if (m === 'PUT') return { operation: 'PutKeyValue', write: true };
    if (m === 'DELETE') return { operation: 'DeleteKeyValue', write: true };
    if (m === 'HEAD') return { operation: 'CheckKeyValue', write: false };
    return { operation: 'GetKeyValue', write: false };
  }
  if (root === 'locks') return { operation: m === 'DELETE' ? 'DeleteLock' : 'PutLock', write: true };
  return { operation: `${m} ${root ?? '/'}`, write: m !== 'GET' && m !== 'HEAD' };
}

/** A ProviderError that keeps the HTTP status (never a message from the service). */
export class AppConfigProviderError extends ProviderError {
  constructor(
    reason: ProviderError['reason'],
    message: string,
    readonly status: number,
    retryAfterMs?: number,
  ) {
    super(reason, message, retryAfterMs !== undefined ? { retryAfterMs } : undefined);
  }
}

const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const NETWORK_CODES = new Set([...SOCKET_ERROR_CODES, 'REQUEST_SEND_ERROR']);

/**
 * Map what `@azure/app-configuration` (or the credential) threw to a ProviderError. Messages name the
 * operation, the key, the HTTP status and the error code — never the service's or the SDK's message
 * text, and never the request.
 */
export function appConfigProviderError(e: unknown, operation: string, key: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const what = key
    ? `Azure App Configuration ${operation} of "${key}"`
    : `Azure App Configuration ${operation}`;
  if (isRestError(e)) {
    const status = e.statusCode;
    const code = typeof e.code === 'string' && CODE.test(e.code) ? e.code : undefined;
    if (status === undefined) {
      const network = code !== undefined && NETWORK_CODES.has(code);
      return new ProviderError(
        network ? 'ProviderUnavailable' : 'StoreError',
        `${what} failed: ${network ? 'store unreachable' : 'no response'}${code ? ` (${code})` : ''}`,
      );
    }
    const ms = Number(e.response?.headers.get('retry-after-ms') ?? Number.NaN);
    const retryAfterMs = Number.isFinite(ms) ? ms : parseRetryAfter(e.response?.headers.get('retry-after'));
    let hint = '';
    if (status === 401 || status === 403) {
      hint =
        '; check the connection string, or that the identity has the App Configuration Data Owner role on the store';
    } else if (status === 409) {
      hint = '; the key-value is read-only (locked): unlock it in the store';
    } else if (status === 412) {
      hint = '; the key-value changed since it was read';
    }
    return new AppConfigProviderError(
      reasonForHttpStatus(status),
      `${what} failed: HTTP ${status}${code && code !== String(status) ? ` ${code}` : ''}${hint}`,
      status,
      retryAfterMs,
    );
  }
  const errName = e instanceof Error ? e.name : typeof e;
  if (
    errName === 'AuthenticationError' ||
    errName === 'CredentialUnavailableError' ||
    errName === 'AggregateAuthenticationError'
  ) {
    return new ProviderError('ProviderAuthFailed', `${what} failed: no access token (${errName})`);
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new ProviderError('ProviderUnavailable', `${what} failed: store unreachable (${code})`);
  }
  return new ProviderError('StoreError', `${what} failed (${errName})`);
}

/** The endpoint of a connection string `Endpoint=…;Id=…;Secret=…` (never quoted in the error). */
export function endpointOf(connectionString: string): string {
  const m = /(?:^|;)\s*Endpoint=([^;]+)/i.exec(connectionString);
  if (
    !m ||
    !/(?:^|;)\s*Id=[^;]+/i.test(connectionString) ||
    !/(?:^|;)\s*Secret=[^;]+/i.test(connectionString)
  ) {
    throw new SmcError(
      'InvalidSpec',
      'Azure App Configuration connection string is not of the form Endpoint=…;Id=…;Secret=…',
    );
  }
  return m[1]!.trim();
}

/** Filters treat `*`, `,` and a backslash as syntax; the service takes them literally when backslash-escaped. */
export function escapeFilter(s: string): string {
  return s.replace(/[\\*,]/g, '\\$&');
}

/** A 412 (the etag condition failed), as opposed to a 409 (locked). */
export function isPrecondition(e: unknown): boolean {
  return e instanceof AppConfigProviderError && e.status === 412;
}
