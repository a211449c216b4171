import { isRestError } from '@azure/keyvault-secrets';
import {
  parseRetryAfter,
  ProviderError,
  reasonForHttpStatus,
  SOCKET_ERROR_CODES,
} from '../provider-error.js';

/** Key Vault error codes are identifiers; anything else (never expected) is left out of messages. */
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const safeCode = (c: unknown): string | undefined => (typeof c === 'string' && CODE.test(c) ? c : undefined);

/** `error.innererror.code` of a Key Vault error body (e.g. `SecretDisabled`, `ObjectIsDeletedButRecoverable`). */
export function innerErrorCode(e: unknown): string | undefined {
  type Body = { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } } | undefined;
  const details = (e as { details?: unknown }).details as Body;
  const fromDetails = details?.error?.innerError?.code ?? details?.error?.innererror?.code;
  if (fromDetails !== undefined) return safeCode(fromDetails);
  // Some paths (paged lists) leave `details` unset: read the code from the response body.
  const text = (e as { response?: { bodyAsText?: string | null } }).response?.bodyAsText;
  if (!text) return undefined;
  try {
    return safeCode((JSON.parse(text) as Body)?.error?.innererror?.code);
  } catch {
    return undefined;
  }
}

/** A ProviderError from Key Vault that keeps the HTTP status and inner error code (never a message). */
export class KeyVaultProviderError extends ProviderError {
  constructor(
    reason: ProviderError['reason'],
    message: string,
    readonly status?: number,
    readonly innerCode?: string,
    retryAfterMs?: number,
  ) {
    super(reason, message, { retryAfterMs });
  }
}

function statusAndInner(e: unknown): { status?: number; inner?: string } {
  if (e instanceof KeyVaultProviderError) return { status: e.status, inner: e.innerCode };
  if (e instanceof ProviderError || !isRestError(e)) return {};
  return { status: e.statusCode, inner: innerErrorCode(e) };
}

/** A GET of a disabled secret version: `403 Forbidden` with inner code `SecretDisabled`. */
export function isSecretDisabled(e: unknown): boolean {
  const { status, inner } = statusAndInner(e);
  return status === 403 && inner === 'SecretDisabled';
}

/** SetSecret on a name that is soft-deleted: `409 Conflict`, `ObjectIsDeletedButRecoverable`. */
export function isDeletedButRecoverable(e: unknown): boolean {
  const { status, inner } = statusAndInner(e);
  return status === 409 && inner === 'ObjectIsDeletedButRecoverable';
}

const TRANSIENT_CONFLICTS = new Set(['ObjectIsBeingDeleted', 'ObjectIsBeingRecovered']);
const NETWORK_CODES = new Set([...SOCKET_ERROR_CODES, 'REQUEST_SEND_ERROR']);

/** The Node TLS verification code (e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`) in an error or its causes. */
function tlsErrorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    const code = safeCode((cur as { code?: unknown }).code);
    if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME_MISMATCH/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Map what `@azure/keyvault-secrets` (or the credential) threw to a ProviderError. Messages name the
 * operation, the secret, the HTTP status and the service's error codes — never the service's or the
 * SDK's message text, and never the request (whose body may hold the value).
 */
export function azureProviderError(e: unknown, operation: string, name: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const what = name ? `Azure Key Vault ${operation} of "${name}"` : `Azure Key Vault ${operation}`;
  if (isRestError(e)) {
    const status = e.statusCode;
    const code = safeCode(e.code);
    if (status === undefined) {
      const tlsCode = tlsErrorCode(e);
      if (tlsCode !== undefined) {
        return new ProviderError(
          'StoreError',
          `${what} failed: the vault's TLS certificate is not trusted (${tlsCode}); for a private CA set SMC_AZURE_KEYVAULT_CA_FILE`,
        );
      }
      const network = code !== undefined && NETWORK_CODES.has(code);
      return new ProviderError(
        network ? 'ProviderUnavailable' : 'StoreError',
        `${what} failed: ${network ? 'vault unreachable' : 'no response'}${code ? ` (${code})` : ''}`,
      );
    }
    const inner = innerErrorCode(e);
    const codes = [code, inner].filter((c) => c !== undefined).join('/');
    const retryAfterMs = parseRetryAfter(e.response?.headers.get('retry-after'));
    let reason = reasonForHttpStatus(status);
    let hint = '';
    if (status === 409 && inner !== undefined && TRANSIENT_CONFLICTS.has(inner)) {
      reason = 'ProviderUnavailable'; // the service finishes a delete or recovery; the same call works later
    } else if (status === 403 && inner === 'SecretDisabled') {
      reason = 'InvalidRequest';
    } else if (status === 401 || status === 403) {
      hint = '; the identity needs get, list, set, delete and recover permissions on the vault secrets';
    }
    return new KeyVaultProviderError(
      reason,
      `${what} failed: HTTP ${status}${codes ? ` ${codes}` : ''}${hint}`,
      status,
      inner,
      retryAfterMs,
    );
  }
  const errName = e instanceof Error ? e.name : typeof e;
  // @azure/identity's errors (no token could be had) and the challenge verification refusing a host.
  if (e instanceof Error && /challenge resource/i.test(e.message)) {
    return new ProviderError(
      'ProviderAuthFailed',
      `${what} failed: the vault's auth challenge names a resource outside the vault's domain, so no token was sent ` +
        '(for an emulator set SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION=true)',
    );
  }
  if (
    errName === 'AuthenticationError' ||
    errName === 'CredentialUnavailableError' ||
    errName === 'AggregateAuthenticationError'
  ) {
    return new ProviderError('ProviderAuthFailed', `${what} failed: no access token (${errName})`);
  }
  const code = safeCode((e as { code?: unknown } | null)?.code);
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return new ProviderError('ProviderUnavailable', `${what} failed: vault unreachable (${code})`);
  }
  return new ProviderError('StoreError', `${what} failed (${errName})`);
}
