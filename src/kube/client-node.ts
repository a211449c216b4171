/**
 * The one door to `@kubernetes/client-node` for the controller, the stores and workload reload:
 * everything they use of it, loaded without the rest.
 *
 * Why: the package's entry (and its KubeConfig module) loads every API group and model of
 * Kubernetes — ~870 modules, 16 MB of source that V8 keeps — and that was the largest part of the
 * controller's idle memory (docs/performance.md, "Memory"). Here KubeConfig comes through
 * ./slim-config.ts, the API clients through ./api-clients.ts, and the rest by deep imports of the
 * package's own modules (it has no `exports` map, so they resolve; test/kube/client-node-layout.test.ts
 * fails with a clear message when the layout changes). Types come from the package's entry, which
 * costs nothing at run time.
 *
 * Import client-node values through this module only (eslint's no-restricted-imports says so);
 * test/kube/slim-load.test.ts checks that the controller loads none of the generated API groups.
 * msmctl's cluster commands (src/cli/) use the whole package and may.
 */
export { KubeConfig } from './slim-config.js';
export { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi } from './api-clients.js';
export { ListWatch } from '@kubernetes/client-node/dist/cache.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export { setHeaderMiddleware, setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
export { ResponseContext, wrapHttpLibrary } from '@kubernetes/client-node/dist/gen/http/http.js';
export { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
export { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
export { Watch } from '@kubernetes/client-node/dist/watch.js';
export type {
  ApiConstructor,
  ApiType,
  CoreV1Event,
  HttpLibrary,
  RequestContext,
  KubernetesListObject,
  KubernetesObject,
  V1ConfigMap,
  V1Lease,
  V1OwnerReference,
  V1Secret,
} from '@kubernetes/client-node';
