import type { NamedEntry } from '../entry.js';
import { SmcError } from '../errors.js';
import type { Owner, StoredEntry } from '../stores/store.js';
import type { Action, DeletionPolicy } from './actions.js';

export interface PlanInput {
  /** What Git says, already named, limit-checked and free of collisions. */
  desired: readonly NamedEntry[];
  /** What the store holds (`SecretStore.read`). */
  actual: readonly StoredEntry[];
  owner: Owner;
  deletionPolicy: DeletionPolicy;
  /** False: only missing entries are created; existing values are never overwritten. */
  triggerUpdate: boolean;
  /** Annotation `secret-management.octopilot.io/adopt: "true"`: take over entries we do not own. */
  adopt: boolean;
  /** How the caller asks for adoption, for the conflict reason (default: the SMC annotation). */
  adoptHint?: string;
  /**
   * Store names whose desired state is unknown this round (e.g. the entry failed a size check):
   * never written and never pruned.
   */
  held?: readonly string[];
}

export function sameOwner(a: Owner | undefined, b: Owner): boolean {
  return a !== undefined && a.namespace === b.namespace && a.name === b.name;
}

function ownerLabel(o: Owner): string {
  return `${o.namespace}/${o.name}`;
}

function compareNames(a: Action, b: Action): number {
  return a.storeName < b.storeName ? -1 : a.storeName > b.storeName ? 1 : 0;
}

/**
 * Desired vs actual → actions. Pure and deterministic (sorted by store name); reasons never carry a
 * value. Re-planning after a successful apply yields only noops.
 *
 * One action per entry, so a store never has to combine two: an `update` carries the target `enabled`
 * (a commented-out key whose value also changed is one `update` with `enabled: false`), and an `enable`
 * carries the value when that changed too. Adopting writes an `update` even for an equal value,
 * because the write is what records our ownership (otherwise pruning and the finalizer would never
 * see the entry as ours).
 */
export function planActions(input: PlanInput): Action[] {
  const { owner, triggerUpdate, adopt, deletionPolicy } = input;
  const held = new Set(input.held ?? []);
  const actual = new Map<string, StoredEntry>();
  for (const a of input.actual) if (!actual.has(a.storeName)) actual.set(a.storeName, a);

  const actions: Action[] = [];
  const desiredNames = new Set<string>();
  for (const d of input.desired) {
    if (desiredNames.has(d.storeName)) {
      throw new SmcError('NameCollision', `two desired entries share the store name "${d.storeName}"`);
    }
    desiredNames.add(d.storeName);
    if (held.has(d.storeName)) continue;
    actions.push(planEntry(d, actual.get(d.storeName), owner, triggerUpdate, adopt, input.adoptHint));
  }

  for (const a of actual.values()) {
    if (desiredNames.has(a.storeName) || held.has(a.storeName) || !sameOwner(a.owner, owner)) continue;
    const base = { key: a.key, storeName: a.storeName, kind: a.kind ?? 'secret' } as const;
    if (deletionPolicy === 'Retain') {
      actions.push({
        ...base,
        type: 'noop',
        cause: 'removed',
        enabled: a.enabled,
        reason: 'retained: key removed from source',
      });
    } else if (deletionPolicy === 'Disable' && !a.enabled) {
      actions.push({
        ...base,
        type: 'noop',
        cause: 'removed',
        enabled: false,
        reason: 'already disabled: key removed from source',
      });
    } else {
      actions.push({
        ...base,
        type: 'prune',
        cause: 'removed',
        deletion: deletionPolicy,
        reason: `key removed from source (deletionPolicy ${deletionPolicy})`,
      });
    }
  }
  return actions.sort(compareNames);
}

function planEntry(
  d: NamedEntry,
  a: StoredEntry | undefined,
  owner: Owner,
  triggerUpdate: boolean,
  adopt: boolean,
  adoptHint = 'annotate the SMC with secret-management.octopilot.io/adopt: "true" to take it over',
): Action {
  const base = { key: d.key, storeName: d.storeName, kind: d.kind };
  if (a === undefined) {
    return {
      ...base,
      type: 'create',
      cause: 'missing',
      value: d.value,
      enabled: d.enabled,
      reason: d.enabled ? 'missing from store' : 'missing from store (created disabled: key commented out)',
    };
  }

  const valueDiffers = a.holds ? !a.holds(d.value) : a.value === undefined || a.value !== d.value;
  const enabledDiffers = a.enabled !== d.enabled;
  const state = d.enabled ? 'enabled' : 'disabled';

  if (!sameOwner(a.owner, owner)) {
    // Adoption takes over only entries nobody owns: two SMCs that both adopted one name would
    // otherwise overwrite each other on every sync.
    if (a.owner) {
      return {
        ...base,
        type: 'conflict',
        reason: `owned by ${ownerLabel(a.owner)}; left untouched (entries owned by another SecretManagerConfig are never adopted)`,
      };
    }
    const held = 'unmanaged entry exists (no ownership marker)';
    if (!adopt) {
      return {
        ...base,
        type: 'conflict',
        reason: `${held}; left untouched (${adoptHint})`,
      };
    }
    if (valueDiffers && !triggerUpdate) {
      return {
        ...base,
        type: 'noop',
        reason: `${held}; not adopted: value differs and triggerUpdate is false`,
      };
    }
    return {
      ...base,
      type: 'update',
      cause: 'adopted',
      value: d.value,
      enabled: d.enabled,
      reason: `adopting: ${held}${valueDiffers ? ', value changed' : ''}`,
    };
  }

  // Stores such as GCP and Key Vault cannot read a disabled value. An entry that is disabled and
  // should stay disabled is left alone; its value is compared when the key is re-enabled.
  if (a.value === undefined && !a.holds && !a.enabled && !d.enabled) {
    return {
      ...base,
      type: 'noop',
      enabled: false,
      reason: 'disabled (the store cannot read a disabled value; compared when re-enabled)',
    };
  }

  if (valueDiffers && triggerUpdate) {
    const unknown = a.value === undefined && !a.holds;
    const why = unknown ? 'value unknown to store' : 'value changed';
    const cause = unknown ? 'unreadable' : 'changed';
    if (enabledDiffers && d.enabled) {
      return {
        ...base,
        type: 'enable',
        cause,
        value: d.value,
        enabled: true,
        reason: `${why}; enabled in source`,
      };
    }
    return {
      ...base,
      type: 'update',
      cause,
      value: d.value,
      enabled: d.enabled,
      reason: enabledDiffers ? `${why}; disabled in source` : why,
    };
  }
  const skipped = valueDiffers ? 'value differs, not updated: triggerUpdate is false' : '';
  if (enabledDiffers) {
    const also = skipped ? `; ${skipped}` : '';
    return d.enabled
      ? {
          ...base,
          type: 'enable',
          cause: 'disabled',
          enabled: true,
          reason: `enabled in source (key uncommented)${also}`,
        }
      : {
          ...base,
          type: 'disable',
          cause: 'disabled',
          enabled: false,
          reason: `disabled in source (key commented out)${also}`,
        };
  }
  return { ...base, type: 'noop', enabled: d.enabled, reason: skipped || `up to date (${state})` };
}
