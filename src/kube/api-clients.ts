/**
 * The Kubernetes API clients the project calls — CoreV1Api, CustomObjectsApi, CoordinationV1Api,
 * AppsV1Api — restricted to the methods it uses, built on client-node's generated request factory
 * and response processor of each group (`gen/apis/<Group>Api.js`) alone.
 *
 * Why: client-node's own `CoreV1Api` (the object-parameter API) lives in one module with every API
 * group of Kubernetes (`gen/types/ObjectParamAPI.js` → `ObservableAPI.js` → every `gen/apis/*`),
 * ~15 MB of source that V8 keeps in memory (docs/performance.md, "Memory"). What that layer adds per
 * call is generic — merge the call's options into the configuration, build the request, run the
 * middleware, send, run the middleware back, process the response — and is done here once (`send`).
 * The one thing per method is the order of its positional parameters, in the tables below; each
 * table is checked against client-node's own object-parameter API by
 * test/kube/client-node-layout.test.ts, and the types are client-node's (`Pick` of its classes),
 * so a call site reads exactly as with client-node's classes.
 */
import type {
  AppsV1Api as FullAppsV1Api,
  CoordinationV1Api as FullCoordinationV1Api,
  CoreV1Api as FullCoreV1Api,
  CustomObjectsApi as FullCustomObjectsApi,
} from '@kubernetes/client-node';
import {
  AppsV1ApiRequestFactory,
  AppsV1ApiResponseProcessor,
} from '@kubernetes/client-node/dist/gen/apis/AppsV1Api.js';
import {
  CoordinationV1ApiRequestFactory,
  CoordinationV1ApiResponseProcessor,
} from '@kubernetes/client-node/dist/gen/apis/CoordinationV1Api.js';
import {
  CoreV1ApiRequestFactory,
  CoreV1ApiResponseProcessor,
} from '@kubernetes/client-node/dist/gen/apis/CoreV1Api.js';
import {
  CustomObjectsApiRequestFactory,
  CustomObjectsApiResponseProcessor,
} from '@kubernetes/client-node/dist/gen/apis/CustomObjectsApi.js';
import {
  type Configuration,
  type ConfigurationOptions,
  mergeConfiguration,
} from '@kubernetes/client-node/dist/gen/configuration.js';
import type { RequestContext, ResponseContext } from '@kubernetes/client-node/dist/gen/http/http.js';

/** For each method of `Api` listed: the names of its request's fields, in positional order. */
type ParameterOrder<Api> = {
  readonly [M in keyof Api]?: Api[M] extends (param: infer P, ...rest: never[]) => unknown
    ? readonly (keyof NonNullable<P> & string)[]
    : never;
};

/** A generated `<Group>ApiRequestFactory` / `…ResponseProcessor`, seen by method name. */
type RequestFactory = Record<string, (...args: unknown[]) => Promise<RequestContext>>;
type ResponseProcessor = Record<string, (response: ResponseContext) => Promise<{ data: unknown }>>;

interface Generated {
  readonly configuration: Configuration;
  readonly factory: RequestFactory;
  readonly processor: ResponseProcessor;
}

/** One call, as client-node's ObservableAPI makes it (middleware `pre` in order, `post` reversed). */
async function send(
  api: Generated,
  method: string,
  order: readonly string[],
  param: Record<string, unknown>,
  options: ConfigurationOptions | undefined,
): Promise<unknown> {
  const config = mergeConfiguration(api.configuration, options);
  let request = await api.factory[method]!(...order.map((name) => param[name]), config);
  for (const middleware of config.middleware) request = await middleware.pre(request).toPromise();
  let response = await config.httpApi.send(request).toPromise();
  for (const middleware of [...config.middleware].reverse()) {
    response = await middleware.post(response).toPromise();
  }
  return (await api.processor[`${method}WithHttpInfo`]!(response)).data;
}

/** A class with one method per entry of `orders`, each taking client-node's request object. */
function apiClass<Api>(
  Factory: new (configuration: Configuration) => object,
  Processor: new () => object,
  orders: Record<string, readonly string[]>,
): new (configuration: Configuration) => Api {
  class Client implements Generated {
    readonly factory: RequestFactory;
    readonly processor = new Processor() as ResponseProcessor;
    constructor(readonly configuration: Configuration) {
      this.factory = new Factory(configuration) as RequestFactory;
    }
  }
  for (const [method, order] of Object.entries(orders)) {
    Object.defineProperty(Client.prototype, method, {
      value(this: Client, param: Record<string, unknown> = {}, options?: ConfigurationOptions) {
        return send(this, method, order, param, options);
      },
    });
  }
  return Client as unknown as new (configuration: Configuration) => Api;
}

const LIST = [
  'pretty',
  'allowWatchBookmarks',
  '_continue',
  'fieldSelector',
  'labelSelector',
  'limit',
  'resourceVersion',
  'resourceVersionMatch',
  'sendInitialEvents',
  'shardSelector',
  'timeoutSeconds',
  'watch',
] as const;
const WRITE = ['pretty', 'dryRun', 'fieldManager', 'fieldValidation'] as const;

export const CORE_V1_PARAMETERS = {
  readNamespacedSecret: ['name', 'namespace', 'pretty'],
  listNamespacedSecret: ['namespace', ...LIST],
  createNamespacedSecret: ['namespace', 'body', ...WRITE],
  replaceNamespacedSecret: ['name', 'namespace', 'body', ...WRITE],
  deleteNamespacedSecret: [
    'name',
    'namespace',
    'pretty',
    'dryRun',
    'gracePeriodSeconds',
    'ignoreStoreReadErrorWithClusterBreakingPotential',
    'orphanDependents',
    'propagationPolicy',
    'body',
  ],
  readNamespacedConfigMap: ['name', 'namespace', 'pretty'],
  listNamespacedConfigMap: ['namespace', ...LIST],
  createNamespacedEvent: ['namespace', 'body', ...WRITE],
  patchNamespacedEvent: ['name', 'namespace', 'body', ...WRITE, 'force'],
  listNamespacedPod: ['namespace', ...LIST],
  createNamespacedPodEviction: [
    'name',
    'namespace',
    'body',
    'dryRun',
    'fieldManager',
    'fieldValidation',
    'pretty',
  ],
} as const satisfies ParameterOrder<FullCoreV1Api>;

const CUSTOM_OBJECT = ['group', 'version', 'namespace', 'plural', 'name'] as const;
const CUSTOM_WRITE = ['dryRun', 'fieldManager', 'fieldValidation'] as const;
const CUSTOM_LIST = [
  'pretty',
  'allowWatchBookmarks',
  '_continue',
  'fieldSelector',
  'labelSelector',
  'limit',
  'resourceVersion',
  'resourceVersionMatch',
  'timeoutSeconds',
  'watch',
] as const;

export const CUSTOM_OBJECTS_PARAMETERS = {
  getAPIResources: ['group', 'version'],
  getNamespacedCustomObject: CUSTOM_OBJECT,
  listNamespacedCustomObject: ['group', 'version', 'namespace', 'plural', ...CUSTOM_LIST],
  listClusterCustomObject: ['group', 'version', 'plural', ...CUSTOM_LIST],
  replaceNamespacedCustomObject: [...CUSTOM_OBJECT, 'body', ...CUSTOM_WRITE],
  patchNamespacedCustomObject: [...CUSTOM_OBJECT, 'body', ...CUSTOM_WRITE, 'force'],
  patchNamespacedCustomObjectStatus: [...CUSTOM_OBJECT, 'body', ...CUSTOM_WRITE, 'force'],
} as const satisfies ParameterOrder<FullCustomObjectsApi>;

export const COORDINATION_V1_PARAMETERS = {
  readNamespacedLease: ['name', 'namespace', 'pretty'],
  createNamespacedLease: ['namespace', 'body', ...WRITE],
  replaceNamespacedLease: ['name', 'namespace', 'body', ...WRITE],
} as const satisfies ParameterOrder<FullCoordinationV1Api>;

export const APPS_V1_PARAMETERS = {
  listNamespacedDeployment: ['namespace', ...LIST],
  listNamespacedStatefulSet: ['namespace', ...LIST],
  listNamespacedDaemonSet: ['namespace', ...LIST],
  patchNamespacedDeployment: ['name', 'namespace', 'body', ...WRITE, 'force'],
  patchNamespacedStatefulSet: ['name', 'namespace', 'body', ...WRITE, 'force'],
  patchNamespacedDaemonSet: ['name', 'namespace', 'body', ...WRITE, 'force'],
} as const satisfies ParameterOrder<FullAppsV1Api>;

export type CoreV1Api = Pick<FullCoreV1Api, keyof typeof CORE_V1_PARAMETERS>;
export const CoreV1Api = apiClass<CoreV1Api>(
  CoreV1ApiRequestFactory,
  CoreV1ApiResponseProcessor,
  CORE_V1_PARAMETERS,
);

export type CustomObjectsApi = Pick<FullCustomObjectsApi, keyof typeof CUSTOM_OBJECTS_PARAMETERS>;
export const CustomObjectsApi = apiClass<CustomObjectsApi>(
  CustomObjectsApiRequestFactory,
  CustomObjectsApiResponseProcessor,
  CUSTOM_OBJECTS_PARAMETERS,
);

export type CoordinationV1Api = Pick<FullCoordinationV1Api, keyof typeof COORDINATION_V1_PARAMETERS>;
export const CoordinationV1Api = apiClass<CoordinationV1Api>(
  CoordinationV1ApiRequestFactory,
  CoordinationV1ApiResponseProcessor,
  COORDINATION_V1_PARAMETERS,
);

export type AppsV1Api = Pick<FullAppsV1Api, keyof typeof APPS_V1_PARAMETERS>;
export const AppsV1Api = apiClass<AppsV1Api>(
  AppsV1ApiRequestFactory,
  AppsV1ApiResponseProcessor,
  APPS_V1_PARAMETERS,
);
