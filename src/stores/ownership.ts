import type { Owner } from './store.js';

/**
 * The ownership marker every store entry we create carries, as labels or tags (docs/architecture.md
 * "Ownership"). Names are valid as GCP labels, AWS/Azure tags and Kubernetes label keys alike.
 */
export const OWNERSHIP_TAGS = {
  managedBy: 'managed-by',
  namespace: 'smc-namespace',
  name: 'smc-name',
  environment: 'environment',
  /** Stores with no native disable (AWS Secrets Manager, SSM, App Configuration) mark it with this tag. */
  disabled: 'disabled',
} as const;

export const MANAGED_BY = 'secret-manager-controller';

/** Tags that mark an entry as created by `owner` (plus the environment label, when given). */
export function ownershipTags(owner: Owner, environment?: string): Record<string, string> {
  return {
    [OWNERSHIP_TAGS.managedBy]: MANAGED_BY,
    [OWNERSHIP_TAGS.namespace]: owner.namespace,
    [OWNERSHIP_TAGS.name]: owner.name,
    ...(environment ? { [OWNERSHIP_TAGS.environment]: environment } : {}),
  };
}

/** The owner recorded in an entry's tags; undefined when the entry carries no complete marker. */
export function ownerFromTags(
  tags: Readonly<Record<string, string | undefined>> | undefined,
): Owner | undefined {
  if (!tags || tags[OWNERSHIP_TAGS.managedBy] !== MANAGED_BY) return undefined;
  const namespace = tags[OWNERSHIP_TAGS.namespace];
  const name = tags[OWNERSHIP_TAGS.name];
  return namespace && name ? { namespace, name } : undefined;
}
