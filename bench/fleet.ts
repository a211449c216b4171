/**
 * Benchmark: a fleet of SecretManagerConfigs on the real kube-apiserver peer (test/peers/kube,
 * with an audit log of the controller's ServiceAccount), the Flux artifact server
 * (test/peers/gitops) and the controller as a separate process (built dist/, default settings,
 * the shipped RBAC), Kubernetes store. Prints one table:
 *
 *   N · create → all Ready · fan-out of a new shared revision · one-SMC change latency p50/p95
 *   alone and during a fleet-wide change · RSS idle / peak · idle CPU · apiserver requests per
 *   minute at idle, by verb (audit log) · status writes at idle · CPU seconds of the controller,
 *   of kube-apiserver + etcd and of the whole machine during a full sync and a fan-out (on a
 *   shared 2-core machine the apiserver's share bounds how fast any controller can go)
 *
 *   npm run bench:fleet -- --smcs 100 [--idle-seconds 90] [--changes 10] [--cpu-prof DIR]
 *     [--concurrency N]   (max_concurrent_reconciles; default: the controller's default)
 *     [--heap-snapshot DIR]  (a heap snapshot of the controller after the idle window, into DIR)
 *     [--node-args "..."]    (extra Node options for the controller, e.g. --max-old-space-size=256)
 *     [--env NAME=VALUE]     (an environment variable for the controller; repeatable)
 *     [--apiserver-profile DIR]  (kube-apiserver's CPU profile of create → all Ready, into DIR)
 *
 * `--cpu-prof DIR` runs the controller with Node's `--cpu-prof` and writes its profile to DIR when
 * it stops (open it in Chrome DevTools, or summarise it with `npx tsx bench/cpu-profile.ts FILE`).
 * `--apiserver-profile DIR` starts kube-apiserver with `--profiling` and saves its Go CPU profile of
 * the create window (/debug/pprof/profile) as DIR/apiserver-create.pprof: `go tool pprof -top FILE`.
 *
 * All N SMCs read one Flux GitRepository (a copy of examples/gitops, SOPS/age, `dev` profile) and
 * each writes its own Kubernetes Secret. "One-SMC change" is a reconcile request (annotation) on
 * one SMC, timed until its status says it was handled. The fan-out publishes a new revision of the
 * shared source (same content) and waits until every SMC has synced it. Statuses are followed with
 * one watch on the SMCs (not by listing them: a list of 1000 SMCs every 250 ms would load the
 * apiserver more than the controller does).
 */
import { execFileSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import pMap from 'p-map';
import { removeShippedRbac, shippedRbacAccess } from '../test/e2e/rbac.js';
import { SharedConnectionKubeConfig } from '../src/controller/kube-client.js';
import { createFleetSmc, createFleetSource } from '../test/e2e/smc.js';
import { freePort } from '../test/peers/free-port.js';
import { gitRevision, setFluxArtifact, startArtifactServer } from '../test/peers/gitops/index.js';
import { repoRoot, startKube } from '../test/peers/kube/index.js';
import { CLK_TCK, processGroupsCpuS } from './proc-cpu.js';

const { values: args } = parseArgs({
  options: {
    smcs: { type: 'string', default: '100' },
    'idle-seconds': { type: 'string', default: '90' },
    changes: { type: 'string', default: '10' },
    'cpu-prof': { type: 'string' },
    concurrency: { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'node-args': { type: 'string' },
    env: { type: 'string', multiple: true },
    'apiserver-profile': { type: 'string' },
  },
});
const N = Number(args.smcs);
const IDLE_S = Number(args['idle-seconds']);
const CHANGES = Number(args.changes);
const GROUP = 'secret-management.octopilot.io';
const VERSION = 'v1beta1';
const PLURAL = 'secretmanagerconfigs';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) =>
  process.stderr.write(`[bench:fleet ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

interface SmcItem {
  metadata: { name: string };
  status?: {
    phase?: string;
    lastSyncedRevision?: string;
    lastHandledReconcileAt?: string;
    conditions?: { type: string; status: string }[];
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

/** utime+stime (clock ticks) and RSS / peak RSS (KiB) of a process. */
async function procStats(pid: number): Promise<{ ticks: number; rssKiB: number; hwmKiB: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { ticks: Number(stat[11]) + Number(stat[12]), rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
}
/**
 * The controller's V8 heap at a moment, from its own /metrics (prom-client's default metrics), MiB:
 * used and committed (total) heap, the committed size of the young generation ("new" space), and
 * memory outside the heap (external: buffers, and module source V8 keeps outside).
 */
async function heapStats(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const mib = (re: RegExp) => (Number(re.exec(text)?.[1] ?? Number.NaN) / 2 ** 20).toFixed(0);
  return [
    `used ${mib(/^nodejs_heap_size_used_bytes (\S+)/m)}`,
    `committed ${mib(/^nodejs_heap_size_total_bytes (\S+)/m)}`,
    `of which new space ${mib(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m)}`,
    `external ${mib(/^nodejs_external_memory_bytes (\S+)/m)} MiB`,
  ].join(', ');
}
/** CPU ticks so far of each thread of `pid`, by `tid name`: user and kernel (system) time. */
async function threadTicks(pid: number): Promise<Map<string, { user: number; system: number }>> {
  const out = new Map<string, { user: number; system: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    out.set(`${tid} ${name}`, { user: Number(fields[11]), system: Number(fields[12]) });
  }
  return out;
}
/**
 * The threads that used CPU between two `threadTicks`, busiest first, with the kernel's share
 * (e.g. `MainThread 0.41 s (0.12 s system), V8Worker 0.12 s (0.00 s system)`).
 */
function busiestThreads(
  before: Map<string, { user: number; system: number }>,
  after: Map<string, { user: number; system: number }>,
): string {
  const used = new Map<string, { total: number; system: number }>();
  for (const [key, t] of after) {
    const name = key.slice(key.indexOf(' ') + 1);
    const b = before.get(key) ?? { user: 0, system: 0 };
    const u = used.get(name) ?? { total: 0, system: 0 };
    u.total += (t.user + t.system - b.user - b.system) / CLK_TCK;
    u.system += (t.system - b.system) / CLK_TCK;
    used.set(name, u);
  }
  const busy = [...used].filter(([, u]) => u.total > 0).sort((a, b) => b[1].total - a[1].total);
  return (
    busy.map(([name, u]) => `${name} ${u.total.toFixed(2)} s (${u.system.toFixed(2)} s system)`).join(', ') ||
    'none'
  );
}
/** CPU seconds used so far by the whole machine (all processes, /proc/stat: user + nice + system + irq + softirq). */
async function machineCpuS(): Promise<number> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = cpu;
  return (user + nice + system + irq + softirq) / CLK_TCK;
}

const work = await mkdtemp(join(tmpdir(), 'smc-bench-fleet-'));
const auditLog = join(work, 'audit.log');
const auditPolicy = join(work, 'audit-policy.yaml');
// Metadata of every request of a ServiceAccount (the controller's is the only one), once complete.
await writeFile(
  auditPolicy,
  [
    'apiVersion: audit.k8s.io/v1',
    'kind: Policy',
    'omitStages: [RequestReceived, ResponseStarted]',
    'rules:',
    '  - level: Metadata',
    '    userGroups: ["system:serviceaccounts"]',
    '  - level: None',
    '',
  ].join('\n'),
);

log(`building dist/ (the controller runs as it ships)`);
execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: repoRoot });
log(`starting kube-apiserver + etcd`);
const kube = await startKube({
  apiserverArgs: [
    `--audit-policy-file=${auditPolicy}`,
    `--audit-log-path=${auditLog}`,
    '--audit-log-maxsize=1024',
    // The peer passes --profiling=false; the last occurrence of a flag wins.
    ...(args['apiserver-profile'] ? ['--profiling=true'] : []),
  ],
});
/** CPU seconds used so far by etcd and kube-apiserver together. */
const peersCpuS = () => processGroupsCpuS(Object.values(kube.pids));
const artifacts = await startArtifactServer();
// The bench's own requests (creating SMCs, one-SMC changes, watching statuses) go over one pooled
// connection, as kubectl's or Flux's would: client-node alone opens a TLS connection per request,
// which would load the apiserver with 1000 handshakes the controller is not responsible for.
const benchKubeConfig = new SharedConnectionKubeConfig();
benchKubeConfig.loadFromString(kube.kubeConfig().exportConfig());
const custom = benchKubeConfig.makeApiClient(CustomObjectsApi);
const core = benchKubeConfig.makeApiClient(CoreV1Api);
let controller: ReturnType<typeof spawn> | undefined;
let controllerOut = '';
let ns = '';
try {
  ns = await kube.createNamespace('fleet');
  const tree = join(work, 'repo');
  const ref = await createFleetSource(kube, core, ns, tree);
  const publish = async (n: number) => {
    const revision = gitRevision('main', n.toString(16).padStart(40, '0'));
    await setFluxArtifact(kube, ref, await artifacts.publishDirectory(ref, tree, { revision }));
    return revision;
  };
  let revision = await publish(1);
  const access = await shippedRbacAccess(kube, ns);

  const port = await freePort();
  const profile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : [];
  const heap = args['heap-snapshot']
    ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${args['heap-snapshot']}`]
    : [];
  const nodeArgs = args['node-args']?.split(/\s+/).filter(Boolean) ?? [];
  const controllerArgs = [
    ...profile,
    ...heap,
    ...nodeArgs,
    join(repoRoot, 'bin/secret-manager-controller.js'),
  ];
  controller = spawn(process.execPath, controllerArgs, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      KUBECONFIG: access.kubeconfigPath,
      WATCH_NAMESPACES: ns,
      POD_NAMESPACE: ns,
      METRICS_PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...(args.concurrency && { MAX_CONCURRENT_RECONCILES: args.concurrency }),
      ...Object.fromEntries((args.env ?? []).map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)])),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  controller.stdout?.on(
    'data',
    (d: Buffer) => (controllerOut = (controllerOut + d.toString()).slice(-20_000)),
  );
  controller.stderr?.on(
    'data',
    (d: Buffer) => (controllerOut = (controllerOut + d.toString()).slice(-20_000)),
  );
  const pid = controller.pid!;
  for (let i = 0; ; i++) {
    if (controller.exitCode !== null) throw new Error(`controller exited:\n${controllerOut}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (i > 600) throw new Error(`controller not ready:\n${controllerOut}`);
    await sleep(100);
  }

  const list = async () =>
    (
      (await custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
      })) as {
        items: SmcItem[];
      }
    ).items;
  const ready = (s: SmcItem) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const smcs = await followSmcs(benchKubeConfig, ns);
  const waitAll = async (what: string, done: (s: SmcItem) => boolean, timeoutMs = 900_000) => {
    const t0 = performance.now();
    for (;;) {
      const n = [...smcs.items.values()].filter(done).length;
      if (n === N) return;
      if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: ${n}/${N} after ${timeoutMs} ms`);
      await smcs.changed(250);
    }
  };
  let peakDuringRun = 0;
  const sampler = setInterval(() => {
    procStats(pid).then(
      (s) => (peakDuringRun = Math.max(peakDuringRun, s.hwmKiB)),
      () => undefined,
    );
  }, 500);

  // 1. Create N SMCs; time until all are Ready.
  log(`creating ${N} SMCs`);
  const auditBeforeCreate = (await readFile(auditLog, 'utf8')).length;
  const cpuBeforeCreate = (await procStats(pid)).ticks;
  const peersBeforeCreate = await peersCpuS();
  const machineBeforeCreate = await machineCpuS();
  const machineWindowCreate = performance.now();
  const tCreate = performance.now();
  // Collected beside the window's work; a failure is reported after it, not thrown into it.
  const apiserverProfile = args['apiserver-profile']
    ? saveApiserverProfile(args['apiserver-profile'], 'apiserver-create.pprof').catch(
        (e: unknown) => `not saved (${(e as Error).message})`,
      )
    : undefined;
  await pMap(
    Array.from({ length: N }, (_, i) => `smc-${String(i).padStart(4, '0')}`),
    (name) => createFleetSmc(custom, ns, name),
    { concurrency: 16 },
  );
  const created = performance.now() - tCreate;
  log(`${N} SMCs created in ${(created / 1000).toFixed(1)} s`);
  await waitAll('all Ready', (s) => ready(s) === true && s.status?.lastSyncedRevision === revision);
  const createToReady = performance.now() - tCreate;
  const createCpuS = ((await procStats(pid)).ticks - cpuBeforeCreate) / CLK_TCK;
  const createPeersCpuS = (await peersCpuS()) - peersBeforeCreate;
  const createMachineCpuS = (await machineCpuS()) - machineBeforeCreate;
  // The cores × the wall time of the same window the CPU was read over.
  const createAvailableS = ((performance.now() - machineWindowCreate) / 1000) * cpus().length;
  const createRequests = countByVerb((await readFile(auditLog, 'utf8')).slice(auditBeforeCreate));
  if (apiserverProfile) log(`kube-apiserver CPU profile of the create window: ${await apiserverProfile}`);
  const secrets = (await list())[0]?.status as { secretsCount?: number } | undefined;
  log(
    `all ${N} Ready in ${(createToReady / 1000).toFixed(1)} s (${secrets?.secretsCount ?? '?'} secrets each)`,
  );

  // 2. One-SMC change latency, alone.
  let token = 0;
  const change = async (name: string): Promise<number> => {
    const value = `bench-${++token}`;
    const t0 = performance.now();
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name,
        body: { metadata: { annotations: { [`${GROUP}/reconcile`]: value } } },
      },
      MERGE,
    );
    for (;;) {
      if (smcs.items.get(name)?.status?.lastHandledReconcileAt === value) return performance.now() - t0;
      await smcs.changed(1000);
    }
  };
  const pick = (i: number) => `smc-${String((i * 37) % N).padStart(4, '0')}`;
  const alone: number[] = [];
  for (let i = 0; i < CHANGES; i++) alone.push(await change(pick(i)));
  log(`one-SMC change alone: p50 ${percentile(alone, 50).toFixed(0)} ms`);

  // 3. Fan-out of a new shared revision, with one-SMC changes made meanwhile.
  const auditBeforeFan = (await readFile(auditLog, 'utf8')).length;
  const cpuBeforeFan = (await procStats(pid)).ticks;
  const peersBeforeFan = await peersCpuS();
  const machineBeforeFan = await machineCpuS();
  const machineWindowFan = performance.now();
  revision = await publish(2);
  const tFan = performance.now();
  const fanned = waitAll('fan-out', (s) => s.status?.lastSyncedRevision === revision).then(
    () => performance.now() - tFan,
  );
  await sleep(500);
  const during: number[] = [];
  for (let i = 0; i < CHANGES; i++) during.push(await change(pick(i + CHANGES)));
  const fanOut = await fanned;
  const fanCpuS = ((await procStats(pid)).ticks - cpuBeforeFan) / CLK_TCK;
  const fanPeersCpuS = (await peersCpuS()) - peersBeforeFan;
  const fanMachineCpuS = (await machineCpuS()) - machineBeforeFan;
  const fanAvailableS = ((performance.now() - machineWindowFan) / 1000) * cpus().length;
  const fanRequests = countByVerb((await readFile(auditLog, 'utf8')).slice(auditBeforeFan));
  log(
    `fan-out ${(fanOut / 1000).toFixed(1)} s; change during it p95 ${percentile(during, 95).toFixed(0)} ms`,
  );

  // 4. Idle: no change for IDLE_S seconds after a settling minute's start.
  await sleep(5_000);
  const auditBefore = (await readFile(auditLog, 'utf8')).length;
  const rvBefore = new Map((await list()).map((s) => [s.metadata.name, JSON.stringify(s.status)]));
  const s0 = await procStats(pid);
  const threads0 = await threadTicks(pid);
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  const s1 = await procStats(pid);
  const threads1 = await threadTicks(pid);
  const heapIdle = await heapStats(port);
  const idleWallS = (performance.now() - t0) / 1000;
  const audit = (await readFile(auditLog, 'utf8')).slice(auditBefore);
  const statusChanged = (await list()).filter(
    (s) => rvBefore.get(s.metadata.name) !== JSON.stringify(s.status),
  ).length;
  clearInterval(sampler);
  if (args['heap-snapshot']) {
    controller.kill('SIGUSR2');
    log(`heap snapshot requested into ${args['heap-snapshot']}; waiting for it to be written`);
    await sleep(30_000);
  }
  smcs.stop();
  const byVerb = countByVerb(audit);
  const perMin = (n: number) => ((n * 60) / idleWallS).toFixed(1);
  const verbs = [...byVerb.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${perMin(n)}`);
  const writes = [...byVerb.entries()]
    .filter(([k]) => /^(create|update|patch|delete)/.test(k))
    .reduce((a, [, n]) => a + n, 0);

  const rows: [string, string][] = [
    ['N (SMCs, one shared GitRepository, Kubernetes store)', String(N)],
    ['create → all Ready', `${(createToReady / 1000).toFixed(1)} s`],
    ['… of which creating the N SMCs (16 at a time)', `${(created / 1000).toFixed(1)} s`],
    [
      'controller CPU, create → all Ready',
      `${createCpuS.toFixed(1)} s (${((createCpuS * 1000) / N).toFixed(1)} ms per SMC)`,
    ],
    [
      'kube-apiserver + etcd CPU, create → all Ready; whole machine',
      `${createPeersCpuS.toFixed(1)} s; ${createMachineCpuS.toFixed(1)} s of ${createAvailableS.toFixed(1)} s available`,
    ],
    ['fan-out of a new shared revision', `${(fanOut / 1000).toFixed(1)} s`],
    [
      'controller CPU during the fan-out',
      `${fanCpuS.toFixed(1)} s (${((fanCpuS * 1000) / N).toFixed(1)} ms per SMC)`,
    ],
    [
      'kube-apiserver + etcd CPU during the fan-out; whole machine',
      `${fanPeersCpuS.toFixed(1)} s; ${fanMachineCpuS.toFixed(1)} s of ${fanAvailableS.toFixed(1)} s available`,
    ],
    [
      `one-SMC change p50 / p95, alone (${CHANGES})`,
      `${percentile(alone, 50).toFixed(0)} / ${percentile(alone, 95).toFixed(0)} ms`,
    ],
    [
      `one-SMC change p50 / p95, during the fan-out (${CHANGES})`,
      `${percentile(during, 50).toFixed(0)} / ${percentile(during, 95).toFixed(0)} ms`,
    ],
    [
      'RSS idle / peak',
      `${(s1.rssKiB / 1024).toFixed(0)} / ${(Math.max(peakDuringRun, s1.hwmKiB) / 1024).toFixed(0)} MiB`,
    ],
    ['V8 heap at idle', heapIdle],
    [`idle CPU (${IDLE_S} s)`, `${((((s1.ticks - s0.ticks) / CLK_TCK) * 100) / idleWallS).toFixed(2)} %`],
    ['… by thread (CPU seconds at idle)', busiestThreads(threads0, threads1)],
    ['apiserver requests per SMC, create → all Ready, by verb', perSmc(createRequests)],
    [
      'apiserver requests per SMC during the fan-out, by verb',
      [...fanRequests.entries()]
        .filter(([k]) => !k.startsWith('watch'))
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k}: ${(n / N).toFixed(2)}`)
        .join(', '),
    ],
    ['apiserver writes per minute at idle (audit log)', perMin(writes)],
    ['apiserver requests per minute at idle, by verb', verbs.join(', ') || 'none'],
    ['SMC statuses changed during idle', `${statusChanged} of ${N}`],
    [
      'machine',
      `${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n| ${'measure'.padEnd(w)} | value |\n|${'-'.repeat(w + 2)}|---|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
} catch (e) {
  log(`failed: ${(e as Error).message}\ncontroller output (tail):\n${controllerOut.slice(-4000)}`);
  process.exitCode = 1;
} finally {
  if (controller && controller.exitCode === null) {
    controller.kill('SIGTERM');
    await new Promise((r) => controller!.once('exit', r));
  }
  if (ns) await removeShippedRbac(kube, ns).catch(() => undefined);
  await artifacts.stop();
  await benchKubeConfig.closeConnections();
  await kube.stop();
  await rm(work, { recursive: true, force: true });
}

/** Requests per SMC by verb (watches left out), most frequent first. */
function perSmc(requests: Map<string, number>): string {
  return [...requests.entries()]
    .filter(([k]) => !k.startsWith('watch'))
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${(n / N).toFixed(2)}`)
    .join(', ');
}

/** Audit log lines (JSON, one per request) counted by `verb resource[/subresource]`. */
function countByVerb(audit: string): Map<string, number> {
  const byVerb = new Map<string, number>();
  for (const line of audit.split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { verb: string; objectRef?: { resource?: string; subresource?: string } };
    const k = `${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    byVerb.set(k, (byVerb.get(k) ?? 0) + 1);
  }
  return byVerb;
}

/** The SMCs of a namespace as one watch sees them; `changed` resolves at the next event (or after `ms`). */
async function followSmcs(
  kubeConfig: KubeConfig,
  namespace: string,
): Promise<{ items: Map<string, SmcItem>; changed(ms: number): Promise<void>; stop(): void }> {
  const items = new Map<string, SmcItem>();
  const waiters = new Set<() => void>();
  let stopped = false;
  let abort: AbortController | undefined;
  let lastRv: string | undefined;
  const watch = new Watch(kubeConfig);
  const start = async (): Promise<void> => {
    abort = await watch.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      { allowWatchBookmarks: true, ...(lastRv ? { resourceVersion: lastRv } : {}) },
      (type: string, obj: SmcItem & { metadata: { resourceVersion?: string } }) => {
        lastRv = obj.metadata.resourceVersion ?? lastRv;
        if (type === 'BOOKMARK') return;
        if (type === 'DELETED') items.delete(obj.metadata.name);
        else items.set(obj.metadata.name, { metadata: { name: obj.metadata.name }, status: obj.status });
        for (const w of [...waiters]) w();
      },
      () => {
        if (!stopped) setTimeout(() => void start().catch(() => undefined), 100);
      },
    );
  };
  await start();
  return {
    items,
    changed: (ms) =>
      new Promise<void>((r) => {
        const done = () => {
          clearTimeout(t);
          waiters.delete(done);
          r();
        };
        const t = setTimeout(done, ms);
        waiters.add(done);
      }),
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}

/**
 * kube-apiserver's Go CPU profile over the next 20 s (/debug/pprof/profile, with the peer's admin
 * client certificate), written to DIR/FILE; resolves to the path.
 */
async function saveApiserverProfile(dir: string, file: string): Promise<string> {
  const pki = join(kube.info.dir, 'pki');
  const [ca, cert, key] = await Promise.all(
    ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(join(pki, f))),
  );
  const url = new URL('/debug/pprof/profile?seconds=20', kube.info.server);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = httpsRequest(url, { ca, cert, key }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`kube-apiserver profile: HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
  await mkdir(dir, { recursive: true });
  const out = join(dir, file);
  await writeFile(out, body);
  return out;
}
