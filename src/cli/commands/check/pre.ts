/**
 * `msmctl check --pre`: can this cluster run the controller — a Kubernetes version with CRD
 * validation rules, the CRD API, Flux and Argo CD CRDs (a warning when absent), and permission to
 * create and patch every object `msmctl install` applies.
 */
import { apiErrorMessage, apiStatus, type KubeContext } from '../../kube.js';
import type { Manifest } from '../../manifests.js';
import type { Check } from '../check.js';

/** CRD validation rules (x-kubernetes-validations with reason/fieldPath) are GA from 1.29. */
export const MIN_KUBERNETES = { major: 1, minor: 29 };

export async function preChecks(k: KubeContext, objects: readonly Manifest[]): Promise<Check[]> {
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
