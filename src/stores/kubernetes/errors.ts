import { ApiException } from '../../kube/client-node.js';
import {
  parseRetryAfter,
  ProviderError,
  reasonForHttpStatus,
  SOCKET_ERROR_CODES,
  UNDICI_NETWORK_ERROR_CODES,
} from '../provider-error.js';

/** Network-level failures worth another attempt (the API server restarting, a dropped connection). */
const NETWORK_CODES = new Set([...SOCKET_ERROR_CODES, ...UNDICI_NETWORK_ERROR_CODES, 'UND_ERR_CLOSED']);

/** The `reason` of a Kubernetes `Status` body (e.g. `Forbidden`, `Conflict`, `Invalid`), when there is one. */
function statusReason(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const reason = (parsed as { reason?: unknown } | null | undefined)?.reason;
  return typeof reason === 'string' && /^[A-Za-z]{1,64}$/.test(reason) ? reason : undefined;
}

function networkCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Map whatever `@kubernetes/client-node` threw to a ProviderError. The message is built from what we
 * know (operation, object, HTTP status, the Status `reason`) and never from the API server's message
 * or the exception's own message, which embeds the whole response body.
 */
export function kubeProviderError(e: unknown, operation: string, object: string): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof ApiException) {
    const status = e.code;
    const reason = reasonForHttpStatus(status);
    const why = statusReason(e.body);
    const headers = (e.headers ?? {}) as Record<string, string | undefined>;
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    let hint = '';
    if (status === 403) {
      hint = '; the identity needs get, create, update and delete on secrets in that namespace';
    } else if (status === 401) {
      hint = '; the credentials were refused';
    }
    return new ProviderError(
      reason,
      `Kubernetes ${operation} of Secret ${object} failed: HTTP ${status}${why ? ` ${why}` : ''}${hint}`,
      { retryAfterMs },
    );
  }
  const code = networkCode(e);
  if (code !== undefined) {
    return new ProviderError(
      'ProviderUnavailable',
      `Kubernetes ${operation} of Secret ${object} failed: API server unreachable (${code})`,
    );
  }
  const name = e instanceof Error ? e.name : typeof e;
  return new ProviderError('StoreError', `Kubernetes ${operation} of Secret ${object} failed (${name})`);
}
