/**
 * Connection reuse against the real kube-apiserver: a counting TCP proxy on 127.0.0.1 in front of
 * it sees every new connection (each one a TLS handshake) and which protocols its handshake offers
 * (ALPN). client-node 2.0 opens one per request; SharedConnectionKubeConfig
 * (src/controller/kube-client.ts) keeps one pool per cluster, shared by API clients and watches:
 * requests over kept-alive HTTP/1.1 connections, watches over one HTTP/2 connection
 * (src/controller/kube-http.ts says why).
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedConnectionKubeConfig } from '../../src/controller/kube-client.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();

interface CountingProxy {
  url: string;
  connections: number;
  /** Per connection, what its TLS ClientHello offers: `h2+http/1.1` or `http/1.1`. */
  offers: string[];
  stop(): Promise<void>;
}

/** The ALPN protocols a TLS ClientHello offers (as length-prefixed names in its ALPN extension). */
function alpnOffer(hello: Buffer): string {
  const h2 = hello.includes(Buffer.from('\x02h2', 'latin1'));
  const h1 = hello.includes(Buffer.from('\x08http/1.1', 'latin1'));
  return [h2 && 'h2', h1 && 'http/1.1'].filter(Boolean).join('+');
}

async function countingProxy(upstream: string): Promise<CountingProxy> {
  const up = new URL(upstream);
  const sockets = new Set<net.Socket>();
  const proxy: CountingProxy = { url: '', connections: 0, offers: [], stop: async () => {} };
  const server = net.createServer((client) => {
    proxy.connections++;
    client.once('data', (hello: Buffer) => proxy.offers.push(alpnOffer(hello)));
    const peer = net.connect(Number(up.port), up.hostname);
    sockets.add(client).add(peer);
    client.pipe(peer).pipe(client);
    const end = () => {
      client.destroy();
      peer.destroy();
      sockets.delete(client);
      sockets.delete(peer);
    };
    client.on('error', end).on('close', end);
    peer.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}

const proxies: CountingProxy[] = [];
const configs: SharedConnectionKubeConfig[] = [];
afterEach(async () => {
  await Promise.all(configs.splice(0).map((c) => c.closeConnections()));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

/** The admin kubeconfig, its server replaced by a fresh counting proxy. */
async function throughProxy<T extends KubeConfig>(kc: T): Promise<{ kc: T; proxy: CountingProxy }> {
  const proxy = await countingProxy(kube().server);
  proxies.push(proxy);
  const yaml = await readFile(kube().kubeconfigPath, 'utf8');
  kc.loadFromString(yaml.replace(kube().server, proxy.url));
  return { kc, proxy };
}

async function listNamespaces(kc: KubeConfig, n: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < n; i++) await core.listNamespace({ limit: 1 });
}

describe('connections to the apiserver', () => {
  it('client-node alone opens one connection per request (why SharedConnectionKubeConfig exists)', async () => {
    const { kc, proxy } = await throughProxy(new KubeConfig());
    await listNamespaces(kc, 30);
    // When this fails, client-node pools by itself and src/controller/kube-client.ts can go.
    expect(proxy.connections).toBe(30);
  });

  it('30 requests from several API clients share a kept-alive HTTP/1.1 connection', async () => {
    const { kc, proxy } = await throughProxy(new SharedConnectionKubeConfig());
    configs.push(kc);
    for (let i = 0; i < 3; i++) await listNamespaces(kc, 10); // three clients, ten requests each
    // Kept alive and reused (undici may open a second while the first is still being released).
    expect(proxy.connections).toBeLessThanOrEqual(2);
    expect(new Set(proxy.offers)).toEqual(new Set(['http/1.1']));
  });

  it('requests in flight together take a connection each, kept alive for the next ones', async () => {
    const { kc, proxy } = await throughProxy(new SharedConnectionKubeConfig());
    configs.push(kc);
    const core = kc.makeApiClient(CoreV1Api);
    const burst = () => Promise.all(Array.from({ length: 6 }, () => core.listNamespace({ limit: 1 })));
    await burst();
    expect(proxy.connections).toBeGreaterThan(1); // HTTP/1.1: no multiplexing
    for (let i = 0; i < 5; i++) await burst();
    // 36 requests, 6 at a time: connections are reused from burst to burst (at most two per
    // request in flight, as in the sequential case), not opened per request.
    expect(proxy.connections).toBeLessThanOrEqual(12);
    expect(new Set(proxy.offers)).toEqual(new Set(['http/1.1']));
  });

  it('watches use the same pool: one HTTP/2 connection for watches, HTTP/1.1 for the requests beside them', async () => {
    const { kc, proxy } = await throughProxy(new SharedConnectionKubeConfig());
    configs.push(kc);
    const ns = await kube().createNamespace('conn');
    const seen: string[] = [];
    const watch = new Watch(kc);
    const abort = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      {},
      (phase, obj: { metadata?: { name?: string } }) => seen.push(`${phase} ${obj.metadata?.name}`),
      () => {},
    );
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 10; i++) {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}` } } });
    }
    await expect.poll(() => seen.length).toBe(10);
    abort.abort();
    // The watch's connection offers HTTP/2 (ALPN: a watch is one stream among others), the requests'
    // only HTTP/1.1.
    expect(proxy.offers.filter((o) => o === 'h2+http/1.1')).toHaveLength(1);
    expect(proxy.offers.filter((o) => o === 'http/1.1').length).toBeLessThanOrEqual(2);
  });
});

describe('requests through undici.request (src/controller/kube-http.ts)', () => {
  async function shared() {
    const kc = new SharedConnectionKubeConfig();
    kc.loadFromString(await readFile(kube().kubeconfigPath, 'utf8'));
    configs.push(kc);
    return kc;
  }

  it('creates, reads, merge-patches and deletes like client-node’s own fetch, and names the controller', async () => {
    const ns = await kube().createNamespace('kube-http');
    const core = (await shared()).makeApiClient(CoreV1Api);
    const created = await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 's', labels: { a: '1' } }, stringData: { K: 'v' } },
    });
    expect(created.metadata?.uid).toBeTruthy();
    const read = await core.readNamespacedSecret({ namespace: ns, name: 's' });
    expect(Buffer.from(read.data?.K ?? '', 'base64').toString()).toBe('v');
    expect(read.metadata?.creationTimestamp).toBeInstanceOf(Date); // deserialised into client-node's models
    const patched = await core.patchNamespacedSecret(
      { namespace: ns, name: 's', body: { metadata: { labels: { b: '2' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata?.labels).toEqual({ a: '1', b: '2' });
    expect(
      patched.metadata?.managedFields?.some((f) => f.manager?.startsWith('secret-manager-controller')),
    ).toBe(true);
    await core.deleteNamespacedSecret({ namespace: ns, name: 's' });
  });

  it('HTTP errors are client-node ApiExceptions with status, body and headers', async () => {
    const ns = await kube().createNamespace('kube-http-err');
    const core = (await shared()).makeApiClient(CoreV1Api);
    const missing = await core
      .readNamespacedSecret({ namespace: ns, name: 'absent' })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiException);
    expect((missing as ApiException<string>).code).toBe(404);
    expect(JSON.parse((missing as ApiException<string>).body)).toMatchObject({ reason: 'NotFound' });
    expect((missing as ApiException<string>).headers['content-type']).toContain('application/json');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'twice' } } });
    const conflict = await core
      .createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'twice' } } })
      .catch((e: unknown) => e);
    expect((conflict as ApiException<string>).code).toBe(409);
  });
});
