/**
 * What change-sets ask of one workload in `auto` mode (docs/hot-reload.md), pure: the union over
 * the change-sets of the uses of their changed keys in its pod template (./consumption.ts), plus
 * the `reload` annotation's opt-in; and why a needed restart is not made, if it is not.
 */
import { ANNOTATIONS } from '../../api/constants.js';
import type { AutoReport } from './auto-report.js';
import type { ChangeSet } from './change-set.js';
import { affectedBy, classifyConsumption } from './consumption.js';
import {
  type ReloadStrategy,
  type SmcRef,
  type Workload,
  reloadStrategy,
  reloadTargets,
} from './notifier.js';

/** Whether `w` names `smc` in its `reload` annotation. */
export function annotatedFor(w: Workload, smc: SmcRef): boolean {
  return reloadTargets(w.metadata.annotations).includes(smc.name);
}

/** Union over change-sets of the uses of their changed keys (plus the `reload` annotation's opt-in). */
export function workloadVerdict(
  w: Workload,
  changeSets: readonly ChangeSet[],
): { restart: string[]; live: string[] } {
  if (changeSets.length === 0) return { restart: [], live: [] };
  const changed = new Map<string, Set<string>>();
  for (const cs of changeSets) {
    const keys = changed.get(cs.secret) ?? new Set<string>();
    for (const k of cs.keys) keys.add(k);
    changed.set(cs.secret, keys);
  }
  const uses = classifyConsumption(w.spec?.template?.spec, new Set(changed.keys()));
  const v = affectedBy(uses, changed);
  if (v.restart.length === 0 && uses.length === 0 && changeSets.some((cs) => annotatedFor(w, cs.smc))) {
    // Opted in by annotation without reading the Secret from its pod template (e.g. over the API).
    const strategy = reloadStrategy(w.metadata.annotations);
    (strategy === 'http' ? v.live : v.restart).push(`${ANNOTATIONS.reload} annotation`);
  }
  return v;
}

/** Why a needed restart is not made, if it is not. */
export function restartRefusal(
  w: Workload,
  strategy: ReloadStrategy,
  why: string,
): Pick<AutoReport, 'strategy' | 'result' | 'reason'> | undefined {
  if (strategy === 'none')
    return { strategy, result: 'skipped', reason: `reload-strategy none (needs a restart: ${why})` };
  if (w.spec?.template === undefined)
    return {
      strategy,
      result: 'skipped',
      reason: `no pod template (workloadRef) (needs a restart: ${why})`,
    };
  return undefined;
}
