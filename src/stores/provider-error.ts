import { SmcError, type ErrorCode } from '../errors.js';

/** Why a store call failed, as the controller reports it (status reason, metrics label). */
export type ProviderErrorReason = Extract<
  ErrorCode,
  | 'ProviderAuthFailed'
  | 'Throttled'
  | 'NotFound'
  | 'Conflict'
  | 'TooLarge'
  | 'InvalidRequest'
  | 'ProviderUnavailable'
  | 'StoreError'
>;

/** Reasons worth another attempt: the same call may succeed later. */
const RETRYABLE: ReadonlySet<ProviderErrorReason> = new Set(['Throttled', 'ProviderUnavailable']);

/**
 * A failed store call, mapped from an SDK error. The message is built by the store from what it
 * knows (operation, entry name, HTTP status, the SDK's error name) — never from the SDK's message
 * text, which can echo request content.
 */
export class ProviderError extends SmcError {
  readonly reason: ProviderErrorReason;
  /** Server-requested wait before retrying (`Retry-After`), when it sent one. */
  readonly retryAfterMs?: number;
  constructor(
    reason: ProviderErrorReason,
    message: string,
    options?: { retryAfterMs?: number; cause?: unknown },
  ) {
    // Every throttling error says so in its message: that is how a failed entry's status tells
    // throttling apart from other failures (mentionsThrottling), whichever store it came from.
    super(
      reason,
      reason === 'Throttled' && !mentionsThrottling(message) ? `${message} (throttled)` : message,
      {
        cause: options?.cause,
      },
    );
    this.name = 'ProviderError';
    this.reason = reason;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
  get retryable(): boolean {
    return RETRYABLE.has(this.reason);
  }
}

/** Whether a (value-free) failure message reports throttling; every `Throttled` ProviderError's does. */
export function mentionsThrottling(message: string | undefined): boolean {
  return /\bthrottled\b/i.test(message ?? '');
}

/** Map an HTTP status to a reason (stores call this with the status their SDK reports). */
export function reasonForHttpStatus(status: number): ProviderErrorReason {
  if (status === 401 || status === 403) return 'ProviderAuthFailed';
  if (status === 404) return 'NotFound';
  if (status === 409 || status === 412) return 'Conflict';
  if (status === 413) return 'TooLarge';
  if (status === 429) return 'Throttled';
  if (status >= 500) return 'ProviderUnavailable';
  if (status >= 400) return 'InvalidRequest';
  return 'StoreError';
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Socket-level error codes (Node): the request may not have reached the provider, or its answer was lost. */
export const SOCKET_ERROR_CODES: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
];

/** Undici's own network error codes, on top of the socket codes (connection closed or timed out). */
export const UNDICI_NETWORK_ERROR_CODES: readonly string[] = [
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
];

/** What `run` answers, or undefined when it fails with a NotFound ProviderError (the thing is absent). */
export async function absentIfNotFound<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof ProviderError && e.reason === 'NotFound') return undefined;
    throw e;
  }
}
