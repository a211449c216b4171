/**
 * A running test cluster as seen from a test: its kubeconfig and helpers (clients, kubectl, unique
 * namespaces, ServiceAccount credentials). Works in any process from a serialisable KubeInfo, so a
 * cluster started in vitest's global setup can be used from every test worker.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiException,
  type ApiType,
  type Configuration,
  CoreV1Api,
  KubeConfig,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface StartTimings {
  /** PKI generation. */
  pkiMs: number;
  /** etcd spawn until /health answers. */
  etcdMs: number;
  /** kube-apiserver spawn until /readyz answers 200. */
  apiserverMs: number;
  /** Creating every CRD until all are Established. */
  crdsMs: number;
  /** The whole startKube() call. */
  totalMs: number;
}

/** Everything a test process needs to use a cluster; JSON-serialisable (vitest provide/inject). */
export interface KubeInfo {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfigPath: string;
  /** PEM of the CA that signed the serving certificate (and the client certificates). */
  caPem: string;
  /** Scratch directory of this cluster (logs: etcd.log, kube-apiserver.log). */
  dir: string;
  kubectlPath: string;
  versions: { kube: string; etcd: string; fluxCrds: string; argoCrds: string };
  /** CRD names applied at start (all Established). */
  crds: string[];
  timings: StartTimings;
}

/** Credentials of one ServiceAccount, from a TokenRequest. */
export interface ServiceAccountAccess {
  /** system:serviceaccount:<namespace>:<name> */
  username: string;
  token: string;
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. with `-f -`). */
  input?: string;
  /** Another kubeconfig (e.g. a ServiceAccount's) instead of the admin one. */
  kubeconfigPath?: string;
}

/** HTTP status of a client-node error, or undefined. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export function kubeconfigYaml(
  server: string,
  caPem: string,
  user: Record<string, string>,
  opts: { userName?: string; namespace?: string } = {},
): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const userName = opts.userName ?? 'admin';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'smc-test', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: userName, user }],
    contexts: [
      {
        name: 'smc-test',
        context: {
          cluster: 'smc-test',
          user: userName,
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
        },
      },
    ],
    'current-context': 'smc-test',
  });
}

export class KubeCluster {
  constructor(readonly info: KubeInfo) {}

  get server(): string {
    return this.info.server;
  }
  get kubeconfigPath(): string {
    return this.info.kubeconfigPath;
  }
  get caPem(): string {
    return this.info.caPem;
  }

  /** A fresh client-node KubeConfig for the admin user. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.info.kubeconfigPath);
    return kc;
  }

  /** Shortcut: `kube.client(CoreV1Api)`. */
  client<T extends ApiType>(api: new (config: Configuration) => T): T {
    return this.kubeConfig().makeApiClient(api);
  }

  /** Run the kubectl built with the apiserver; resolves to stdout, rejects with stderr in the message. */
  kubectl(args: string[], opts: KubectlOptions = {}): Promise<string> {
    const kubeconfig = opts.kubeconfigPath ?? this.info.kubeconfigPath;
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.info.kubectlPath,
        [`--kubeconfig=${kubeconfig}`, ...args],
        { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end(opts.input ?? '');
    });
  }

  /** Create a namespace with a unique name `<prefix>-<random>`; returns the name. */
  async createNamespace(prefix = 'test', labels: Record<string, string> = {}): Promise<string> {
    const base = (
      prefix
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '') || 'test'
    ).slice(0, 50);
    const name = `${base}-${randomBytes(4).toString('hex')}`;
    await this.client(CoreV1Api).createNamespace({
      body: { metadata: { name, labels: { 'smc-test': 'true', ...labels } } },
    });
    return name;
  }

  /**
   * A kubeconfig authenticated as ServiceAccount `namespace/name` with a bound token from the
   * TokenRequest API (the ServiceAccount is created when missing). Requests made with it are
   * subject to RBAC exactly as the controller's would be in a cluster.
   */
  async serviceAccountKubeconfig(
    namespace: string,
    name: string,
    opts: { expirationSeconds?: number; audiences?: string[] } = {},
  ): Promise<ServiceAccountAccess> {
    const core = this.client(CoreV1Api);
    try {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    const tr = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: {
        spec: {
          audiences: opts.audiences ?? [],
          expirationSeconds: opts.expirationSeconds ?? 3600,
        },
      },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
    const dir = await mkdtemp(join(this.info.dir, 'sa-'));
    const kubeconfigPath = join(dir, `${namespace}.${name}.kubeconfig`);
    const username = `system:serviceaccount:${namespace}:${name}`;
    await writeFile(
      kubeconfigPath,
      kubeconfigYaml(this.info.server, this.info.caPem, { token }, { userName: name, namespace }),
      { mode: 0o600 },
    );
    return {
      username,
      token,
      kubeconfigPath,
      kubeConfig() {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfigPath);
        return kc;
      },
    };
  }
}
