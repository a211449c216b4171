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
 * Reads: the Secret, then the disabled-values Secret unless the Secret records (annotation
 * `secret-management.octopilot.io/disabled-values: none`, set at each write) that there was none:
 * one request per read for an SMC with no disabled entry.
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
import { CoreV1Api, type KubeConfig, type V1Secret } from '../../kube/client-node.js';
import type { Action, ActionResult } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { passiveResult } from '../../plan/results.js';
import { applyActions } from '../apply.js';
import { type HeldEntry, entryMapHandlers, refusalMessage } from '../entry-map.js';
import { ProviderError } from '../provider-error.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry.js';
import type { Owner, SecretStore, StoreLimits, StoreObserver, StoredEntry } from '../store.js';
import { kubeProviderError } from './errors.js';
import { SecretCalls } from './secret-calls.js';
import { K8S_LIMITS, K8S_SECRET_MAX_BYTES, k8sNaming } from './naming.js';
import { type SecretTarget, desiredDisabled, desiredMain, emptied } from './secret-bodies.js';
import {
  DEFAULT_FIELD_MANAGER,
  K8S_ANNOTATIONS_MAX_BYTES,
  KUBE_LABELS,
  type Deletion,
  type Next,
  type Snapshot,
  annotationBytes,
  createdByUs,
  dataBytes,
  disabledMayExist,
  disabledSecretName,
  ownerKey,
  viewOf,
} from './secret-layout.js';

export {
  DEFAULT_FIELD_MANAGER,
  KUBE_ANNOTATIONS,
  KUBE_LABELS,
  KUBE_LABEL_PREFIX,
  disabledSecretName,
  ownerFromLabels,
  ownershipLabels,
} from './secret-layout.js';

/** The API server's limit on all annotations of one object together. */
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

interface Resolution {
  results: ActionResult[];
  /** Per result: which Secrets its change touches. */
  touches: { main: boolean; disabled: boolean }[];
  main?: V1Secret | Deletion;
  disabled?: V1Secret | Deletion;
  /** Write the disabled-values Secret before the main one (it gains a value). */
  disabledFirst: boolean;
}

/**
 * `namespace/name` of the disabled-values Secrets this process found at its last read of them: a
 * hint that decides whether a read fetches both Secrets at once (a store is built per reconcile).
 */
const DISABLED_SEEN = new Set<string>();

export class KubernetesSecretStore implements SecretStore {
  readonly type = 'k8s';
  readonly target: string;
  readonly naming = k8sNaming;
  readonly limits: StoreLimits = K8S_LIMITS;
  readonly namespace: string;
  readonly secretName: string;
  readonly disabledSecretName: string;
  /** The API requests (secret-calls.ts). */
  private readonly calls: SecretCalls;
  private readonly maxConflictRetries: number;
  /** What the Secret bodies are built for (secret-bodies.ts). */
  private readonly bodies: SecretTarget;
  /** The state `read` saw, used (once) by the next `apply` instead of reading again. */
  private cached?: Snapshot;

  constructor(options: KubernetesSecretStoreOptions) {
    this.namespace = options.namespace;
    this.secretName = options.secretName;
    this.disabledSecretName = disabledSecretName(options.secretName);
    this.target = `${options.namespace}/${options.secretName}`;
    this.maxConflictRetries = options.maxConflictRetries ?? 5;
    this.calls = new SecretCalls({
      api: options.kubeConfig.makeApiClient(CoreV1Api),
      namespace: options.namespace,
      fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER,
      policy: options.retryPolicy ?? DEFAULT_RETRY_POLICY,
      ...(options.observer ? { observer: options.observer } : {}),
    });
    const { labels, annotations, environment, ownerReference } = options;
    this.bodies = {
      namespace: this.namespace,
      secretName: this.secretName,
      disabledSecretName: this.disabledSecretName,
      labels,
      annotations,
      environment,
      ownerReference,
    };
  }

  async read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]> {
    const snap = await this.load();
    this.cached = snap;
    const v = viewOf(snap);
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
    const maxAttempts = this.maxConflictRetries + 1;
    const wroteBefore = actions.map(() => false);
    for (let attempt = 1; ; attempt++) {
      let snap: Snapshot;
      try {
        // After a conflict both Secrets are read whatever the record says (it may be what changed).
        snap = attempt === 1 && this.cached ? this.cached : await this.load(attempt > 1);
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
      const res = await this.resolve(snap, owner, actions);
      const results = res.results.map((r, i) => (wroteBefore[i] && r.ok ? { ...r, wrote: true } : r));
      const order: ('main' | 'disabled')[] = res.disabledFirst ? ['disabled', 'main'] : ['main', 'disabled'];
      const done = { main: res.main === undefined, disabled: res.disabled === undefined };
      try {
        for (const which of order) {
          const body = which === 'main' ? res.main : res.disabled;
          if (body === undefined) continue;
          const existing = which === 'main' ? snap.main : snap.disabled;
          if ('deleteAt' in body) await this.calls.remove(body);
          else await this.calls.write(body, existing !== undefined);
          done[which] = true;
          if (which === 'disabled') {
            const id = `${this.namespace}/${this.disabledSecretName}`;
            if ('deleteAt' in body) DISABLED_SEEN.delete(id);
            else DISABLED_SEEN.add(id);
          }
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

  private async resolve(snap: Snapshot, owner: Owner, actions: readonly Action[]): Promise<Resolution> {
    const v = viewOf(snap);
    // Every key as an entry: unowned keys of the Secret, and owned ones (enabled or disabled).
    const held = new Map<string, HeldEntry>();
    for (const [k, value] of v.data) held.set(k, { value, enabled: true, owner: v.owners.get(k) });
    for (const [k, o] of v.owners)
      if (!v.data.has(k)) held.set(k, { value: v.disabled.get(k), enabled: false, owner: o });
    const read = new Map(held);
    // A Secret someone else made is written only when this apply adopts one of its keys.
    const adopting =
      v.status === 'unmanaged' && actions.some((a) => a.type === 'update' && v.data.has(a.storeName));
    const obj = this.target;
    const applied = await applyActions(actions, {
      naming: k8sNaming,
      nameKind: 'Secret key',
      refuse: () =>
        v.status === 'unmanaged' && !adopting
          ? `Secret ${obj} exists and was not created by secret-manager-controller (no ${KUBE_LABELS.managedBy} label); ` +
            `not written. Adopt its keys (annotation secret-management.octopilot.io/adopt: "true") or use another secretName`
          : undefined,
      handlers: entryMapHandlers(held, owner, {
        where: `in Secret ${obj}`,
        changes: (a, b) =>
          a?.value !== b?.value || a?.enabled !== b?.enabled || ownerKeyOf(a) !== ownerKeyOf(b),
      }),
      failure: (e) => refusalMessage(e) ?? this.errorMessage(e),
    });
    const next: Next = { data: new Map(), owners: new Map(), disabled: new Map() };
    for (const [k, e] of held) {
      // An owned entry left without a value (pruned or disabled so) is no longer recorded.
      if (e.owner && (e.value !== undefined || read.get(k) === e)) next.owners.set(k, e.owner);
      if (e.value === undefined) continue;
      if (e.enabled) next.data.set(k, e.value);
      else if (e.owner) next.disabled.set(k, e.value);
    }
    const touches = applied.map(({ action: { storeName: n }, ok }) => ({
      main: ok && (v.data.get(n) !== next.data.get(n) || v.owners.has(n) !== next.owners.has(n)),
      disabled: ok && v.disabled.get(n) !== next.disabled.get(n),
    }));
    const results = applied.map((r, i) =>
      r.ok && r.action.type !== 'noop' && r.action.type !== 'conflict'
        ? { ...r, wrote: touches[i]!.main || touches[i]!.disabled }
        : r,
    );

    const res: Resolution = { results, touches, disabledFirst: false };
    const disabledBody = desiredDisabled(this.bodies, snap, v, next, owner);
    res.disabled = emptied(snap.disabled, v.disabledStatus === 'ours', next) ?? disabledBody;
    const disabledAfter =
      res.disabled !== undefined ? !('deleteAt' in res.disabled) : snap.disabled !== undefined;
    const mainBody = desiredMain(this.bodies, snap, v, next, owner, adopting, disabledAfter);
    res.main = emptied(snap.main, v.status === 'managed' && createdByUs(snap.main), next) ?? mainBody;
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

  // ---- calling the API server ----

  /**
   * The Secret, then its disabled-values Secret unless the Secret records that there is none
   * (`disabledMayExist`; `both`: read it anyway). A record that turns out wrong (someone created that
   * Secret since) makes the create of it fail with 409, and the retry reads both. Where this process
   * last found a disabled-values Secret, both are read at once (one round trip, not two in a row).
   */
  private async load(both = false): Promise<Snapshot> {
    const id = `${this.namespace}/${this.disabledSecretName}`;
    let snap: Snapshot;
    if (both || DISABLED_SEEN.has(id)) {
      const [main, disabled] = await Promise.all([
        this.calls.get(this.secretName),
        this.calls.get(this.disabledSecretName),
      ]);
      snap = { main, disabled };
    } else {
      const main = await this.calls.get(this.secretName);
      snap = {
        main,
        disabled: disabledMayExist(main) ? await this.calls.get(this.disabledSecretName) : undefined,
      };
    }
    if (snap.disabled) DISABLED_SEEN.add(id);
    else DISABLED_SEEN.delete(id);
    return snap;
  }

  private errorMessage(e: unknown): string {
    return kubeProviderError(e, 'access', this.target).message;
  }
}

function ownerKeyOf(e: HeldEntry | undefined): string | undefined {
  return e?.owner ? ownerKey(e.owner) : undefined;
}
