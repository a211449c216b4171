/** The GCP stores' naming rules and limits: Secret Manager (`gcp`) and Parameter Manager (`gcp-pm`). */
import type { StoreLimits } from '../../naming/limits.js';
import { replaceOutside, type StoreNamingRule } from '../../naming/store-rules.js';

/**
 * GCP Secret Manager secret ids. Anything else (notably `.` and `/`) becomes `_`, as in the earlier
 * Rust controller, so existing secrets keep their names after a migration.
 */
export const gcpNaming: StoreNamingRule = {
  store: 'gcp',
  maxLength: 255,
  pattern: /^[A-Za-z0-9_-]+$/,
  sanitize: replaceOutside('A-Za-z0-9_-', '_'),
};

/** A Secret Manager version's payload may be up to 64 KiB. */
export const GCP_SECRET_LIMITS: StoreLimits = { maxValueBytes: 64 * 1024 };

/**
 * Parameter ids: letters, digits, `_` and `-`, at most 63 characters (like Secret Manager's alphabet,
 * with the shorter length of a resource id). Anything else becomes `_`.
 */
export const gcpParameterNaming: StoreNamingRule = {
  store: 'gcp-pm',
  maxLength: 63,
  pattern: /^[A-Za-z0-9_-]+$/,
  sanitize: (candidate) => candidate.replace(/[^A-Za-z0-9_-]/gu, '_'),
};

/** A parameter version's payload may be up to 1 MiB. */
export const GCP_PARAMETER_LIMITS: StoreLimits = { maxValueBytes: 1024 * 1024 };
