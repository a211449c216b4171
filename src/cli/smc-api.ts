/**
 * SecretManagerConfig objects as the cluster commands see them: get, list, merge-patch, and the
 * one-line summaries (ready, source, provider) that list and status print. Never touches values:
 * an SMC holds none.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION_NAME, PLURAL, type Condition } from '../api/index.js';
import type { SmcObject } from '../api/smc-object.js';
import { apiStatus, CliExit, EXIT_NOT_FOUND, failWith, type KubeContext } from './kube.js';

export type { SmcObject };

const ref = (namespace: string, name: string) => ({
  group: API_GROUP,
  version: API_VERSION_NAME,
  plural: PLURAL,
  namespace,
  name,
});

export const smcLabel = (namespace: string, name: string) => `secretmanagerconfig ${namespace}/${name}`;

export const NOT_SERVED = `the API ${API_GROUP}/${API_VERSION_NAME} is not served: is the SecretManagerConfig CRD installed? (msmctl install)`;

/**
 * A 404 for the resource itself (no CRD), not for one object: the apiserver's Status then names no
 * object (`details.name`), only "the server could not find the requested resource".
 */
function apiNotServed(e: unknown): boolean {
  if (apiStatus(e) !== 404) return false;
  const body: unknown = (e as { body?: unknown }).body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { details?: { name?: string } };
    return !parsed?.details?.name;
  } catch {
    return true; // not the apiserver's Status: not our API answering
  }
}

/** failWith, except that an unserved API is said as such (exit 3, docs/cli.md). */
function failSmc(e: unknown, what: string): never {
  if (apiNotServed(e)) throw new CliExit(EXIT_NOT_FOUND, NOT_SERVED);
  failWith(e, what);
}

export async function getSmc(k: KubeContext, name: string): Promise<SmcObject> {
  try {
    return (await k.custom.getNamespacedCustomObject(ref(k.namespace, name))) as SmcObject;
  } catch (e) {
    failSmc(e, smcLabel(k.namespace, name));
  }
}

/** All SMCs of the namespace (or of every namespace with -A), sorted by namespace and name. */
export async function listSmcs(k: KubeContext): Promise<SmcObject[]> {
  let items: SmcObject[];
  try {
    const list = (
      k.allNamespaces
        ? await k.custom.listClusterCustomObject({
            group: API_GROUP,
            version: API_VERSION_NAME,
            plural: PLURAL,
          })
        : await k.custom.listNamespacedCustomObject({
            group: API_GROUP,
            version: API_VERSION_NAME,
            plural: PLURAL,
            namespace: k.namespace,
          })
    ) as { items: SmcObject[] };
    items = list.items;
  } catch (e) {
    if (apiStatus(e) === 404) throw new CliExit(EXIT_NOT_FOUND, NOT_SERVED);
    failWith(e, k.allNamespaces ? 'secretmanagerconfigs' : `secretmanagerconfigs in ${k.namespace}`);
  }
  return items.sort(
    (a, b) =>
      a.metadata.namespace.localeCompare(b.metadata.namespace) ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** JSON merge patch of the object (spec or metadata; status is the controller's). */
export async function patchSmc(
  k: KubeContext,
  name: string,
  patch: Record<string, unknown>,
): Promise<SmcObject> {
  try {
    return (await k.custom.patchNamespacedCustomObject(
      { ...ref(k.namespace, name), body: patch, fieldManager: 'msmctl' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as SmcObject;
  } catch (e) {
    failSmc(e, smcLabel(k.namespace, name));
  }
}

export function condition(smc: SmcObject, type: string): Condition | undefined {
  return smc.status?.conditions?.find((c) => c.type === type);
}

/** `True`, `False`, `Unknown`, or `-` before the controller has written the condition. */
export function readyOf(smc: SmcObject): string {
  return condition(smc, 'Ready')?.status ?? '-';
}

/** `GitRepository/flux-system/apps` (namespace shown only when it is not the SMC's). */
export function sourceOf(smc: SmcObject): string {
  const s = smc.spec?.sourceRef ?? {};
  const ns = s.namespace && s.namespace !== smc.metadata.namespace ? `${s.namespace}/` : '';
  return `${s.kind ?? 'GitRepository'}/${ns}${s.name ?? '?'}`;
}

/** `gcp:my-project`, `aws:eu-west-1`, `azure:https://v.vault.azure.net/`, `kubernetes:app-secrets`. */
export function providerOf(smc: SmcObject): string {
  const p = smc.spec?.provider ?? {};
  if (p.gcp)
    return `gcp:${String(p.gcp.projectId ?? '?')}${p.gcp.location ? `/${String(p.gcp.location)}` : ''}`;
  if (p.aws) return `aws:${String(p.aws.region ?? '?')}`;
  if (p.azure) return `azure:${String(p.azure.vaultUrl ?? p.azure.vaultName ?? '?')}`;
  if (p.kubernetes) return `kubernetes:${String(p.kubernetes.secretName ?? smc.metadata.name)}`;
  return '-';
}
