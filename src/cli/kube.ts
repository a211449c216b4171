/**
 * Cluster access for msmctl's cluster commands: the kubeconfig / context / namespace options, the
 * API clients built from them, exit codes, and API errors turned into one-line messages.
 */
import {
  ApiException,
  CustomObjectsApi,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { Command } from 'commander';
import { EXIT_ERROR } from './commands/common.js';

/**
 * Exit codes of the cluster commands (and `diff`): 0 ok; 1 not ready, failed or (diff) differences;
 * 2 bad input, usage or an API error; 3 not found; 4 timed out waiting.
 */
export const EXIT_NOT_READY = 1;
export const EXIT_NOT_FOUND = 3;
export const EXIT_TIMEOUT = 4;

/** An error that ends msmctl with a given exit code and a one-line message (no stack). */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

/** Adds `--kubeconfig`, `--context`, `-n` (and `-A` when asked) to a command. */
export function addKubeOptions(
  cmd: Command,
  opts: { allNamespaces?: boolean; namespaceHelp?: string } = {},
): Command {
  cmd
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option(
      '-n, --namespace <namespace>',
      opts.namespaceHelp ?? "namespace (default: the context's namespace, else default)",
    );
  if (opts.allNamespaces) cmd.option('-A, --all-namespaces', 'all namespaces');
  return cmd;
}

/** A KubernetesObjectApi that can also send raw JSON requests (no typed (de)serialisation). */
export class RawKubeApi extends KubernetesObjectApi {
  /**
   * Sends `body` exactly as given. client-node's typed models silently drop fields such as a CRD's
   * `default` and `x-kubernetes-validations`, so manifests must never go through them.
   */
  async request<T = unknown>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    opts: { query?: Record<string, string>; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod[method]);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(opts.query ?? {})) ctx.setQueryParam(k, v);
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    return this.requestPromise<KubernetesObject>(ctx, RAW) as Promise<T>;
  }

  /** The REST path of one object (API discovery decides whether it is namespaced). */
  async pathOf(obj: KubernetesObject): Promise<string> {
    return this.specUriPath(structuredClone(obj), 'read');
  }

  /** API discovery: the resource (plural, namespaced) serving `kind`, or undefined when none does. */
  async resourceOf(
    apiVersion: string,
    kind: string,
  ): Promise<{ name: string; namespaced: boolean } | undefined> {
    try {
      return await this.resource(apiVersion, kind);
    } catch (e) {
      if (apiStatus(e) === 404) return undefined; // the API group/version is not served at all
      throw e;
    }
  }

  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
    type?: string,
  ): Promise<T> {
    if (type !== RAW) return super.processResponse<T>(response, type);
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return (text ? JSON.parse(text) : {}) as T;
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }
}
const RAW = 'msmctl-raw-json';

export interface KubeContext {
  kc: KubeConfig;
  contextName: string;
  server: string;
  /** `-n`, else the context's namespace, else `default` (or the command's own default). */
  namespace: string;
  allNamespaces: boolean;
  custom: CustomObjectsApi;
  raw: RawKubeApi;
}

/** Loads the kubeconfig the way kubectl does and selects context and namespace. */
export function connect(opts: KubeOptions, defaults: { namespace?: string } = {}): KubeContext {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new CliExit(
      EXIT_ERROR,
      `cannot load the kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(e as Error).message}`,
    );
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new CliExit(
        EXIT_ERROR,
        `--context ${opts.context}: no such context in the kubeconfig (have: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const contextName = kc.getCurrentContext();
  const context = contextName ? kc.getContextObject(contextName) : null;
  const cluster = kc.getCurrentCluster();
  if (!context || !cluster) {
    throw new CliExit(
      EXIT_ERROR,
      'no current kubeconfig context: set KUBECONFIG, pass --kubeconfig, or choose one with --context',
    );
  }
  const raw = kc.makeApiClient(RawKubeApi);
  return {
    kc,
    contextName,
    server: cluster.server,
    namespace: opts.namespace ?? defaults.namespace ?? context.namespace ?? 'default',
    allNamespaces: opts.allNamespaces ?? false,
    custom: kc.makeApiClient(CustomObjectsApi),
    raw,
  };
}

/** HTTP status of an API error, or undefined for anything else (e.g. a connection error). */
export function apiStatus(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}

/**
 * A one-line description of an API error: the status code and the apiserver's own message (which
 * names the object and field, never a value we sent: Secrets are never sent by these commands).
 */
export function apiErrorMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body;
    let message: string | undefined;
    let reason: string | undefined;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as {
        message?: string;
        reason?: string;
      };
      message = parsed?.message;
      reason = parsed?.reason;
    } catch {
      // not JSON
    }
    return `${e.code}${reason ? ` ${reason}` : ''}: ${message ?? 'request failed'}`;
  }
  if (e instanceof Error && e.cause instanceof Error) {
    // fetch's "fetch failed": the reason (ECONNREFUSED, a TLS error…) is in the cause.
    return `cannot reach the API server: ${e.cause.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Rethrows any API error as a CliExit: 404 → not found (3), anything else → 2. */
export function failWith(e: unknown, what: string): never {
  if (e instanceof CliExit) throw e;
  if (apiStatus(e) === 404) throw new CliExit(EXIT_NOT_FOUND, `${what}: not found`);
  throw new CliExit(EXIT_ERROR, `${what}: ${apiErrorMessage(e)}`);
}
