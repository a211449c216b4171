/**
 * `suspendGitPulls` for Flux sources (docs/crd-reference.md): while true, the referenced GitRepository /
 * OCIRepository / Bucket gets `spec.suspend: true` (a merge patch), and the annotation
 * `secret-management.octopilot.io/git-pulls-suspended-by: <smc namespace>/<smc name>` records that
 * this controller did it. When `suspendGitPulls` goes false the source is resumed
 * (`spec.suspend: false`, annotation removed) — only when that annotation names this SMC, so a
 * suspend set by a human (or by another SMC) is never undone.
 */
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '../../kube/client-node.js';
import { API_GROUP } from '../../api/index.js';
import type { ResourceType } from '../runtime/informers.js';

export const SUSPENDED_BY_ANNOTATION = `${API_GROUP}/git-pulls-suspended-by`;

/** A Flux source, as far as suspending it goes. */
export interface SuspendableSource {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { suspend?: boolean };
}

export type SuspendAction =
  /** Set `spec.suspend: true` and the annotation. */
  | 'suspend'
  /** Set `spec.suspend: false` and remove the annotation (we suspended it). */
  | 'resume'
  /** Suspended by someone else while we want it suspended: nothing to do, nothing to undo later. */
  | 'suspendedByOther'
  /** Suspended by someone else while we do not want it: left as it is. */
  | 'leftSuspended'
  | 'none';

/** What to do with the source for `desired` (spec.suspendGitPulls) of SMC `owner` (`ns/name`). */
export function suspendAction(source: SuspendableSource, desired: boolean, owner: string): SuspendAction {
  const by = source.metadata?.annotations?.[SUSPENDED_BY_ANNOTATION];
  const suspended = source.spec?.suspend === true;
  if (desired) {
    if (!suspended) return 'suspend';
    return by === owner ? 'none' : 'suspendedByOther';
  }
  if (by === owner) return 'resume';
  return suspended ? 'leftSuspended' : 'none';
}

/** Apply `suspend` or `resume` with one merge patch. */
export async function patchSuspend(
  api: CustomObjectsApi,
  type: ResourceType,
  namespace: string,
  name: string,
  action: 'suspend' | 'resume',
  owner: string,
): Promise<void> {
  const body =
    action === 'suspend'
      ? { metadata: { annotations: { [SUSPENDED_BY_ANNOTATION]: owner } }, spec: { suspend: true } }
      : { metadata: { annotations: { [SUSPENDED_BY_ANNOTATION]: null } }, spec: { suspend: false } };
  await api.patchNamespacedCustomObject(
    { group: type.group, version: type.version, namespace, plural: type.plural, name, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}
