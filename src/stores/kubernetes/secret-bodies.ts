/**
 * The Kubernetes Secret store's writes as bodies (see `secret-store.ts`): the Secret and the
 * disabled-values Secret as they should be after an apply, or the deletion of one this controller
 * created once it holds nothing. Pure: no API calls.
 */
import type { V1OwnerReference, V1Secret } from '../../kube/client-node.js';
import { API_VERSION, KIND } from '../../api/constants.js';
import { sameOwner } from '../../plan/plan.js';
import { MANAGED_BY } from '../ownership.js';
import type { Owner } from '../store.js';
import {
  DISABLED_ROLE,
  KUBE_ANNOTATIONS,
  KUBE_LABELS,
  NO_DISABLED_VALUES,
  type Deletion,
  type Next,
  type Snapshot,
  type View,
  encodeData,
  ownersAnnotation,
  ownershipLabels,
  sameMap,
  sameRecord,
} from './secret-layout.js';

/** Where the store writes, and what its spec adds to the Secret it writes. */
export interface SecretTarget {
  namespace: string;
  secretName: string;
  disabledSecretName: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  environment?: string;
  ownerReference?: { name: string; uid: string };
}

/**
 * The deletion of a Secret this controller created, once the apply leaves it holding nothing: no
 * entry (enabled or disabled) of any SMC and no key of anyone else. An adopted Secret (created by
 * someone else) is only ever emptied.
 */
export function emptied(existing: V1Secret | undefined, ours: boolean, next: Next): Deletion | undefined {
  if (!existing || !ours) return undefined;
  if (next.data.size > 0 || next.owners.size > 0 || next.disabled.size > 0) return undefined;
  const { name, uid, resourceVersion } = existing.metadata ?? {};
  if (!name || !uid || !resourceVersion) return undefined;
  return { name, deleteAt: { uid, resourceVersion } };
}

/**
 * The main Secret as it should be written, or undefined when it needs no write. `disabledAfter`:
 * whether the disabled-values Secret exists once the apply is done (recorded on the Secret, so the
 * next read skips it when it does not).
 */
export function desiredMain(
  t: SecretTarget,
  snap: Snapshot,
  v: View,
  next: Next,
  owner: Owner,
  adopting: boolean,
  disabledAfter: boolean,
): V1Secret | undefined {
  const existing = snap.main;
  if (!existing && next.owners.size === 0) return undefined;
  if (existing && v.status === 'unmanaged' && !adopting) return undefined;
  const creating = !existing;
  const takingOver = creating || v.status === 'unmanaged';
  const primary = takingOver ? owner : v.primary;
  // Extra labels and annotations come from the spec of the Secret's own SMC, not from a co-owner's.
  const acting =
    primary !== undefined
      ? sameOwner(primary, owner)
      : [...next.owners.values()].every((o) => sameOwner(o, owner));

  const labels: Record<string, string> = { ...(existing?.metadata?.labels ?? {}) };
  if (acting) Object.assign(labels, t.labels ?? {});
  if (creating) labels['app.kubernetes.io/managed-by'] = MANAGED_BY;
  labels[KUBE_LABELS.managedBy] = MANAGED_BY;
  if (takingOver) Object.assign(labels, ownershipLabels(owner, t.environment));

  const annotations: Record<string, string> = { ...(existing?.metadata?.annotations ?? {}) };
  if (acting) Object.assign(annotations, t.annotations ?? {});
  annotations[KUBE_ANNOTATIONS.owners] = ownersAnnotation(next.owners);
  annotations[KUBE_ANNOTATIONS.disabledValues] = disabledAfter ? t.disabledSecretName : NO_DISABLED_VALUES;

  const refs = [...(existing?.metadata?.ownerReferences ?? [])];
  const ref = creating ? ownerRef(t, owner, refs) : undefined;
  if (ref) refs.push(ref);

  const unchanged =
    existing !== undefined &&
    sameMap(v.data, next.data, (a, b) => a === b) &&
    sameRecord(existing.metadata?.labels, labels) &&
    sameRecord(existing.metadata?.annotations, annotations);
  if (unchanged) return undefined;

  const body: V1Secret = existing
    ? structuredClone(existing)
    : { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: t.secretName } };
  body.metadata = { ...body.metadata, namespace: t.namespace, labels, annotations };
  if (refs.length > 0) body.metadata.ownerReferences = refs;
  delete body.metadata.managedFields;
  body.data = encodeData(next.data);
  return body;
}

/** The disabled-values Secret as it should be written, or undefined when it needs no write. */
export function desiredDisabled(
  t: SecretTarget,
  snap: Snapshot,
  v: View,
  next: Next,
  owner: Owner,
): V1Secret | undefined {
  const existing = snap.disabled;
  if (sameMap(v.disabledRaw, next.disabled, (a, b) => a === b)) {
    // Nothing changes — unless a foreign Secret of that name sits where a value must go.
    if (v.disabledStatus !== 'foreign' || next.disabled.size === 0) return undefined;
  }
  if (!existing && next.disabled.size === 0) return undefined;
  const refs = [...(existing?.metadata?.ownerReferences ?? [])];
  const ref = existing ? undefined : ownerRef(t, owner, refs);
  if (ref) refs.push(ref);
  const body: V1Secret = existing
    ? structuredClone(existing)
    : { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: t.disabledSecretName } };
  body.metadata = {
    ...body.metadata,
    namespace: t.namespace,
    labels: {
      ...(existing?.metadata?.labels ?? {}),
      [KUBE_LABELS.managedBy]: MANAGED_BY,
      [KUBE_LABELS.role]: DISABLED_ROLE,
    },
    annotations: {
      ...(existing?.metadata?.annotations ?? {}),
      [KUBE_ANNOTATIONS.disabledValuesOf]: t.secretName,
    },
  };
  if (refs.length > 0) body.metadata.ownerReferences = refs;
  delete body.metadata.managedFields;
  body.data = encodeData(next.disabled);
  return body;
}

export function ownerRef(
  t: SecretTarget,
  owner: Owner,
  existing: V1OwnerReference[],
): V1OwnerReference | undefined {
  const r = t.ownerReference;
  if (!r || r.name !== owner.name || owner.namespace !== t.namespace) return undefined;
  if (existing.some((e) => e.uid === r.uid)) return undefined;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: r.name,
    uid: r.uid,
    controller: !existing.some((e) => e.controller),
  };
}
