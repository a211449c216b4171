/**
 * The Kubernetes Secret store (`k8s`): every entry of a SecretManagerConfig is one key of one
 * Kubernetes Secret, so pods can mount the synced values (and hot-reload them from the files).
 *
 * Layout, all in the store's namespace:
 *
 * - **The Secret** `<secretName>`: `data` holds the *enabled* entries, exactly what pods see. It is
 *   labelled `secret-management.octopilot.io/managed-by=secret-manager-controller` plus the owning
 *   SMC (`…/smc-namespace`, `…/smc-name`, `…/environment`; read back with `ownerFromTags`), and the
 *   annotation `secret-management.octopilot.io/owners` records which SMC owns which key
 *   (`{"<namespace>/<name>": ["KEY", …]}`; key names only, never values). A key of the Secret that
 *   the annotation does not list (added by hand) is unowned: a `Conflict` unless adopted, never pruned.
 *   A Secret without the managed-by label (created by someone else) is left alone: its keys are
 *   unowned and nothing is written into it unless the same apply adopts one of its keys.
 * - **The disabled-values Secret** `<secretName>-smc-disabled`: the values of *disabled* entries, so
 *   re-enabling restores them while pods never see them. A separate Secret rather than an annotation:
 *   annotations are readable by anyone who may list or watch metadata (and `kubectl describe` shows
 *   them), and are limited to 256 KiB in all; a Secret has the same access control as the data. It is
 *   created only when something is disabled, and never mounted.
 *
 * Writes: read both Secrets, decide every action against that state, then write each Secret that
 * changes with one `create` or one `replace` carrying the `resourceVersion` it was read at
 * (optimistic concurrency). A `409` (someone else wrote in between) re-reads and decides again, up to
 * a bound, then fails as `Conflict`. An apply that changes nothing writes nothing; one that changes
 * only enabled entries writes once. Disabling or re-enabling moves a value between the two Secrets
 * (two writes), ordered so that a crash in between never loses a value: the disabled-values Secret is
 * written first when it gains a value, last when it only loses one; a value found in both is enabled.
 *
 * Least privilege: `get`, `create`, `update` and `delete` on `secrets` in the namespace; no `list`,
 * `watch` or `patch`. Pruning removes keys; a Secret this store created (label
 * `app.kubernetes.io/managed-by=secret-manager-controller`, set only on create) is deleted once it
 * holds nothing, by a delete whose preconditions are the uid and resourceVersion it was read at.
 * A Secret someone else created is only ever emptied.
 */
import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1OwnerReference, type V1Secret } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND } from '../../api/constants.js';
import { utf8Bytes } from '../../naming/limits.js';
import { nameProblem } from '../../naming/name.js';
import type { Action, ActionResult } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { passiveResult } from '../../plan/results.js';
import { MANAGED_BY, OWNERSHIP_TAGS, ownerFromTags, ownershipTags } from '../ownership.js';
import { ProviderError } from '../provider-error.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from '../retry.js';
import type { Owner, SecretStore, StoreLimits, StoreObserver, StoredEntry } from '../store.js';
import { kubeProviderError } from './errors.js';
import { K8S_LIMITS, K8S_SECRET_MAX_BYTES, k8sNaming } from './naming.js';

/** The API server's limit on all annotations of one object together. */
const K8S_ANNOTATIONS_MAX_BYTES = 256 * 1024;

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
} as const;
const DISABLED_ROLE = 'disabled-values';
const DISABLED_SUFFIX = '-smc-disabled';
export const DEFAULT_FIELD_MANAGER = 'secret-manager-controller';

export interface KubernetesSecretStoreOptions {
  /** Credentials and server (in the controller: in-cluster ServiceAccount; CLI: the kubeconfig). */
  kubeConfig: KubeConfig;
  namespace: string;
  /** `provider.kubernetes.secretName`, default the SecretManagerConfig's name. */
  secretName: string;
  /** `provider.kubernetes.labels`: added to the Secret (ownership labels win on a clash). */
  labels?: Record<string, string>;
  /** `provider.kubernetes.annotations`: added to the Secret. */
  annotations?: Record<string, string>;
  /** `secrets.environment`, recorded as a label. */
  environment?: string;
  /**
   * The owning SecretManagerConfig's uid, when known: a Secret this store *creates* for the owner of
   * that name in `namespace` gets an ownerReference to it, so Kubernetes garbage-collects the Secret
   * with the SMC. That deletes the Secret whatever the `deletionPolicy`, so set it only with
   * `deletionPolicy: Delete`.
   */
  ownerReference?: { name: string; uid: string };
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
  /** `fieldManager` of every write (shown in `managedFields`). */
  fieldManager?: string;
  /** Re-reads after a `409` before the apply fails as Conflict. Default 5. */
  maxConflictRetries?: number;
}

interface Snapshot {
  main?: V1Secret;
  disabled?: V1Secret;
}

/** The state of the two Secrets as entries. */
interface View {
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

interface Next {
  data: Map<string, string>;
  owners: Map<string, Owner>;
  disabled: Map<string, string>;
}

/** A Secret to delete: the one read at `resourceVersion` (a precondition of the delete). */
interface Deletion {
  deleteAt: { uid: string; resourceVersion: string };
  name: string;
}

interface Resolution {
  results: ActionResult[];
  /** Per result: which Secrets its change touches. */
  touches: { main: boolean; disabled: boolean }[];
  main?: V1Secret | Deletion;
  disabled?: V1Secret | Deletion;
  /** Write the disabled-values Secret before the main one (it gains a value). */
  disabledFirst: boolean;
}

const ownerKey = (o: Owner) => `${o.namespace}/${o.name}`;

function parseOwnerKey(s: string): Owner | undefined {
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) return undefined;
  return { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

function decodeData(data: Record<string, string> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(data ?? {})) out.set(k, Buffer.from(v, 'base64').toString('utf8'));
  return out;
}

function encodeData(data: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...data.keys()].sort()) out[k] = Buffer.from(data.get(k)!, 'utf8').toString('base64');
  return out;
}

function sameMap<V>(a: Map<string, V>, b: Map<string, V>, eq: (x: V, y: V) => boolean): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !eq(v, w)) return false;
  }
  return true;
}

function ownersAnnotation(owners: Map<string, Owner>): string {
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
function parseOwners(text: string): Map<string, Owner> | undefined {
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
function isLabelValue(v: string): boolean {
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
function createdByUs(secret: V1Secret | undefined): boolean {
  const labels = secret?.metadata?.labels ?? {};
  return (
    labels['app.kubernetes.io/managed-by'] === MANAGED_BY && labels[KUBE_LABELS.managedBy] === MANAGED_BY
  );
}

function dataBytes(data: Map<string, string>): number {
  let n = 0;
  for (const [k, v] of data) n += utf8Bytes(k) + utf8Bytes(v);
  return n;
}

function annotationBytes(annotations: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(annotations)) n += utf8Bytes(k) + utf8Bytes(v);
  return n;
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => y[k] === x[k]);
}

export class KubernetesSecretStore implements SecretStore {
  readonly type = 'k8s';
  readonly target: string;
  readonly naming = k8sNaming;
  readonly limits: StoreLimits = K8S_LIMITS;
  readonly namespace: string;
  readonly secretName: string;
  readonly disabledSecretName: string;
  private readonly api: CoreV1Api;
  private readonly opts: KubernetesSecretStoreOptions;
  private readonly policy: RetryPolicy;
  private readonly fieldManager: string;
  /** The state `read` saw, used (once) by the next `apply` instead of reading again. */
  private cached?: Snapshot;

  constructor(options: KubernetesSecretStoreOptions) {
    this.opts = options;
    this.namespace = options.namespace;
    this.secretName = options.secretName;
    this.disabledSecretName = disabledSecretName(options.secretName);
    this.target = `${options.namespace}/${options.secretName}`;
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.fieldManager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
  }

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    const snap = await this.load();
    this.cached = snap;
    const v = this.view(snap);
    const wanted = new Set(names);
    const out = new Map<string, StoredEntry>();
    for (const [key, o] of v.owners) {
      if (!sameOwner(o, owner) && !wanted.has(key)) continue;
      const enabled = v.data.has(key);
      const value = enabled ? v.data.get(key) : v.disabled.get(key);
      if (value === undefined) continue; // owned but held nowhere: gone (the plan re-creates it)
      out.set(key, { storeName: key, value, enabled, owner: { ...o }, kind: 'secret' });
    }
    for (const key of wanted) {
      if (out.has(key) || !v.data.has(key)) continue;
      out.set(key, { storeName: key, value: v.data.get(key), enabled: true });
    }
    return [...out.values()].sort((a, b) => (a.storeName < b.storeName ? -1 : 1));
  }

  async apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]> {
    if (!actions.some((a) => a.type !== 'noop' && a.type !== 'conflict')) {
      this.cached = undefined;
      return actions.map((a) => passiveResult(a));
    }
    const maxAttempts = (this.opts.maxConflictRetries ?? 5) + 1;
    const wroteBefore = actions.map(() => false);
    for (let attempt = 1; ; attempt++) {
      let snap: Snapshot;
      try {
        snap = attempt === 1 && this.cached ? this.cached : await this.load();
      } catch (e) {
        this.cached = undefined;
        const message = this.errorMessage(e);
        return actions.map((action, i) =>
          action.type === 'noop' || action.type === 'conflict'
            ? passiveResult(action)
            : { action, ok: false, message, wrote: wroteBefore[i]! },
        );
      }
      this.cached = undefined;
      const res = this.resolve(snap, owner, actions);
      const results = res.results.map((r, i) => (wroteBefore[i] && r.ok ? { ...r, wrote: true } : r));
      const order: ('main' | 'disabled')[] = res.disabledFirst ? ['disabled', 'main'] : ['main', 'disabled'];
      const done = { main: res.main === undefined, disabled: res.disabled === undefined };
      try {
        for (const which of order) {
          const body = which === 'main' ? res.main : res.disabled;
          if (body === undefined) continue;
          const existing = which === 'main' ? snap.main : snap.disabled;
          if ('deleteAt' in body) await this.remove(body);
          else await this.write(body, existing !== undefined);
          done[which] = true;
        }
        return results;
      } catch (e) {
        results.forEach((r, i) => {
          const t = res.touches[i]!;
          if (r.wrote && (!t.main || done.main) && (!t.disabled || done.disabled)) wroteBefore[i] = true;
        });
        const conflict = e instanceof ProviderError && e.reason === 'Conflict';
        if (conflict && attempt < maxAttempts) continue;
        const message = conflict
          ? `Secret ${this.target} kept changing while being written (${attempt} attempts); retry later`
          : this.errorMessage(e);
        return results.map((r, i) => {
          const t = res.touches[i]!;
          const failed = (t.main && !done.main) || (t.disabled && !done.disabled);
          return failed ? { action: r.action, ok: false, message, wrote: wroteBefore[i]! } : r;
        });
      }
    }
  }

  // ---- deciding (pure) ----

  private view(snap: Snapshot): View {
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

  private resolve(snap: Snapshot, owner: Owner, actions: readonly Action[]): Resolution {
    const v = this.view(snap);
    const next: Next = { data: new Map(v.data), owners: new Map(v.owners), disabled: new Map(v.disabled) };
    const results: ActionResult[] = [];
    const touches: Resolution['touches'] = [];
    // A Secret someone else made is written only when this apply adopts one of its keys.
    const adopting =
      v.status === 'unmanaged' && actions.some((a) => a.type === 'update' && v.data.has(a.storeName));
    const obj = this.target;

    for (const action of actions) {
      const name = action.storeName;
      const fail = (message: string) => {
        results.push({ action, ok: false, message, wrote: false });
        touches.push({ main: false, disabled: false });
      };
      if (action.type === 'noop' || action.type === 'conflict') {
        results.push(passiveResult(action));
        touches.push({ main: false, disabled: false });
        continue;
      }
      const problem = nameProblem(k8sNaming, name);
      if (problem !== undefined) {
        fail(`"${name}" is not a valid Secret key: ${problem}`);
        continue;
      }
      if (v.status === 'unmanaged' && !adopting) {
        fail(
          `Secret ${obj} exists and was not created by secret-manager-controller (no ${KUBE_LABELS.managedBy} label); ` +
            `not written. Adopt its keys (annotation secret-management.octopilot.io/adopt: "true") or use another secretName`,
        );
        continue;
      }
      const o = next.owners.get(name);
      if (o !== undefined && !sameOwner(o, owner)) {
        fail(`"${name}" in Secret ${obj} is owned by SecretManagerConfig ${ownerKey(o)}`);
        continue;
      }
      const before = { data: next.data.get(name), disabled: next.disabled.get(name), owned: o !== undefined };
      const put = (value: string, enabled: boolean) => {
        next.owners.set(name, { namespace: owner.namespace, name: owner.name });
        if (enabled) {
          next.data.set(name, value);
          next.disabled.delete(name);
        } else {
          next.disabled.set(name, value);
          next.data.delete(name);
        }
      };

      if (action.type === 'create' || action.type === 'update') {
        if (action.value === undefined) {
          fail(`${action.type} of "${name}" carries no value`);
          continue;
        }
        if (o === undefined && before.data !== undefined && action.type === 'create') {
          fail(`"${name}" already exists in Secret ${obj} and is not managed by secret-manager-controller`);
          continue;
        }
        put(action.value, action.enabled ?? (o !== undefined ? before.data !== undefined : true));
      } else if (action.type === 'enable' || action.type === 'disable') {
        const value = (action.type === 'enable' ? action.value : undefined) ?? before.disabled ?? before.data;
        if (o === undefined || value === undefined) {
          fail(`"${name}" is not an entry of ours in Secret ${obj}`);
          continue;
        }
        put(value, action.type === 'enable');
      } else if (action.type === 'prune') {
        if (o === undefined) {
          results.push({ action, ok: true, wrote: false });
          touches.push({ main: false, disabled: false });
          continue;
        }
        if (action.deletion === 'Delete') {
          next.data.delete(name);
          next.disabled.delete(name);
          next.owners.delete(name);
        } else if (action.deletion === 'Disable') {
          const value = before.data ?? before.disabled;
          if (value === undefined) next.owners.delete(name);
          else put(value, false);
        } else {
          fail(`prune of "${name}" has no deletion (Disable or Delete)`);
          continue;
        }
      } else {
        fail(`unknown action type for "${name}"`);
        continue;
      }
      const after = { data: next.data.get(name), disabled: next.disabled.get(name) };
      const mainTouched = after.data !== before.data || next.owners.has(name) !== before.owned;
      const disabledTouched = after.disabled !== before.disabled;
      results.push({ action, ok: true, wrote: mainTouched || disabledTouched });
      touches.push({ main: mainTouched, disabled: disabledTouched });
    }

    const res: Resolution = { results, touches, disabledFirst: false };
    const mainBody = this.desiredMain(snap, v, next, owner, adopting);
    const disabledBody = this.desiredDisabled(snap, v, next, owner);
    res.main = this.emptied(snap.main, v.status === 'managed' && createdByUs(snap.main), next) ?? mainBody;
    res.disabled = this.emptied(snap.disabled, v.disabledStatus === 'ours', next) ?? disabledBody;
    res.disabledFirst = [...next.disabled].some(([k, val]) => v.disabledRaw.get(k) !== val);

    const problems: { which: 'main' | 'disabled'; message: string }[] = [];
    if (mainBody) {
      const bytes = dataBytes(next.data);
      if (bytes > K8S_SECRET_MAX_BYTES) {
        problems.push({
          which: 'main',
          message: `Secret ${obj} would hold ${bytes} bytes of keys and values, over the Kubernetes limit of ${K8S_SECRET_MAX_BYTES}; not written`,
        });
      }
      const ann = annotationBytes(mainBody.metadata?.annotations ?? {});
      if (ann > K8S_ANNOTATIONS_MAX_BYTES) {
        problems.push({
          which: 'main',
          message: `Secret ${obj} would carry ${ann} bytes of annotations (key ownership records), over the Kubernetes limit of ${K8S_ANNOTATIONS_MAX_BYTES}; not written`,
        });
      }
    }
    if (disabledBody) {
      const bytes = dataBytes(next.disabled);
      if (bytes > K8S_SECRET_MAX_BYTES) {
        problems.push({
          which: 'disabled',
          message: `Secret ${this.namespace}/${this.disabledSecretName} (disabled values) would hold ${bytes} bytes, over the Kubernetes limit of ${K8S_SECRET_MAX_BYTES}; not written`,
        });
      }
      if (v.disabledStatus === 'foreign') {
        problems.push({
          which: 'disabled',
          message: `Secret ${this.namespace}/${this.disabledSecretName}, where disabled values are kept, exists and was not created by secret-manager-controller; not written`,
        });
      }
    }
    if (problems.length > 0) {
      // One object per Secret: if either cannot be written, nothing is.
      const message = problems.map((p) => p.message).join('; ');
      res.results = results.map((r, i) => {
        const t = touches[i]!;
        return t.main || t.disabled ? { action: r.action, ok: false, message, wrote: false } : r;
      });
      res.main = undefined;
      res.disabled = undefined;
    }
    return res;
  }

  /**
   * The deletion of a Secret this controller created, once the apply leaves it holding nothing: no
   * entry (enabled or disabled) of any SMC and no key of anyone else. An adopted Secret (created by
   * someone else) is only ever emptied.
   */
  private emptied(existing: V1Secret | undefined, ours: boolean, next: Next): Deletion | undefined {
    if (!existing || !ours) return undefined;
    if (next.data.size > 0 || next.owners.size > 0 || next.disabled.size > 0) return undefined;
    const { name, uid, resourceVersion } = existing.metadata ?? {};
    if (!name || !uid || !resourceVersion) return undefined;
    return { name, deleteAt: { uid, resourceVersion } };
  }

  /** The main Secret as it should be written, or undefined when it needs no write. */
  private desiredMain(
    snap: Snapshot,
    v: View,
    next: Next,
    owner: Owner,
    adopting: boolean,
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
    if (acting) Object.assign(labels, this.opts.labels ?? {});
    if (creating) labels['app.kubernetes.io/managed-by'] = MANAGED_BY;
    labels[KUBE_LABELS.managedBy] = MANAGED_BY;
    if (takingOver) Object.assign(labels, ownershipLabels(owner, this.opts.environment));

    const annotations: Record<string, string> = { ...(existing?.metadata?.annotations ?? {}) };
    if (acting) Object.assign(annotations, this.opts.annotations ?? {});
    annotations[KUBE_ANNOTATIONS.owners] = ownersAnnotation(next.owners);

    const refs = [...(existing?.metadata?.ownerReferences ?? [])];
    const ref = creating ? this.ownerRef(owner, refs) : undefined;
    if (ref) refs.push(ref);

    const unchanged =
      existing !== undefined &&
      sameMap(v.data, next.data, (a, b) => a === b) &&
      sameRecord(existing.metadata?.labels, labels) &&
      sameRecord(existing.metadata?.annotations, annotations);
    if (unchanged) return undefined;

    const body: V1Secret = existing
      ? structuredClone(existing)
      : { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: this.secretName } };
    body.metadata = { ...body.metadata, namespace: this.namespace, labels, annotations };
    if (refs.length > 0) body.metadata.ownerReferences = refs;
    delete body.metadata.managedFields;
    body.data = encodeData(next.data);
    return body;
  }

  /** The disabled-values Secret as it should be written, or undefined when it needs no write. */
  private desiredDisabled(snap: Snapshot, v: View, next: Next, owner: Owner): V1Secret | undefined {
    const existing = snap.disabled;
    if (sameMap(v.disabledRaw, next.disabled, (a, b) => a === b)) {
      // Nothing changes — unless a foreign Secret of that name sits where a value must go.
      if (v.disabledStatus !== 'foreign' || next.disabled.size === 0) return undefined;
    }
    if (!existing && next.disabled.size === 0) return undefined;
    const refs = [...(existing?.metadata?.ownerReferences ?? [])];
    const ref = existing ? undefined : this.ownerRef(owner, refs);
    if (ref) refs.push(ref);
    const body: V1Secret = existing
      ? structuredClone(existing)
      : { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: this.disabledSecretName } };
    body.metadata = {
      ...body.metadata,
      namespace: this.namespace,
      labels: {
        ...(existing?.metadata?.labels ?? {}),
        [KUBE_LABELS.managedBy]: MANAGED_BY,
        [KUBE_LABELS.role]: DISABLED_ROLE,
      },
      annotations: {
        ...(existing?.metadata?.annotations ?? {}),
        [KUBE_ANNOTATIONS.disabledValuesOf]: this.secretName,
      },
    };
    if (refs.length > 0) body.metadata.ownerReferences = refs;
    delete body.metadata.managedFields;
    body.data = encodeData(next.disabled);
    return body;
  }

  private ownerRef(owner: Owner, existing: V1OwnerReference[]): V1OwnerReference | undefined {
    const r = this.opts.ownerReference;
    if (!r || r.name !== owner.name || owner.namespace !== this.namespace) return undefined;
    if (existing.some((e) => e.uid === r.uid)) return undefined;
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      name: r.name,
      uid: r.uid,
      controller: !existing.some((e) => e.controller),
    };
  }

  // ---- calling the API server ----

  private async load(): Promise<Snapshot> {
    const [main, disabled] = await Promise.all([
      this.get(this.secretName),
      this.get(this.disabledSecretName),
    ]);
    return { main, disabled };
  }

  private async get(name: string): Promise<V1Secret | undefined> {
    const object = `${this.namespace}/${name}`;
    return this.call('ReadSecret', false, object, async () => {
      try {
        return await this.api.readNamespacedSecret({ name, namespace: this.namespace });
      } catch (e) {
        if (kubeProviderError(e, 'read', object).reason === 'NotFound') return undefined; // absent is an answer
        throw e;
      }
    });
  }

  private async write(body: V1Secret, exists: boolean): Promise<void> {
    const name = body.metadata!.name!;
    const object = `${this.namespace}/${name}`;
    const fieldManager = this.fieldManager;
    if (exists) {
      await this.call('ReplaceSecret', true, object, () =>
        this.api.replaceNamespacedSecret({ name, namespace: this.namespace, body, fieldManager }),
      );
    } else {
      await this.call('CreateSecret', true, object, () =>
        this.api.createNamespacedSecret({ namespace: this.namespace, body, fieldManager }),
      );
    }
  }

  /** Deletes a Secret unless it changed since it was read (a `409` then re-reads and re-decides). */
  private async remove(d: Deletion): Promise<void> {
    const object = `${this.namespace}/${d.name}`;
    await this.call('DeleteSecret', true, object, async () => {
      try {
        await this.api.deleteNamespacedSecret({
          name: d.name,
          namespace: this.namespace,
          body: { preconditions: d.deleteAt },
        });
      } catch (e) {
        if (kubeProviderError(e, 'delete', object).reason === 'NotFound') return; // already gone
        throw e;
      }
    });
  }

  /**
   * One API request per attempt, each reported to the observer; throttling and server errors are
   * retried by the shared policy. A `409` is not retried here: `apply` reads again and re-decides.
   */
  private call<T>(operation: string, write: boolean, object: string, fn: () => Promise<T>): Promise<T> {
    const verb = operation.replace(/Secret$/, '').toLowerCase();
    const observer = this.opts.observer;
    return withRetry(
      async () => {
        const t0 = performance.now();
        try {
          const out = await fn();
          observer?.onCall?.({ operation, write, result: 'ok', durationMs: performance.now() - t0 });
          return out;
        } catch (e) {
          const error = kubeProviderError(e, verb, object);
          observer?.onCall?.({
            operation,
            write,
            result: 'error',
            reason: error.reason,
            durationMs: performance.now() - t0,
          });
          throw error;
        }
      },
      {
        policy: this.policy,
        classify: (e) => kubeProviderError(e, verb, object),
        onRetry: ({ error }) => {
          if (error.reason === 'Throttled') observer?.onThrottled?.();
        },
      },
    );
  }

  private errorMessage(e: unknown): string {
    return kubeProviderError(e, 'access', this.target).message;
  }
}
