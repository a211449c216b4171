/**
 * `msmctl check` without --pre: is the installed controller healthy — the CRD installed, Established
 * and equal to this msmctl's, the Deployment available and why its pods are not, who holds the
 * leader Lease, and which SecretManagerConfigs are not Ready.
 */
import { API_VERSION, CRD_NAME, DEFAULT_SETTINGS_CONFIGMAP } from '../../../api/index.js';
import { leaseNameFor } from '../../../controller/runtime/leader-election.js';
import { VERSION } from '../../../version.js';
import { apiErrorMessage, apiStatus, type KubeContext } from '../../kube.js';
import type { Manifest } from '../../manifests.js';
import { formatAge } from '../../output.js';
import { condition, listSmcs, readyOf } from '../../smc-api.js';
import type { Check } from '../check.js';

export async function healthChecks(
  k: KubeContext,
  objects: readonly Manifest[],
  from: string | undefined,
): Promise<Check[]> {
  const checks: Check[] = [];
  const crd = await crdCheck(k, objects, from);
  checks.push(crd);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  if (deployment) {
    checks.push(await deploymentCheck(k, deployment));
    checks.push(await podsCheck(k, deployment));
    checks.push(await leaderCheck(k, deployment));
  }
  if (crd.result !== 'fail') checks.push(await smcCheck(k));
  return checks;
}

/** The parts of a CRD spec that define the API (the apiserver defaults other fields). */
function crdEssence(spec: Record<string, unknown>): string {
  const versions = ((spec.versions ?? []) as Record<string, unknown>[]).map((v) => ({
    name: v.name,
    served: v.served,
    storage: v.storage,
    schema: v.schema,
    subresources: v.subresources ?? null,
    additionalPrinterColumns: v.additionalPrinterColumns ?? null,
  }));
  return JSON.stringify({ group: spec.group, scope: spec.scope, names: spec.names, versions }, sortedKeys);
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function crdCheck(
  k: KubeContext,
  objects: readonly Manifest[],
  from: string | undefined,
): Promise<Check> {
  const expected = from ? `the CRD in ${from}` : `msmctl ${VERSION}'s CRD (${API_VERSION})`;
  const fix = from ? `msmctl install --from ${from}` : 'msmctl install';
  const name = 'crd';
  const wanted = objects.find((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === CRD_NAME);
  let live: Manifest & {
    spec?: Record<string, unknown>;
    status?: { conditions?: { type: string; status: string; message?: string }[] };
  };
  try {
    live = await k.raw.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`);
  } catch (e) {
    return apiStatus(e) === 404
      ? { name, result: 'fail', message: `${CRD_NAME} is not installed: run msmctl install` }
      : { name, result: 'fail', message: `cannot read ${CRD_NAME}: ${apiErrorMessage(e)}` };
  }
  const established = live.status?.conditions?.find((c) => c.type === 'Established');
  if (established?.status !== 'True') {
    return {
      name,
      result: 'fail',
      message: `${CRD_NAME} is not Established${established?.message ? `: ${established.message}` : ''}`,
    };
  }
  if (
    wanted &&
    crdEssence(live.spec ?? {}) !== crdEssence((wanted as { spec?: Record<string, unknown> }).spec ?? {})
  ) {
    return {
      name,
      result: 'fail',
      message: `${CRD_NAME} differs from ${expected}: run ${fix} to update it`,
    };
  }
  return { name, result: 'ok', message: `${CRD_NAME} is Established and matches ${expected}` };
}

interface DeploymentView {
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } };
  status?: {
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

async function deploymentCheck(k: KubeContext, wanted: Manifest): Promise<Check> {
  const name = 'deployment';
  const ns = wanted.metadata.namespace ?? k.namespace;
  const ref = `deployment ${ns}/${wanted.metadata.name}`;
  let d: DeploymentView;
  try {
    d = await k.raw.request('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${wanted.metadata.name}`);
  } catch (e) {
    return apiStatus(e) === 404
      ? {
          name,
          result: 'fail',
          message: `${ref} not found: run msmctl install (or pass -n with the controller's namespace)`,
        }
      : { name, result: 'fail', message: `cannot read ${ref}: ${apiErrorMessage(e)}` };
  }
  const want = d.spec?.replicas ?? 1;
  const available = d.status?.availableReplicas ?? 0;
  const cond = d.status?.conditions?.find((c) => c.type === 'Available');
  const image = d.spec?.template?.spec?.containers?.[0]?.image ?? '?';
  if (cond?.status === 'True' && available > 0) {
    return { name, result: 'ok', message: `${ref}: ${available}/${want} available (image ${image})` };
  }
  return {
    name,
    result: 'fail',
    message: `${ref}: ${available}/${want} available${cond ? ` (${cond.reason ?? 'Available=' + cond.status}${cond.message ? `: ${cond.message}` : ''})` : ''}`,
  };
}

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready?: boolean;
      restartCount?: number;
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { reason?: string; exitCode?: number };
      };
    }[];
  };
}

/** `manager: ImagePullBackOff (message)`, `Running`, … — what `kubectl get pods` STATUS would say, and why. */
function podState(p: PodView): { ready: boolean; state: string } {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (p.metadata.deletionTimestamp) return { ready: false, state: 'Terminating' };
  for (const c of p.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason) {
      const restarts = c.restartCount ? `, ${c.restartCount} restart(s)` : '';
      return { ready: false, state: `${w.reason}${w.message ? ` (${w.message})` : ''}${restarts}` };
    }
    const t = c.state?.terminated;
    if (t) return { ready: false, state: `${t.reason ?? 'Terminated'} (exit ${t.exitCode ?? '?'})` };
  }
  const phase = p.status?.reason ?? p.status?.phase ?? 'Unknown';
  return { ready, state: ready ? phase : `${phase}, not ready` };
}

/** The Deployment's pods and the state of each: why it is not available (ImagePullBackOff, …). */
async function podsCheck(k: KubeContext, wanted: Manifest): Promise<Check> {
  const name = 'pods';
  const ns = wanted.metadata.namespace ?? k.namespace;
  const match = ((wanted.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)
    ?.selector?.matchLabels ?? {}) as Record<string, string>;
  const selector = Object.entries(match)
    .map(([key, v]) => `${key}=${v}`)
    .join(',');
  let pods: PodView[];
  try {
    pods = (
      await k.raw.request<{ items: PodView[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: selector },
      })
    ).items;
  } catch (e) {
    return { name, result: 'warn', message: `cannot list the pods in ${ns}: ${apiErrorMessage(e)}` };
  }
  if (pods.length === 0)
    return { name, result: 'fail', message: `no controller pod in ${ns} (selector ${selector})` };
  const states = pods
    .map((p) => ({ name: p.metadata.name, ...podState(p) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const text = states.map((p) => `${p.name} ${p.state}`).join('; ');
  const ready = states.filter((p) => p.ready).length;
  return {
    name,
    result: ready === states.length ? 'ok' : 'fail',
    message: `${ready}/${states.length} ready: ${text}`,
  };
}

/** Who holds the leader-election Lease, and whether it is being renewed. */
async function leaderCheck(k: KubeContext, wanted: Manifest, now = Date.now()): Promise<Check> {
  const name = 'leader';
  const ns = wanted.metadata.namespace ?? k.namespace;
  const container = (
    wanted.spec as { template?: { spec?: { containers?: { args?: string[] }[] } } } | undefined
  )?.template?.spec?.containers?.[0];
  if (!(container?.args ?? []).includes('--leader-elect'))
    return { name, result: 'ok', message: 'leader election is off (no --leader-elect)' };
  const shard = await k.raw
    .request<{ data?: Record<string, string> }>(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps/${DEFAULT_SETTINGS_CONFIGMAP}`,
    )
    .then((cm) => cm.data?.shard_key?.trim() ?? '')
    .catch(() => '');
  let lease: string;
  try {
    lease = leaseNameFor(shard);
  } catch (e) {
    return { name, result: 'fail', message: (e as Error).message };
  }
  const ref = `lease ${ns}/${lease}`;
  let l: { spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } };
  try {
    l = await k.raw.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${lease}`);
  } catch (e) {
    return apiStatus(e) === 404
      ? { name, result: 'warn', message: `${ref} not found: no replica has led yet` }
      : { name, result: 'warn', message: `cannot read ${ref}: ${apiErrorMessage(e)}` };
  }
  const holder = l.spec?.holderIdentity;
  if (!holder) return { name, result: 'warn', message: `${ref}: not held (released)` };
  const renewed = l.spec?.renewTime ? Date.parse(l.spec.renewTime) : NaN;
  const duration = (l.spec?.leaseDurationSeconds ?? 15) * 1000;
  if (Number.isNaN(renewed))
    return { name, result: 'warn', message: `${ref}: held by ${holder}, never renewed` };
  const ago = formatAge(new Date(renewed).toISOString(), new Date(now));
  if (now - renewed > duration)
    return { name, result: 'warn', message: `${ref}: held by ${holder}, expired (last renewed ${ago} ago)` };
  return { name, result: 'ok', message: `${ref}: held by ${holder} (renewed ${ago} ago)` };
}

async function smcCheck(k: KubeContext): Promise<Check> {
  const name = 'secretmanagerconfigs';
  try {
    const smcs = await listSmcs({ ...k, allNamespaces: true });
    const notReady = smcs.filter((s) => readyOf(s) !== 'True');
    if (smcs.length === 0) return { name, result: 'ok', message: 'none yet' };
    if (notReady.length === 0) return { name, result: 'ok', message: `all ${smcs.length} Ready` };
    const list = notReady
      .map(
        (s) =>
          `${s.metadata.namespace}/${s.metadata.name} (${condition(s, 'Ready')?.reason ?? 'not reconciled yet'})`,
      )
      .join(', ');
    return { name, result: 'warn', message: `${notReady.length} of ${smcs.length} not Ready: ${list}` };
  } catch (e) {
    return {
      name,
      result: 'warn',
      message: `cannot list SecretManagerConfigs: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
