/** The Azure stores' naming rules: Key Vault (`azure-keyvault`) and App Configuration (`appconfig`). */
import type { StoreLimits } from '../../naming/limits.js';
import { joinNameParts, replaceOutside, type StoreNamingRule } from '../../naming/store-rules.js';

/**
 * Azure Key Vault secret names: only letters, digits and `-`, so `_`, `.` and everything else become
 * `-` (one for one, no collapsing, to keep distinct keys distinct). Key Vault names are
 * case-insensitive: `DB-URL` and `db-url` are the same secret.
 */
export const azureKeyVaultNaming: StoreNamingRule = {
  store: 'azure-keyvault',
  maxLength: 127,
  pattern: /^[0-9A-Za-z-]+$/,
  caseInsensitive: true,
  sanitize: replaceOutside('0-9A-Za-z-', '-'),
};

/** A Key Vault secret value may be up to 25 KB. */
export const KEYVAULT_LIMITS: StoreLimits = { maxValueBytes: 25 * 1024 };

/**
 * Azure App Configuration keys `prefix:environment:key` (a suffix is appended to the key part as
 * `key-suffix`). Any character but `%` is allowed; `.` and `..` are reserved. The 10 KB limit counts
 * key and value together, so it is enforced by `checkLimits` with `countNameBytes`.
 */
export function appConfigNaming(opts: { environment: string }): StoreNamingRule {
  const sanitize = (s: string) => s.replace(/%/g, '_');
  return {
    store: 'appconfig',
    maxLength: 10 * 1024,
    pattern: /^[^%]+$/u,
    sanitize,
    compose: (parts) => {
      const last = joinNameParts({ key: parts.key, suffix: parts.suffix });
      return sanitize(
        [(parts.prefix ?? '').replace(/-+$/, ''), opts.environment, last].filter((p) => p !== '').join(':'),
      );
    },
    validate: (name) => (name === '.' || name === '..' ? 'keys "." and ".." are reserved' : undefined),
  };
}

/** The service's limit on one key-value: key, label, content type, tags and value together. */
export const APPCONFIG_MAX_KEY_VALUE_BYTES = 10 * 1024;
/** Bytes kept back from the value budget for key, label, content type and tags. */
export const APPCONFIG_ATTRIBUTE_RESERVE_BYTES = 1024;
export const APPCONFIG_LIMITS: StoreLimits = {
  maxValueBytes: APPCONFIG_MAX_KEY_VALUE_BYTES - APPCONFIG_ATTRIBUTE_RESERVE_BYTES,
};
