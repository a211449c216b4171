/**
 * Which version of the Flux source API to watch (docs/operations.md): `source.toolkit.fluxcd.io/v1` when the
 * API server serves the kind there, else `v1beta2` (older Flux installations), found through API
 * discovery (`/apis/source.toolkit.fluxcd.io/<version>`). When neither serves it (Flux is not
 * installed), `v1` is watched as an optional resource and simply stays empty.
 */
import { CustomObjectsApi, type KubeConfig } from '../../kube/client-node.js';
import { FLUX_SOURCE_GROUP } from '../../api/foreign-apis.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceType } from '../runtime/informers.js';

/** Preferred first. */
export const FLUX_SOURCE_VERSIONS = ['v1', 'v1beta2'] as const;

export const FLUX_SOURCE_RESOURCES = [
  { plural: 'gitrepositories', kind: 'GitRepository' },
  { plural: 'ocirepositories', kind: 'OCIRepository' },
  { plural: 'buckets', kind: 'Bucket' },
] as const;

/** Resources served per version (version → plurals); a version that is not served is absent. */
export type ServedResources = ReadonlyMap<string, ReadonlySet<string>>;

/** The first of `FLUX_SOURCE_VERSIONS` that serves `plural`; `v1` when none does. */
export function chooseFluxVersion(served: ServedResources, plural: string): string {
  for (const v of FLUX_SOURCE_VERSIONS) if (served.get(v)?.has(plural)) return v;
  return FLUX_SOURCE_VERSIONS[0];
}

/** The ResourceTypes to watch for the Flux sources, given what is served. */
export function fluxSourceTypes(served: ServedResources): ResourceType[] {
  return FLUX_SOURCE_RESOURCES.map((r) => ({
    group: FLUX_SOURCE_GROUP,
    version: chooseFluxVersion(served, r.plural),
    plural: r.plural,
    kind: r.kind,
  }));
}

/** Ask the API server which Flux source resources each version serves (404: not served). */
export async function discoverFluxSources(kubeConfig: KubeConfig, logger: Logger): Promise<ServedResources> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const served = new Map<string, Set<string>>();
  for (const version of FLUX_SOURCE_VERSIONS) {
    try {
      const list = await api.getAPIResources({ group: FLUX_SOURCE_GROUP, version });
      served.set(version, new Set(list.resources.map((r) => r.name)));
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== 404) {
        logger.warn(
          { group: FLUX_SOURCE_GROUP, version, code },
          'Flux API discovery failed; assuming not served',
        );
      }
    }
    // v1 serving everything: no need to look further.
    if (FLUX_SOURCE_RESOURCES.every((r) => served.get(version)?.has(r.plural))) break;
  }
  return served;
}
