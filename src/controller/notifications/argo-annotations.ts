/**
 * Argo CD notifications (`spec.notifications.argocd.subscriptions[]`): annotations on the Argo CD
 * Application the SMC's `sourceRef` names.
 *
 * - Subscriptions: `notifications.argoproj.io/subscribe.<trigger>.<service>: <channel>` (several
 *   channels for one trigger and service are joined with `;`, as Argo CD reads them). The keys each
 *   SMC added are recorded in the annotation `secret-management.octopilot.io/notification-subscriptions`
 *   (JSON: SMC `namespace/name` → keys), so a subscription that leaves the spec is removed again,
 *   and annotations the SMC did not add (or another SMC still wants) are left alone.
 * - Drift and failure: `secret-management.octopilot.io/drift: "<time>: <n> entries changed outside
 *   Git (<smc>)"` and `secret-management.octopilot.io/last-failure: "<time>: <reason> (<smc>)"`,
 *   value-free, for an Argo CD trigger to key on; `last-failure` is removed when the SMC syncs
 *   again, `drift` when a verification finds none.
 *
 * Merge patches only, guarded by `metadata.resourceVersion` (a concurrent change is re-read).
 */
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '../../kube/client-node.js';
import type { ArgoSubscription } from '../../api/index.js';
import { API_GROUP } from '../../api/index.js';
import { ARGO_GROUP, ARGO_VERSION } from '../../api/foreign-apis.js';
import type { Notice } from './notices.js';

export const ARGO_SUBSCRIBE_PREFIX = 'notifications.argoproj.io/subscribe.';
export const SUBSCRIPTIONS_ANNOTATION = `${API_GROUP}/notification-subscriptions`;
export const DRIFT_ANNOTATION = `${API_GROUP}/drift`;
export const FAILURE_ANNOTATION = `${API_GROUP}/last-failure`;

export type Annotations = Record<string, string>;
/** A merge patch of `metadata.annotations`: null removes a key. */
export type AnnotationPatch = Record<string, string | null>;

/** The subscription annotations a list of subscriptions asks for. */
export function subscriptionAnnotations(subs: readonly ArgoSubscription[]): Annotations {
  const channels = new Map<string, string[]>();
  for (const s of subs) {
    const key = `${ARGO_SUBSCRIBE_PREFIX}${s.trigger}.${s.service}`;
    const list = channels.get(key) ?? [];
    if (!list.includes(s.channel)) list.push(s.channel);
    channels.set(key, list);
  }
  return Object.fromEntries([...channels].map(([k, v]) => [k, v.join(';')]));
}

function tracked(annotations: Annotations): Record<string, string[]> {
  const raw = annotations[SUBSCRIPTIONS_ANNOTATION];
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, string[]> = {};
    for (const [smc, keys] of Object.entries(parsed as Record<string, unknown>))
      if (Array.isArray(keys)) out[smc] = keys.filter((k): k is string => typeof k === 'string');
    return out;
  } catch {
    return {};
  }
}

/**
 * The patch that makes the Application carry exactly the subscriptions `smc` wants (none when
 * `subs` is empty), or undefined when it already does.
 */
export function subscriptionPatch(
  current: Annotations,
  smc: string,
  subs: readonly ArgoSubscription[],
): AnnotationPatch | undefined {
  const desired = subscriptionAnnotations(subs);
  const byOwner = tracked(current);
  const mine = byOwner[smc] ?? [];
  const others = new Set(
    Object.entries(byOwner)
      .filter(([owner]) => owner !== smc)
      .flatMap(([, keys]) => keys),
  );
  const patch: AnnotationPatch = {};
  for (const [k, v] of Object.entries(desired)) if (current[k] !== v) patch[k] = v;
  for (const k of mine) if (!(k in desired) && !others.has(k) && k in current) patch[k] = null;
  const nextOwners = { ...byOwner };
  const keys = Object.keys(desired).sort();
  if (keys.length) nextOwners[smc] = keys;
  else delete nextOwners[smc];
  const nextTracking = Object.keys(nextOwners).length
    ? JSON.stringify(Object.fromEntries(Object.entries(nextOwners).sort(([a], [b]) => a.localeCompare(b))))
    : null;
  if ((current[SUBSCRIPTIONS_ANNOTATION] ?? null) !== nextTracking)
    patch[SUBSCRIPTIONS_ANNOTATION] = nextTracking;
  return Object.keys(patch).length ? patch : undefined;
}

/** The annotation a new notice sets. */
export function noticePatch(notice: Notice, smc: string, now: Date): AnnotationPatch {
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (notice.kind === 'drift') {
    const n = `${notice.entries} entr${notice.entries === 1 ? 'y' : 'ies'}`;
    return { [DRIFT_ANNOTATION]: `${time}: ${n} changed outside Git (${smc})` };
  }
  return { [FAILURE_ANNOTATION]: `${time}: ${notice.reason} (${smc})` };
}

/** Removes the annotation of a cleared condition, when it is this SMC's. */
export function clearedPatch(
  current: Annotations,
  kind: Notice['kind'],
  smc: string,
): AnnotationPatch | undefined {
  const key = kind === 'drift' ? DRIFT_ANNOTATION : FAILURE_ANNOTATION;
  const value = current[key];
  return value !== undefined && value.endsWith(`(${smc})`) ? { [key]: null } : undefined;
}

export interface ApplicationRef {
  namespace: string;
  name: string;
}

interface ApplicationObject {
  metadata?: { annotations?: Annotations; resourceVersion?: string };
}

/** Reads and merge-patches an Application's annotations. */
export class ArgoApplicationAnnotator {
  constructor(private readonly custom: CustomObjectsApi) {}

  /**
   * Re-read the Application and apply `change(annotations)` as one merge patch guarded by its
   * resourceVersion (retried on a conflict). Returns false when the Application does not exist.
   */
  async update(
    app: ApplicationRef,
    change: (current: Annotations) => AnnotationPatch | undefined,
  ): Promise<boolean> {
    const ref = { group: ARGO_GROUP, version: ARGO_VERSION, plural: 'applications', ...app };
    for (let attempt = 1; ; attempt++) {
      let obj: ApplicationObject;
      try {
        obj = (await this.custom.getNamespacedCustomObject(ref)) as ApplicationObject;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return false;
        throw new Error(
          `Argo CD Application ${app.namespace}/${app.name} could not be read (HTTP ${(e as { code?: number }).code ?? 'error'})`,
          { cause: e },
        );
      }
      const patch = change(obj.metadata?.annotations ?? {});
      if (!patch) return true;
      try {
        await this.custom.patchNamespacedCustomObject(
          {
            ...ref,
            body: { metadata: { resourceVersion: obj.metadata?.resourceVersion, annotations: patch } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return true;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404) return false;
        if (code === 409 && attempt < 5) continue;
        throw new Error(
          `Argo CD Application ${app.namespace}/${app.name} could not be annotated (HTTP ${code ?? 'error'})`,
          { cause: e },
        );
      }
    }
  }
}
