/**
 * Store clients built once per store configuration (src/controller/stores.ts, src/stores/client-cache.ts),
 * against the real peers: reconciles of one SMC, each opening its stores, reading and closing them,
 * use one SDK client; against drongo they travel over one kept-alive connection, counted at a
 * loopback TCP proxy (moto closes every connection itself, so there the clients are counted).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/index.js';
import { StoreFactory } from '../../src/controller/stores.js';
import {
  ensurePeer,
  startGcpSecretManager,
  startMoto,
  type GcpSecretManagerPeer,
  type MotoPeer,
} from '../peers/cloud/index.js';

interface TcpProxy {
  port: number;
  connections(): number;
  stop(): Promise<void>;
}

/** Forwards TCP to `upstream` and counts the connections clients opened. */
async function tcpProxy(upstream: URL): Promise<TcpProxy> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const peer = net.connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, peer]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(peer).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function factory(overrides: ConstructorParameters<typeof StoreFactory>[0]['overrides']) {
  return new StoreFactory({
    core: { readNamespacedSecret: (() => Promise.reject(new Error('no Secret is read'))) as never },
    controllerNamespace: 'smc-system',
    policy: () => ({ noCrossNamespaceRefs: false, storeAllowlist: [] }),
    overrides,
  });
}

function spec(provider: unknown) {
  return parseSpec(
    {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider,
      secrets: { environment: 'dev', prefix: 'app' },
      configs: { enabled: false },
    },
    'test',
  );
}

const SMC = { namespace: 'team-a', name: 'app' };

/** Three reconciles' worth of store use: open, read what the SMC owns, close. */
async function reconciles(f: StoreFactory, s: ReturnType<typeof spec>): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const { secretStore } = await f.open(SMC, s);
    await secretStore.read(SMC, ['app-db-password']);
    await secretStore.close?.();
  }
}

describe('store clients built once per store configuration', () => {
  let moto: MotoPeer;
  let drongo: GcpSecretManagerPeer;
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.METADATA_SERVER_DETECTION = 'none';
    await Promise.all([ensurePeer('moto'), ensurePeer('gcp-sm-emulator')]);
    [moto, drongo] = await Promise.all([startMoto(), startGcpSecretManager()]);
  });
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await moto?.stop();
    await drongo?.stop();
  });

  it('AWS Secrets Manager: three reconciles, one SDK client (moto answers Connection: close, so no socket count)', async () => {
    let built = 0;
    const f = factory({
      aws: {
        endpoint: moto.endpointUrl,
        credentials: moto.credentials,
        clientFactory: (config: SecretsManagerClientConfig) => {
          built++;
          return new SecretsManagerClient(config);
        },
      },
    });
    await reconciles(f, spec({ aws: { region: moto.region } }));
    expect(built).toBe(1);
    f.close();
  });

  it('GCP Secret Manager: three reconciles, one connection', async () => {
    const proxy = await tcpProxy(new URL(`http://${drongo.endpoint.host}:${drongo.endpoint.port}`));
    proxies.push(proxy);
    const f = factory({ gcp: { endpoint: `http://127.0.0.1:${proxy.port}` } });
    await reconciles(f, spec({ gcp: { projectId: drongo.newProject() } }));
    expect(proxy.connections()).toBe(1);
    f.close();
  });
});
