/**
 * A real Kubernetes control plane for tests: etcd 3.6 + kube-apiserver (built from the Go module
 * proxy by scripts/peers), started on loopback the way controller-runtime's envtest does, with our
 * CRD and the Flux source / Argo CD Application CRDs applied and Established.
 *
 *   const kube = await startKube();      // ~5-6 s on 2 cores (CRDs included)
 *   kube.kubeConfig()                    // admin (system:masters) client-node KubeConfig
 *   await kube.serviceAccountKubeconfig(ns, 'controller')   // RBAC-bound credentials
 *   await kube.stop();
 *
 * Test files normally use useKube() (./use.ts), which shares one cluster per test run when the
 * vitest global setup (./global.ts) is active.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeCluster, type KubeInfo, type StartTimings, kubeconfigYaml } from './cluster.js';
import { type PeerProcess, PeerStartError, freePort, spawnPeer, waitUntilReady } from './process.js';
import { generatePki } from './pki.js';
import { peerDir, peerPath } from '../../peers.js';

export { KubeCluster, statusOf, kubeconfigYaml } from './cluster.js';
export type { KubeInfo, KubectlOptions, ServiceAccountAccess, StartTimings } from './cluster.js';
export { PeerStartError } from './process.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The peers a cluster needs (scripts/peers names; the vitest global setup test/setup/peers.ts installs them). */
export const KUBE_PEERS = ['etcd', 'kube', 'flux-crds', 'argo-crds'] as const;
type KubePeerName = (typeof KUBE_PEERS)[number];

function peer(name: KubePeerName): { path: string; version: string } {
  let path: string;
  try {
    path = peerPath(name);
  } catch (err) {
    throw new PeerStartError(name, undefined, (err as Error).message);
  }
  return { path, version: basename(peerDir(name)).slice(name.length + 1) };
}

/** The CRD manifests applied at start: ours, Flux's source CRDs and notification Provider, Argo CD's Application/AppProject. */
export async function defaultCrdFiles(): Promise<string[]> {
  const flux = peer('flux-crds').path;
  const argo = peer('argo-crds').path;
  return [
    join(repoRoot, 'config/crd/secretmanagerconfig.yaml'),
    ...(await readdir(flux))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(flux, f)),
    join(argo, 'application-crd.yaml'),
    join(argo, 'appproject-crd.yaml'),
  ];
}

export interface StartKubeOptions {
  /** CRD manifest files to apply and wait for; default: defaultCrdFiles(). `false`: none. */
  crds?: string[] | false;
  /** kube-apiserver readiness timeout; default $SMC_KUBE_START_TIMEOUT_MS or 90 s. */
  readyTimeoutMs?: number;
  /** Keep the scratch directory (logs, PKI) after stop(); default $SMC_KEEP_PEER_DIRS === '1'. */
  keepDir?: boolean;
  /** Appended to the kube-apiserver command line (e.g. feature gates). */
  apiserverArgs?: string[];
  /** Wait out the apiserver's 2 s create delay for just-Established CRDs (waitOutJustCreated); default true. */
  settleCrds?: boolean;
}

export class KubePeer extends KubeCluster {
  private stopped = false;
  constructor(
    info: KubeInfo,
    private readonly procs: PeerProcess[],
    private readonly keepDir: boolean,
  ) {
    super(info);
  }

  /** The process ids of etcd and kube-apiserver, by name (benchmarks read their CPU from /proc). */
  get pids(): Record<string, number> {
    return Object.fromEntries(this.procs.map((p) => [p.name, p.pid]));
  }

  /** Stop kube-apiserver, then etcd, and remove the scratch directory (unless kept). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of [...this.procs].reverse()) await p.stop();
    if (!this.keepDir) await rm(this.info.dir, { recursive: true, force: true });
  }

  /**
   * Restart kube-apiserver in place, etcd (and so every object and resourceVersion) kept: stop it
   * (SIGTERM, graceful), wait `downMs`, start the same binary with the same flags on the same port,
   * and wait for `/readyz`. Never use it on the shared cluster of the run (other files use it).
   * Returns when the apiserver was down (`stoppedAt`) and ready again (`readyAt`), `performance.now()`.
   */
  async restartApiserver(opts: { downMs?: number } = {}): Promise<{ stoppedAt: number; readyAt: number }> {
    const i = this.procs.findIndex((p) => p.name === 'kube-apiserver');
    const old = this.procs[i];
    if (!old) throw new Error('restartApiserver: this cluster has no kube-apiserver process');
    // The watchdog's command line is `bash -c <script> <name> <command> <args...>` (see spawnPeer).
    const argv = (await readFile(`/proc/${old.pid}/cmdline`, 'utf8')).split('\0').slice(0, -1);
    const [command, ...args] = argv.slice(4);
    if (!command) throw new Error(`restartApiserver: cannot read the command line of pid ${old.pid}`);
    await old.stop();
    const stoppedAt = performance.now();
    if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
    const next = spawnPeer('kube-apiserver', command, args, old.logPath);
    this.procs[i] = next;
    await waitUntilReady(
      next,
      `kube-apiserver at ${this.server}/readyz (restart)`,
      Number(process.env.SMC_KUBE_START_TIMEOUT_MS ?? 90_000),
      async () => (await probe(`${this.server}/readyz`, this.caPem)) === 200,
    );
    return { stoppedAt, readyAt: performance.now() };
  }
}

function probe(url: string, ca?: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = (url.startsWith('https:') ? request : httpRequest)(
      url,
      { method: 'GET', timeout: 5_000, ...(ca ? { ca } : {}) },
      (res) => {
        res.resume();
        resolvePromise(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startKube(opts: StartKubeOptions = {}): Promise<KubePeer> {
  const t0 = performance.now();
  const etcd = peer('etcd');
  const kube = peer('kube');
  const kubectlPath = join(dirname(kube.path), 'kubectl');
  const crdFiles = opts.crds === false ? [] : (opts.crds ?? (await defaultCrdFiles()));
  const crdVersion = (name: 'flux-crds' | 'argo-crds') => {
    try {
      return peer(name).version;
    } catch (err) {
      if (opts.crds === false) return 'not installed';
      throw err;
    }
  };
  const fluxVersion = crdVersion('flux-crds');
  const argoVersion = crdVersion('argo-crds');
  const readyTimeoutMs = opts.readyTimeoutMs ?? Number(process.env.SMC_KUBE_START_TIMEOUT_MS ?? 90_000);
  const keepDir = opts.keepDir ?? process.env.SMC_KEEP_PEER_DIRS === '1';

  const dir = await mkdtemp(join(tmpdir(), 'smc-kube-'));
  const procs: PeerProcess[] = [];
  const fail = async (err: unknown): Promise<never> => {
    for (const p of [...procs].reverse()) await p.stop(2_000);
    // Keep the directory: the error names the log inside it.
    throw err;
  };

  try {
    const pki = await generatePki(join(dir, 'pki'));
    const tPki = performance.now();

    // etcd: loopback client and peer ports, no fsync (test data is throw-away).
    const [etcdPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdProc = spawnPeer(
      'etcd',
      etcd.path,
      [
        '--name=smc-test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=smc-test=${etcdPeerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    procs.push(etcdProc);
    await waitUntilReady(
      etcdProc,
      `etcd at ${etcdUrl}/health`,
      20_000,
      async () => (await probe(`${etcdUrl}/health`)) === 200,
      50,
    );
    const tEtcd = performance.now();

    // kube-apiserver: envtest's flags, RBAC on, ServiceAccount admission off (no controller-manager
    // to create default ServiceAccounts), service-account signing so TokenRequest works.
    const server = `https://127.0.0.1:${apiPort}`;
    const apiProc = spawnPeer(
      'kube-apiserver',
      kube.path,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${pki.dir}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        ...(opts.apiserverArgs ?? []),
      ],
      join(dir, 'kube-apiserver.log'),
    );
    procs.push(apiProc);
    await waitUntilReady(
      apiProc,
      `kube-apiserver at ${server}/readyz`,
      readyTimeoutMs,
      async () => (await probe(`${server}/readyz`, pki.caPem)) === 200,
    );
    const tApi = performance.now();

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(
      kubeconfigPath,
      kubeconfigYaml(server, pki.caPem, {
        'client-certificate-data': Buffer.from(pki.adminCertPem).toString('base64'),
        'client-key-data': Buffer.from(pki.adminKeyPem).toString('base64'),
      }),
      { mode: 0o600 },
    );

    const info: KubeInfo = {
      server,
      kubeconfigPath,
      caPem: pki.caPem,
      dir,
      kubectlPath,
      versions: { kube: kube.version, etcd: etcd.version, fluxCrds: fluxVersion, argoCrds: argoVersion },
      crds: [],
      timings: { pkiMs: 0, etcdMs: 0, apiserverMs: 0, crdsMs: 0, totalMs: 0 },
    };
    const peerObj = new KubePeer(info, procs, keepDir);
    info.crds = await applyCrds(peerObj, crdFiles, apiProc, opts.settleCrds ?? true);
    const tCrds = performance.now();
    const timings: StartTimings = {
      pkiMs: Math.round(tPki - t0),
      etcdMs: Math.round(tEtcd - tPki),
      apiserverMs: Math.round(tApi - tEtcd),
      crdsMs: Math.round(tCrds - tApi),
      totalMs: Math.round(tCrds - t0),
    };
    info.timings = timings;
    return peerObj;
  } catch (err) {
    return fail(err);
  }
}

/**
 * Apply the CRD manifests in `files` (kubectl server-side apply, as users install CRDs; the Argo CD
 * Application CRD is too large for client-side apply's annotation) and wait until every one is
 * Established (and, with `settle`, 2 s old: see waitOutJustCreated). Returns the CRD names.
 *
 * Not client-node's typed ApiextensionsV1Api with the parsed YAML: its serializer maps the model's
 * property names (`_default`, `xKubernetesValidations`), so raw `default:` and
 * `x-kubernetes-validations:` keys would be silently dropped.
 */
export async function applyCrds(
  cluster: KubeCluster,
  files: string[],
  apiProc?: PeerProcess,
  settle = true,
): Promise<string[]> {
  if (files.length === 0) return [];
  const names: string[] = [];
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`CRD manifest ${file} is missing`);
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (obj?.kind === 'CustomResourceDefinition' && obj.metadata?.name) names.push(obj.metadata.name);
    }
  }
  try {
    await cluster.kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=smc-test-peers',
      ...files.flatMap((f) => ['-f', f]),
    ]);
  } catch (err) {
    await apiProc?.assertRunning();
    throw err;
  }
  const api = cluster.client(ApiextensionsV1Api);
  const deadline = Date.now() + 60_000;
  for (;;) {
    await apiProc?.assertRunning();
    const list = await api.listCustomResourceDefinition();
    const ok = new Set(
      list.items
        .filter((c) => c.status?.conditions?.some((k) => k.type === 'Established' && k.status === 'True'))
        .map((c) => c.metadata!.name!),
    );
    const pending = names.filter((n) => !ok.has(n));
    if (pending.length === 0) {
      if (settle) await waitOutJustCreated(list.items.filter((c) => names.includes(c.metadata!.name!)));
      return names;
    }
    if (Date.now() > deadline) throw new Error(`CRDs not Established after 60s: ${pending.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * kube-apiserver delays every create of a custom resource by 2 s while its CRD became Established
 * less than 2 s ago (apiextensions-apiserver customresource_handler.go, "justCreated": meant for HA
 * apiservers; the stored lastTransitionTime has second precision). Wait out that window here, so
 * that no test pays it.
 */
async function waitOutJustCreated(crds: V1CustomResourceDefinition[]): Promise<void> {
  const established = crds.flatMap((c) =>
    (c.status?.conditions ?? [])
      .filter((k) => k.type === 'Established' && k.lastTransitionTime)
      .map((k) => new Date(k.lastTransitionTime!).getTime()),
  );
  const wait = Math.max(0, ...established) + 2_050 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 3_000)));
}
