/**
 * What the SOPS key services share: their names, the opener a keyring carries, and the value-free
 * failure an opener reports (key, service, reason — never a value, never the SDK's message text).
 */
import type { KmsEntry } from '../metadata.js';

export type { KmsEntry } from '../metadata.js';

/** A key service, by the sops metadata key type it opens. */
export type KmsService = KmsEntry['type'];

export const KMS_SERVICES: readonly KmsService[] = ['aws_kms', 'gcp_kms', 'azure_kv', 'hc_vault'];

/** How messages, docs and the `service` metric label name each service. */
export const SERVICE_NAMES: Readonly<Record<KmsService, string>> = {
  aws_kms: 'AWS KMS',
  gcp_kms: 'GCP KMS',
  azure_kv: 'Azure Key Vault',
  hc_vault: 'HashiCorp Vault transit',
};

/**
 * Why a key did not open:
 * - `no_credentials`: nothing to authenticate with (no key in the Secret, workload identity not allowed);
 * - `auth_failed`: the service refused the credentials or the permission (wrong key, missing grant);
 * - `not_found`: the key (or its version) does not exist;
 * - `invalid`: the service refused the ciphertext (wrong encryption context, corrupted `enc`);
 * - `throttled` / `unavailable`: still failing after the retries;
 * - `error`: anything else.
 */
export type KmsFailureReason =
  'no_credentials' | 'auth_failed' | 'not_found' | 'invalid' | 'throttled' | 'unavailable' | 'error';

/** A key that did not open. The message names the key and says why, never a value. */
export class KmsOpenError extends Error {
  constructor(
    readonly service: KmsService,
    readonly key: string,
    readonly reason: KmsFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'KmsOpenError';
  }
}

/** Opens data keys wrapped by key services; a keyring carries one (docs/sops.md "Key services"). */
export interface KmsOpener {
  /** The data key (or Shamir share) wrapped in `entry`; a KmsOpenError when it does not open. */
  open(entry: KmsEntry): Promise<Uint8Array>;
  /** Where each service's credentials come from (value-free), for messages and logs. */
  describe(): string[];
}
