/**
 * `msmctl check [--pre]`. With --pre: can this cluster run the controller (server version, the
 * CRD API, Flux / Argo CD CRDs, permission to install)? Without: is the installed controller
 * healthy (CRD installed, Established and equal to this msmctl's, Deployment available, which
 * SecretManagerConfigs are not Ready)? One line per check: ok / warn / fail; exit 1 on any fail.
 */
import type { Command } from 'commander';
import { API_VERSION, CRD_NAME, DEFAULT_SETTINGS_CONFIGMAP } from '../../api/index.js';
import { leaseNameFor } from '../../controller/runtime/leader-election.js';
import { VERSION } from '../../version.js';
import {
  addKubeOptions,
  apiErrorMessage,
  apiStatus,
  CliExit,
  connect,
  EXIT_NOT_READY,
  failWith,
  type KubeContext,
  type KubeOptions,
} from '../kube.js';
import { PACKAGE_CONFIG_DIR, renderKustomization, type Manifest } from '../manifests.js';
import { type OutputFormat, formatAge, formatStructured, outputOption, writeLines } from '../output.js';
import { listSmcs, readyOf, condition } from '../smc-api.js';

export type CheckResult = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  result: CheckResult;
  message: string;
}

/** CRD validation rules (x-kubernetes-validations with reason/fieldPath) are GA from 1.29. */
export const MIN_KUBERNETES = { major: 1, minor: 29 };

interface CheckOptions extends KubeOptions {
  pre?: boolean;
  from?: string;
  output: OutputFormat;
}

export function registerCheck(program: Command): void {
  addKubeOptions(
    program
      .command('check')
      .description('check the cluster: --pre before installing, otherwise the installed controller'),
    { namespaceHelp: "the controller's namespace (default: secret-manager-controller-system)" },
  )
    .option('--pre', 'can this cluster run the controller, and may you install it?')
    .option('--from <dir>', "kustomize base it was installed from (default: this package's config/)")
    .addOption(outputOption())
    .action(async (opts: CheckOptions) => {
      const output = opts.output;
      const objects = await renderKustomization(opts.from ?? PACKAGE_CONFIG_DIR, {
        namespace: opts.namespace,
      });
      const k = connect(opts);
      // Unreachable or refusing us: one clear error (exit 2) rather than every check failing.
      await k.raw.request('GET', '/version').catch((e: unknown) => failWith(e, `API server ${k.server}`));
      const checks = opts.pre ? await preChecks(k, objects) : await healthChecks(k, objects, opts.from);
      if (output === 'table') {
        const width = Math.max(...checks.map((c) => c.name.length));
        writeLines(
          process.stdout,
          checks.map((c) => `${c.result.padEnd(4)}  ${c.name.padEnd(width)}  ${c.message}`),
        );
      } else {
        process.stdout.write(formatStructured({ checks }, output) + '\n');
      }
      const failed = checks.filter((c) => c.result === 'fail').length;
      if (failed) throw new CliExit(EXIT_NOT_READY, `${failed} check(s) failed`);
    });
}

// ---------------------------------------------------------------------------------------------
// --pre

async function preChecks(k: KubeContext, objects: readonly Manifest[]): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push(await serverVersion(k));
  checks.push(await crdApi(k));
  checks.push(
    await crdsPresent(
      k,
      'flux-sources',
      'source.toolkit.fluxcd.io',
      ['v1'],
      ['gitrepositories', 'ocirepositories', 'buckets'],
      'Flux source-controller',
      'sourceRef kinds GitRepository, OCIRepository and Bucket will not work',
    ),
  );
  checks.push(
    await crdsPresent(
      k,
      'argo-cd',
      'argoproj.io',
      ['v1alpha1'],
      ['applications'],
      'Argo CD',
      'sourceRef kind Application will not work',
    ),
  );
  checks.push(await installPermissions(k, objects));
  return checks;
}

async function serverVersion(k: KubeContext): Promise<Check> {
  const name = 'server-version';
  try {
    const v = await k.raw.request<{ gitVersion?: string; major?: string; minor?: string }>('GET', '/version');
    const major = Number.parseInt(v.major ?? '', 10);
    const minor = Number.parseInt(v.minor ?? '', 10);
    const shown = v.gitVersion ?? `${v.major}.${v.minor}`;
    if (Number.isNaN(major) || Number.isNaN(minor)) {
      return {
        name,
        result: 'warn',
        message: `${shown}: cannot tell the version (need ≥ ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor})`,
      };
    }
    const ok =
      major > MIN_KUBERNETES.major || (major === MIN_KUBERNETES.major && minor >= MIN_KUBERNETES.minor);
    return ok
      ? { name, result: 'ok', message: `Kubernetes ${shown}` }
      : {
          name,
          result: 'fail',
          message: `Kubernetes ${shown} is too old: the CRD's validation rules need ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor} or later`,
        };
  } catch (e) {
    return { name, result: 'fail', message: `cannot reach ${k.server}: ${apiErrorMessage(e)}` };
  }
}

async function crdApi(k: KubeContext): Promise<Check> {
  const name = 'crd-api';
  const resource = await k.raw
    .resourceOf('apiextensions.k8s.io/v1', 'CustomResourceDefinition')
    .catch(() => undefined);
  return resource
    ? { name, result: 'ok', message: 'apiextensions.k8s.io/v1 CustomResourceDefinition is served' }
    : { name, result: 'fail', message: 'apiextensions.k8s.io/v1 CustomResourceDefinition is not served' };
}

async function crdsPresent(
  k: KubeContext,
  name: string,
  group: string,
  versions: string[],
  plurals: string[],
  product: string,
  consequence: string,
): Promise<Check> {
  /** plural → the first version serving it. */
  const found = new Map<string, string>();
  for (const version of versions) {
    try {
      const list = await k.raw.request<{ resources?: { name: string }[] }>(
        'GET',
        `/apis/${group}/${version}`,
      );
      for (const r of list.resources ?? [])
        if (plurals.includes(r.name) && !found.has(r.name)) found.set(r.name, version);
    } catch (e) {
      if (apiStatus(e) !== 404)
        return { name, result: 'warn', message: `cannot discover ${group}: ${apiErrorMessage(e)}` };
    }
  }
  const missing = plurals.filter((p) => !found.has(p));
  if (missing.length === 0) {
    const list = plurals.map((p) => `${p}.${group}/${found.get(p)}`).join(', ');
    return { name, result: 'ok', message: `${product} CRDs found: ${list}` };
  }
  return {
    name,
    result: 'warn',
    message: `${product} CRDs not found (${missing.map((p) => `${p}.${group}`).join(', ')}): ${consequence}`,
  };
}

/** SelfSubjectAccessReview of create and patch (server-side apply) for every object install applies. */
async function installPermissions(k: KubeContext, objects: readonly Manifest[]): Promise<Check> {
  const name = 'install-permissions';
  const denied: string[] = [];
  try {
    for (const obj of objects) {
      const resource = await k.raw.resourceOf(obj.apiVersion, obj.kind).catch(() => undefined);
      if (!resource) {
        denied.push(`${obj.kind} (API ${obj.apiVersion} not served)`);
        continue;
      }
      const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0]! : '';
      for (const verb of ['create', 'patch']) {
        const review = await k.raw.request<{ status?: { allowed?: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  verb,
                  group,
                  resource: resource.name,
                  name: verb === 'patch' ? obj.metadata.name : undefined,
                  namespace: resource.namespaced ? obj.metadata.namespace : undefined,
                },
              },
            },
          },
        );
        if (!review.status?.allowed) {
          const where = resource.namespaced ? ` in ${obj.metadata.namespace}` : '';
          denied.push(`${verb} ${resource.name}${group ? `.${group}` : ''}${where}`);
        }
      }
    }
  } catch (e) {
    return { name, result: 'fail', message: `cannot review permissions: ${apiErrorMessage(e)}` };
  }
  return denied.length
    ? { name, result: 'fail', message: `not allowed to install: ${[...new Set(denied)].join(', ')}` }
    : { name, result: 'ok', message: `may create and patch all ${objects.length} objects of msmctl install` };
}

// ---------------------------------------------------------------------------------------------
// health

async function healthChecks(
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
