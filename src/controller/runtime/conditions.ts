/**
 * kstatus conditions: set one condition in a list, keeping `lastTransitionTime` unless `status`
 * changes (docs/crd-reference.md). Pure.
 */
import type { Condition, ConditionType } from '../../api/index.js';
import { escapeControlCharacters } from '../../control-characters.js';

export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** `reason` must be CamelCase (the CRD pattern): anything else becomes `Unknown`. */
function safeReason(reason: string): string {
  return /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(reason) ? reason : 'Unknown';
}

/**
 * The new condition list: `updates` replace the conditions of their type, in the order of
 * `updates`; conditions of other types in `previous` are kept as they were.
 */
export function setConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionInput[],
  now: string,
  observedGeneration: number | undefined,
): Condition[] {
  const prev = new Map((previous ?? []).map((c) => [c.type, c]));
  const out: Condition[] = [];
  for (const u of updates) {
    const old = prev.get(u.type);
    prev.delete(u.type);
    out.push({
      type: u.type,
      status: u.status,
      reason: safeReason(u.reason),
      // Messages quote keys and names from Git: `kubectl describe` must not print them raw.
      message: escapeControlCharacters(u.message).slice(0, 32768),
      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
      lastTransitionTime: old && old.status === u.status ? old.lastTransitionTime : now,
    });
  }
  return [...out, ...prev.values()];
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Like `setConditions`, but the list keeps its order: an updated condition stays where it was, a
 * new type is appended. For the in-progress writes (`Pending`, `Syncing`), which touch only some
 * conditions and leave the others exactly as the last reconcile wrote them.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionInput[],
  now: string,
  observedGeneration: number | undefined,
): Condition[] {
  const byType = new Map(setConditions(previous, updates, now, observedGeneration).map((c) => [c.type, c]));
  const out: Condition[] = [];
  for (const c of previous ?? []) {
    const next = byType.get(c.type);
    if (next) out.push(next);
    byType.delete(c.type);
  }
  return [...out, ...byType.values()];
}
