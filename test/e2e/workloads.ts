/**
 * Workload fixtures for the workload-notification e2e test: Deployments (the test apiserver has no
 * kube-controller-manager, so they never get pods), Pods whose status the test sets itself (podIP,
 * Ready condition) through the status subresource, and a local HTTP server recording reload POSTs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import type { KubeCluster } from '../peers/kube/index.js';

const CONTAINER = { name: 'app', image: 'registry.example/app:1' };

export async function createDeployment(
  kube: KubeCluster,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
): Promise<void> {
  await kube.client(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, annotations },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [CONTAINER] } },
      },
    },
  });
}

export async function readDeployment(
  kube: KubeCluster,
  namespace: string,
  name: string,
): Promise<V1Deployment> {
  return kube.client(AppsV1Api).readNamespacedDeployment({ namespace, name });
}

/** A Pod labelled `app=<app>` with `status.podIP` and the Ready condition set as given. */
export async function createPod(
  kube: KubeCluster,
  namespace: string,
  name: string,
  app: string,
  status: { podIP: string; ready: boolean },
): Promise<void> {
  const core = kube.client(CoreV1Api);
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app } },
      spec: { containers: [CONTAINER], automountServiceAccountToken: false },
    },
  });
  const now = new Date();
  await core.replaceNamespacedPodStatus({
    namespace,
    name,
    body: {
      ...(await core.readNamespacedPod({ namespace, name })),
      status: {
        phase: 'Running',
        podIP: status.podIP,
        podIPs: [{ ip: status.podIP }],
        conditions: [{ type: 'Ready', status: status.ready ? 'True' : 'False', lastTransitionTime: now }],
      },
    },
  });
}

export interface ReloadServer {
  port: number;
  /** `<method> <local address> <path>` of each request received. */
  requests: string[];
  stop(): Promise<void>;
}

/** An HTTP server on all loopback addresses: 127.0.0.1 and 127.0.0.2 are told apart by local address. */
export async function startReloadServer(): Promise<ReloadServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.socket.localAddress?.replace(/^::ffff:/, '')} ${req.url}`);
    req.resume();
    res.writeHead(200).end('reloaded');
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
