/**
 * How the Kubernetes Secret store lays its entries out (see `secret-store.ts`): the labels and the
 * owners annotation on the Secret, the disabled-values Secret beside it, and the pure helpers that
 * read the two Secrets as entries and encode them back. No API calls.
 */
import { createHash } from 'node:crypto';
import type { V1Secret } from '../../kube/client-node.js';
import { API_GROUP } from '../../api/constants.js';
import { utf8Bytes } from '../../naming/limits.js';
import { MANAGED_BY, OWNERSHIP_TAGS, ownerFromTags, ownershipTags } from '../ownership.js';
import type { Owner } from '../store.js';

/** The API server's limit on all annotations of one object together. */
export const K8S_ANNOTATIONS_MAX_BYTES = 256 * 1024;

/** Ownership labels on a Secret: the keys of `ownership.ts`, under our API group. */
export const KUBE_LABEL_PREFIX = `${API_GROUP}/`;
export const KUBE_LABELS = {
  managedBy: `${KUBE_LABEL_PREFIX}${OWNERSHIP_TAGS.managedBy}`,
  namespace: `${KUBE_LABEL_PREFIX}${OWNERSHIP_TAGS.namespace}`,
  name: `${KUBE_LABEL_PREFIX}${OWNERSHIP_TAGS.name}`,
  environment: `${KUBE_LABEL_PREFIX}${OWNERSHIP_TAGS.environment}`,
  /** `disabled-values` on the Secret that holds the values of disabled entries. */
  role: `${KUBE_LABEL_PREFIX}role`,
} as const;
export const KUBE_ANNOTATIONS = {
  /** `{"<namespace>/<name>": [keys…]}`: which SecretManagerConfig owns which key. Names only. */
  owners: `${KUBE_LABEL_PREFIX}owners`,
  /** On the disabled-values Secret: the Secret whose disabled entries it holds. */
  disabledValuesOf: `${KUBE_LABEL_PREFIX}disabled-values-of`,
  /**
   * On the Secret: the name of its disabled-values Secret when one may exist, `none` when none did
   * after the last write (so a read can skip it). Absent on Secrets written before it existed.
   */
  disabledValues: `${KUBE_LABEL_PREFIX}disabled-values`,
} as const;
/** `disabled-values` value of a Secret written when it had no disabled-values Secret. */
export const NO_DISABLED_VALUES = 'none';
export const DISABLED_ROLE = 'disabled-values';
export const DISABLED_SUFFIX = '-smc-disabled';
export const DEFAULT_FIELD_MANAGER = 'secret-manager-controller';

export interface Snapshot {
  main?: V1Secret;
  disabled?: V1Secret;
}

/** The state of the two Secrets as entries. */
export interface View {
  status: 'absent' | 'managed' | 'unmanaged';
  /** Owner named by the Secret's labels (who created or adopted it). */
  primary?: Owner;
  data: Map<string, string>;
  owners: Map<string, Owner>;
  /** Values of disabled entries: owned keys that are not in `data`. */
  disabled: Map<string, string>;
  /** Everything the disabled-values Secret holds (orphans included), to see whether it must be rewritten. */
  disabledRaw: Map<string, string>;
  disabledStatus: 'absent' | 'ours' | 'foreign';
}

export interface Next {
  data: Map<string, string>;
  owners: Map<string, Owner>;
  disabled: Map<string, string>;
}

/** A Secret to delete: the one read at `resourceVersion` (a precondition of the delete). */
export interface Deletion {
  deleteAt: { uid: string; resourceVersion: string };
  name: string;
}

export const ownerKey = (o: Owner) => `${o.namespace}/${o.name}`;

export function parseOwnerKey(s: string): Owner | undefined {
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) return undefined;
  return { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

export function decodeData(data: Record<string, string> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(data ?? {})) out.set(k, Buffer.from(v, 'base64').toString('utf8'));
  return out;
}

export function encodeData(data: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...data.keys()].sort()) out[k] = Buffer.from(data.get(k)!, 'utf8').toString('base64');
  return out;
}

export function sameMap<V>(a: Map<string, V>, b: Map<string, V>, eq: (x: V, y: V) => boolean): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !eq(v, w)) return false;
  }
  return true;
}

export function ownersAnnotation(owners: Map<string, Owner>): string {
  const byOwner = new Map<string, string[]>();
  for (const [key, o] of owners) {
    const k = ownerKey(o);
    byOwner.set(k, [...(byOwner.get(k) ?? []), key]);
  }
  const sorted: Record<string, string[]> = {};
  for (const k of [...byOwner.keys()].sort()) sorted[k] = byOwner.get(k)!.sort();
  return JSON.stringify(sorted);
}

/** `undefined` when the annotation is malformed (then no key counts as owned). */
export function parseOwners(text: string): Map<string, Owner> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const out = new Map<string, Owner>();
  for (const [k, keys] of Object.entries(parsed as Record<string, unknown>)) {
    const o = parseOwnerKey(k);
    if (!o || !Array.isArray(keys)) return undefined;
    for (const key of keys) {
      if (typeof key !== 'string') return undefined;
      out.set(key, o);
    }
  }
  return out;
}

/** Kubernetes label value syntax (empty allowed). */
export function isLabelValue(v: string): boolean {
  return v.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v);
}

/** The owner recorded in a Secret's labels (our prefixed keys), read with `ownerFromTags`. */
export function ownerFromLabels(labels: Record<string, string> | undefined): Owner | undefined {
  if (!labels) return undefined;
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(KUBE_LABEL_PREFIX)) tags[k.slice(KUBE_LABEL_PREFIX.length)] = v;
  }
  return ownerFromTags(tags);
}

/** Ownership labels for `owner` (a value that is no valid label value is left out; the owners annotation has it). */
export function ownershipLabels(owner: Owner, environment?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ownershipTags(owner, environment))) {
    if (isLabelValue(v)) out[`${KUBE_LABEL_PREFIX}${k}`] = v;
  }
  return out;
}

/** Name of the Secret holding disabled values: `<secretName>-smc-disabled`, shortened with a hash past 253. */
export function disabledSecretName(secretName: string): string {
  const full = `${secretName}${DISABLED_SUFFIX}`;
  if (full.length <= 253) return full;
  const hash = createHash('sha256').update(secretName).digest('hex').slice(0, 8);
  const head = secretName.slice(0, 253 - DISABLED_SUFFIX.length - hash.length - 1).replace(/[.-]+$/, '');
  return `${head}-${hash}${DISABLED_SUFFIX}`;
}

/**
 * Whether this controller created the Secret: it sets `app.kubernetes.io/managed-by` only when it
 * creates one, never when it adopts the keys of a Secret someone else made.
 */
export function createdByUs(secret: V1Secret | undefined): boolean {
  const labels = secret?.metadata?.labels ?? {};
  return (
    labels['app.kubernetes.io/managed-by'] === MANAGED_BY && labels[KUBE_LABELS.managedBy] === MANAGED_BY
  );
}

/**
 * Whether the disabled-values Secret beside `main` may exist, i.e. must be read: unless `main` is
 * ours and recorded at its last write that there was none. A Secret someone else made, one written
 * before the record existed, or no Secret at all (an orphan may be left) give no such promise.
 */
export function disabledMayExist(main: V1Secret | undefined): boolean {
  if (main?.metadata?.labels?.[KUBE_LABELS.managedBy] !== MANAGED_BY) return true;
  return main.metadata.annotations?.[KUBE_ANNOTATIONS.disabledValues] !== NO_DISABLED_VALUES;
}

export function dataBytes(data: Map<string, string>): number {
  let n = 0;
  for (const [k, v] of data) n += utf8Bytes(k) + utf8Bytes(v);
  return n;
}

export function annotationBytes(annotations: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(annotations)) n += utf8Bytes(k) + utf8Bytes(v);
  return n;
}

export function sameRecord(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => y[k] === x[k]);
}

/** The two Secrets as read → who owns which key, and which values are enabled or disabled. */
export function viewOf(snap: Snapshot): View {
  const v: View = {
    status: 'absent',
    data: new Map(),
    owners: new Map(),
    disabled: new Map(),
    disabledRaw: new Map(),
    disabledStatus: 'absent',
  };
  const dl = snap.disabled?.metadata?.labels ?? {};
  if (snap.disabled) {
    const ours = dl[KUBE_LABELS.managedBy] === MANAGED_BY && dl[KUBE_LABELS.role] === DISABLED_ROLE;
    v.disabledStatus = ours ? 'ours' : 'foreign';
    if (ours) v.disabledRaw = decodeData(snap.disabled.data);
  }
  const main = snap.main;
  if (!main) return v;
  const labels = main.metadata?.labels ?? {};
  v.data = decodeData(main.data);
  if (labels[KUBE_LABELS.managedBy] !== MANAGED_BY) {
    v.status = 'unmanaged';
    return v;
  }
  v.status = 'managed';
  v.primary = ownerFromLabels(labels);
  const text = main.metadata?.annotations?.[KUBE_ANNOTATIONS.owners];
  if (text !== undefined) {
    v.owners = parseOwners(text) ?? new Map();
  } else if (v.primary) {
    // Labelled but without the owners record (edited by hand): every key belongs to the labelled owner.
    for (const k of new Set([...v.data.keys(), ...v.disabledRaw.keys()])) v.owners.set(k, v.primary);
  }
  for (const [k, value] of v.disabledRaw) {
    if (v.owners.has(k) && !v.data.has(k)) v.disabled.set(k, value);
  }
  return v;
}
