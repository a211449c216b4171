/**
 * The controller's KubeConfig: one keep-alive connection pool per cluster and user, shared by
 * every API client (`makeApiClient`) and every watch/informer (`new Watch(kubeConfig)`).
 *
 * Why this exists: `@kubernetes/client-node` 2.0 builds a new undici Agent inside
 * `KubeConfig.applySecurityAuthentication` for every request, so every request — and every
 * watch restart — opens a new TCP+TLS connection (measured by
 * test/controller/kube-client.kube.test.ts: 30 requests, 30 connections). At a thousand
 * SecretManagerConfigs that is thousands of handshakes per change and ~1,600 open sockets.
 *
 * The fix is at our boundary, through client-node's own hook, not a fork: API clients and `Watch`
 * both call `authMethods.default.applySecurityAuthentication(ctx)` (the KubeConfig itself, see
 * `makeApiClient`), so this subclass lets client-node apply headers and TLS options as usual, then
 * swaps the fresh dispatcher for the first one it made for the same (cluster, user) — the same
 * key client-node already uses to cache its https.Agent for WebSocket/exec connections. The fresh
 * dispatcher is dropped before it ever connects. Bearer tokens (in-cluster token files, exec
 * plugins) are request headers and keep rotating per request; TLS material is fixed per pool, as
 * in client-go.
 */
import {
  type ApiConstructor,
  type ApiType,
  KubeConfig,
  type HttpLibrary,
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
} from '../kube/client-node.js';
import { VERSION } from '../version.js';
import { requestHttpLibrary } from './kube-http.js';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class SharedConnectionKubeConfig extends KubeConfig {
  private readonly pools = new Map<string, Dispatcher>();

  /** `httpApi`: how API clients send (default: src/controller/kube-http.ts, HTTP/1.1). */
  constructor(private readonly httpApi: HttpLibrary = requestHttpLibrary) {
    super();
  }

  /**
   * API clients as client-node makes them, sending through `undici.request` (src/controller/kube-http.ts);
   * the User-Agent names the controller (it shows in the apiserver's audit log).
   */
  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: this },
        httpApi: this.httpApi,
        middleware: [setHeaderMiddleware('User-Agent', `secret-manager-controller/${VERSION}`)],
      }),
    );
  }

  override async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(ctx);
    const fresh = ctx.getDispatcher();
    // No dispatcher (plain http without TLS options): fetch's global dispatcher pools already.
    if (fresh === undefined) return;
    const key = JSON.stringify([this.getCurrentCluster()?.name ?? '', this.getCurrentUser()?.name ?? '']);
    const pool = this.pools.get(key);
    if (pool) ctx.setDispatcher(pool);
    else this.pools.set(key, fresh);
  }

  /**
   * Close the pooled connections at shutdown. undici's `close()` waits for every request in flight
   * to finish, and a watch left open would hold it for minutes (past the pod's grace period), so
   * whatever has not finished within `graceMs` is ended with `destroy()`.
   */
  async closeConnections(graceMs = 1_000): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(
      pools.map(async (p) => {
        const closed = p.close().then(
          () => true,
          () => true,
        );
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
          timer.unref?.();
        });
        const inTime = await Promise.race([closed, late]);
        clearTimeout(timer);
        if (!inTime) await p.destroy().catch(() => undefined);
      }),
    );
  }
}

/** The KubeConfig the controller process uses: KUBECONFIG, ~/.kube/config, else in-cluster. */
export function loadControllerKubeConfig(): SharedConnectionKubeConfig {
  const kc = new SharedConnectionKubeConfig();
  kc.loadFromDefault();
  return kc;
}
