/**
 * One error type for the whole project: a stable machine-readable `code` plus a message a user can
 * act on. Messages name the file, key or field they are about and never carry a secret value.
 */
export type ErrorCode =
  | 'InvalidSpec'
  | 'SourceNotFound'
  | 'EnvironmentNotFound'
  | 'ParseError'
  | 'DuplicateKey'
  | 'NameCollision'
  | 'InvalidName'
  | 'TooLarge'
  | 'TooMany'
  | 'SopsNoMatchingKey'
  | 'KeySecretNotFound'
  | 'SopsWrongKey'
  | 'SopsMacMismatch'
  | 'SopsMacMissing'
  | 'SopsCorruptValue'
  | 'SopsUnsupportedKeyType'
  | 'SopsKmsFailed'
  | 'SopsInvalidFile'
  | 'SopsDisabled'
  | 'SecretsNotEncrypted'
  | 'KustomizeNotFound'
  | 'KustomizeFailed'
  | 'StoreError'
  | 'Conflict'
  | 'PruneAllRefused'
  | 'NotFound'
  | 'ProviderAuthFailed'
  | 'Throttled'
  | 'ProviderUnavailable'
  | 'InvalidRequest'
  | 'AccessDenied'
  | 'SourceNotReady'
  | 'ArtifactNotFound'
  | 'ArtifactFetchFailed'
  | 'ArtifactDigestMismatch'
  | 'UnsafeArchive'
  | 'GitFetchFailed'
  | 'GitAuthFailed'
  | 'GitRevisionNotFound';

export class SmcError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmcError';
    this.code = code;
  }
}

export function isSmcError(e: unknown, code?: ErrorCode): e is SmcError {
  return e instanceof SmcError && (code === undefined || e.code === code);
}
