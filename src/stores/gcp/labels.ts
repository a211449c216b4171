import { SmcError } from '../../errors.js';
import { OWNERSHIP_TAGS, ownershipTags } from '../ownership.js';
import type { Owner } from '../store.js';

/** GCP label values: lowercase letters, digits, `_` and `-`, at most 63 characters (may be empty). */
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/** Check the `environment` label value once, when a store is made. */
export function checkEnvironmentLabel(environment: string): void {
  if (!LABEL_VALUE.test(environment)) {
    throw new SmcError(
      'InvalidSpec',
      `secrets.environment "${environment}" cannot be a GCP label value (lowercase letters, digits, "_" and "-", at most 63 characters)`,
    );
  }
}

/**
 * The ownership labels (plus `environment`) for entries of `owner`. SMC namespaces and names are DNS
 * labels, so they fit; anything else is refused rather than mangled (a mangled owner label would
 * make the entry look like someone else's).
 */
export function ownerLabels(owner: Owner, environment: string): Record<string, string> {
  for (const [field, v] of [
    ['namespace', owner.namespace],
    ['name', owner.name],
  ] as const) {
    if (!LABEL_VALUE.test(v) || v === '') {
      throw new SmcError('InvalidRequest', `SMC ${field} "${v}" cannot be a GCP label value`);
    }
  }
  return ownershipTags(owner, environment || undefined);
}

/** Whether `current` already carries every label of `wanted`. */
export function hasLabels(
  current: Readonly<Record<string, string>> | null | undefined,
  wanted: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(wanted).every(([k, v]) => current?.[k] === v);
}

/**
 * A list filter for the entries of `owner` (Secret Manager and Parameter Manager filter syntax).
 * Servers that ignore filters (emulators) are fine: callers filter the answer again.
 */
export function ownerFilter(owner: Owner): string {
  const labels = ownershipTags(owner);
  return [OWNERSHIP_TAGS.managedBy, OWNERSHIP_TAGS.namespace, OWNERSHIP_TAGS.name]
    .map((k) => `labels.${k}="${labels[k] ?? ''}"`)
    .join(' AND ');
}
