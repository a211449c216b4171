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
  | 'GitRevisionNotFound'
  | 'UnsupportedSource';

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

/**
 * A notification that did not arrive: a reload signal or POST to an application (the reloader
 * sidecar), an event POSTed to a Flux notification Provider. The message names the target (pid
 * file, process name, Provider) and never a value, a token or an address's secret part.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** False when trying again cannot help (permission denied, HTTP 4xx other than 429…). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * Errors that retrying without a change to Git, the spec or a key cannot fix: the controller reports
 * them as stalled (kstatus `Stalled`) instead of retrying with backoff. Every other code is transient.
 */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'InvalidSpec',
  'ParseError',
  'DuplicateKey',
  'NameCollision',
  'InvalidName',
  'TooMany',
  'SopsNoMatchingKey',
  'SopsWrongKey',
  'SopsMacMismatch',
  'SopsMacMissing',
  'SopsCorruptValue',
  'SopsUnsupportedKeyType',
  'SopsInvalidFile',
  'SopsDisabled',
  'SecretsNotEncrypted',
  'EnvironmentNotFound',
  'PruneAllRefused',
  'KustomizeNotFound',
  'KustomizeFailed',
  'AccessDenied',
  'ProviderAuthFailed',
  'UnsafeArchive',
  'ArtifactDigestMismatch',
  'UnsupportedSource',
]);

/** Errors about the source (Git, a Flux artifact), which the controller reports as a source problem. */
const SOURCE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SourceNotFound',
  'GitFetchFailed',
  'GitAuthFailed',
  'GitRevisionNotFound',
  'SourceNotReady',
  'ArtifactNotFound',
  'ArtifactFetchFailed',
  'ArtifactDigestMismatch',
  'UnsafeArchive',
  'UnsupportedSource',
]);

export function isPermanent(code: string): boolean {
  return PERMANENT.has(code as ErrorCode);
}

export function isSourceError(code: string): boolean {
  return SOURCE.has(code as ErrorCode);
}

/** A thrown error → reason and value-free message. Unknown errors are transient `ReconcileError`s. */
export function classifyError(e: unknown): {
  reason: string;
  message: string;
  stalled: boolean;
  sourceProblem: boolean;
} {
  if (e instanceof SmcError) {
    return {
      reason: e.code,
      message: e.message,
      stalled: isPermanent(e.code),
      sourceProblem: isSourceError(e.code),
    };
  }
  // Not one of ours: keep the error class only; its message could quote anything.
  const name = e instanceof Error ? e.name : 'Error';
  return {
    reason: 'ReconcileError',
    message: `unexpected ${name} during reconcile`,
    stalled: false,
    sourceProblem: false,
  };
}
