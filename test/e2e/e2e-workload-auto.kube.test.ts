/**
 * Automatic workload reload (`spec.hotReload.workloads: auto`, docs/hot-reload.md) end to end on the
 * real kube-apiserver, the controller running as a separate process with its ServiceAccount and the
 * shipped RBAC. The apiserver has no kube-controller-manager and no kubelet: Deployments never get
 * pods of their own, so a restart shows as a new `metadata.generation` (the pod template changed),
 * and the evict strategy's pods are created by hand, with the test playing the ReplicaSet
 * controller (a replacement for each evicted pod) and the disruption controller (the
 * PodDisruptionBudget's status); the Eviction API and its PDB check are the apiserver's own.
 *
 * - a change to one key restarts exactly the 5 workloads reading it as an env var, notifies the 5
 *   mounting the Secret as a volume, leaves a workload reading another key alone;
 * - a new revision with identical content restarts nothing;
 * - one revision changing two SMCs restarts each workload reading both once;
 * - a controller killed mid-fan-out (rate limited after 2 restarts) and a new one started: every
 *   workload restarted exactly once;
 * - evict: pods replaced one at a time through the Eviction API, waiting while a PDB forbids it,
 *   every workload's `metadata.generation` unchanged.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PolicyV1Api,
  type V1Deployment,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { createPod } from './workloads.js';

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const RESTARTED_FOR = `${GROUP}/restartedFor`;
const RELOADED_FOR = `${GROUP}/reloaded-for`;
const CONTAINER = { name: 'app', image: 'registry.example/app:1' };
/** Store names of the keys (`<service>-<KEY>`) in Secrets `app` and `app2`. */
const DB = 'svc-DB_PASSWORD';
const API_KEY = 'svc-API_KEY';
const TOKEN = 'svc2-TOKEN';

let artifacts: ArtifactServer;
let controller: ControllerProcess;
let access: { kubeconfigPath: string };
let scratch: string;
let ns: string;
/** Every value ever written: none may show up in status, Events, annotations or logs. */
const canaries: string[] = [];
let serial = 0;

const commit = (n: number): string => n.toString(16).padStart(40, '0');
// Each test starts or restarts controller processes (8–14 s each on a loaded 2-core machine, more
// under CI load): the default 60 s is too short for the kill-and-restart case.
vi.setConfig({ testTimeout: 240_000 });

const revision = (n: number): string => gitRevision('main', commit(n));

/** Write the two services' plain secrets files (allowPlaintext) with fresh canary values where asked. */
const values = { db: '', apiKey: '', token: '' };
function canary(what: string): string {
  const v = `canary-${what}-${++serial}-${Math.random().toString(36).slice(2)}`;
  canaries.push(v);
  return v;
}
async function writeTree(): Promise<void> {
  const one = join(scratch, 'repo/one/svc/deployment-configuration/profiles/dev/application.secrets.env');
  const two = join(scratch, 'repo/two/svc2/deployment-configuration/profiles/dev/application.secrets.env');
  await mkdir(dirname(one), { recursive: true });
  await mkdir(dirname(two), { recursive: true });
  await writeFile(one, `DB_PASSWORD=${values.db}\nAPI_KEY=${values.apiKey}\n`);
  await writeFile(two, `TOKEN=${values.token}\n`);
}
async function publish(n: number): Promise<void> {
  await writeTree();
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, join(scratch, 'repo'), { revision: revision(n) });
  await setFluxArtifact(kube(), ref, artifact);
}

interface WorkloadResult {
  workload: string;
  result: string;
  reason: string;
  changeSets: string[];
}
interface SmcStatus {
  phase?: string;
  lastSyncedRevision?: string;
  hotReload?: {
    changeSet?: { id: string; revision?: string; secret: string; keys: string[] };
    workloads?: WorkloadResult[];
  };
}
async function smcStatus(name: string): Promise<SmcStatus> {
  const o = (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: 'v1beta1',
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name,
  })) as { status?: SmcStatus };
  return o.status ?? {};
}
async function createSmc(name: string, basePath: string): Promise<void> {
  await kube()
    .client(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: GROUP,
      version: 'v1beta1',
      namespace: ns,
      plural: 'secretmanagerconfigs',
      body: {
        apiVersion: `${GROUP}/v1beta1`,
        kind: 'SecretManagerConfig',
        metadata: { name, namespace: ns },
        spec: {
          sourceRef: { kind: 'GitRepository', name: 'config' },
          provider: { kubernetes: {} },
          secrets: { environment: 'dev', basePath, sops: { enabled: false }, allowPlaintext: true },
          hotReload: { workloads: 'auto' },
        },
      },
    });
}
async function waitSynced(name: string, n: number): Promise<SmcStatus> {
  return waitFor(
    `${name} synced at revision ${n}`,
    async () => {
      const s = await smcStatus(name);
      return s.phase === 'Synced' && s.lastSyncedRevision === revision(n) ? s : undefined;
    },
    { timeoutMs: 30_000, log: () => controller.log() },
  );
}
/** Wait until the SMC's `status.hotReload.workloads` is about change-set `id` and lists `count` workloads. */
async function waitResults(name: string, id: string, count: number): Promise<Map<string, WorkloadResult>> {
  return waitFor(
    `${count} workload results of change-set ${id} on ${name}`,
    async () => {
      const s = await smcStatus(name);
      const list = (s.hotReload?.workloads ?? []).filter((r) => r.changeSets.includes(id));
      return list.length === count ? new Map(list.map((r) => [r.workload, r])) : undefined;
    },
    { timeoutMs: 30_000, log: () => controller.log() },
  );
}

const envSpec = (...refs: [string, string, string][]): V1PodSpec => ({
  containers: [
    {
      ...CONTAINER,
      env: refs.map(([env, secret, key]) => ({
        name: env,
        valueFrom: { secretKeyRef: { name: secret, key } },
      })),
    },
  ],
});
const volumeSpec: V1PodSpec = {
  volumes: [{ name: 'secrets', secret: { secretName: 'app' } }],
  containers: [{ ...CONTAINER, volumeMounts: [{ name: 'secrets', mountPath: '/etc/app' }] }],
};
async function createDeployment(
  name: string,
  spec: V1PodSpec,
  annotations: Record<string, string> = {},
  replicas = 1,
): Promise<void> {
  await kube()
    .client(AppsV1Api)
    .createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name, annotations },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec },
        },
      },
    });
}
const deployment = (name: string): Promise<V1Deployment> =>
  kube().client(AppsV1Api).readNamespacedDeployment({ namespace: ns, name });
/** A workload named `Kind/name` (Deployment, StatefulSet or DaemonSet) reading Secrets as `spec` says. */
async function createWorkload(id: string, spec: V1PodSpec): Promise<void> {
  const [kind, name = ''] = id.split('/');
  const apps = kube().client(AppsV1Api);
  const body = {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec },
    },
  };
  if (kind === 'Deployment') await createDeployment(name, spec);
  else if (kind === 'StatefulSet')
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: { ...body, spec: { ...body.spec, serviceName: name } },
    });
  else await apps.createNamespacedDaemonSet({ namespace: ns, body });
}
async function generations(ids: readonly string[]): Promise<Record<string, number>> {
  const apps = kube().client(AppsV1Api);
  const out: Record<string, number> = {};
  for (const id of ids) {
    const [kind, name = ''] = id.split('/');
    const o =
      kind === 'Deployment'
        ? await apps.readNamespacedDeployment({ namespace: ns, name })
        : kind === 'StatefulSet'
          ? await apps.readNamespacedStatefulSet({ namespace: ns, name })
          : await apps.readNamespacedDaemonSet({ namespace: ns, name });
    out[id] = o.metadata?.generation ?? 0;
  }
  return out;
}

/** 5 env-var readers of DB_PASSWORD and 5 volume readers, across the workload kinds. */
const ENV = [...[0, 1, 2, 3].map((i) => `Deployment/env-${i}`), 'StatefulSet/env-4'];
const VOL = [...[0, 1, 2, 3].map((i) => `Deployment/vol-${i}`), 'DaemonSet/vol-4'];
/** Readers of both SMCs' Secrets (DB_PASSWORD of `app`, TOKEN of `app2`). */
const BOTH = [0, 1, 2].map((i) => `Deployment/both-${i}`);
const ALL = [...ENV, ...VOL, ...BOTH, 'Deployment/api-key-user'];

function controllerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    KUBECONFIG: access.kubeconfigPath,
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
    WORKLOAD_RELOAD_WINDOW_MS: '1000',
    WORKLOAD_RESTART_MIN_INTERVAL_SECS: '0',
    WORKLOAD_RESTARTS_PER_NAMESPACE_PER_MINUTE: '0',
    ...extra,
  };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-workload-auto-'));
  artifacts = await startArtifactServer();
  ns = await kube().createNamespace('e2e-workload-auto');
  for (const id of ENV) await createWorkload(id, envSpec(['DB_PASSWORD', 'app', DB]));
  for (const id of VOL) await createWorkload(id, volumeSpec);
  for (const id of BOTH)
    await createWorkload(id, envSpec(['DB_PASSWORD', 'app', DB], ['TOKEN', 'app2', TOKEN]));
  await createWorkload('Deployment/api-key-user', envSpec(['API_KEY', 'app', API_KEY]));

  access = await shippedRbacAccess(kube(), ns);
  controller = await startController(controllerEnv());
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  values.db = canary('db');
  values.apiKey = canary('api');
  values.token = canary('token');
  await publish(1);
  await createSmc('app', 'one');
  await createSmc('app2', 'two');
  // The first sync creates every key: it restarts every reader once (and notifies the volume users).
  const first = (await waitSynced('app', 1)).hotReload!.changeSet!;
  expect(first.keys).toEqual([API_KEY, DB]);
  await waitResults('app', first.id, 14);
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR)
    await writeFile(join(process.env.E2E_LOG_DIR, 'workload-auto.log'), controller?.log() ?? '');
  const code = await controller?.stop();
  // Nothing written anywhere shows a value.
  const events = await kube().client(CoreV1Api).listNamespacedEvent({ namespace: ns });
  const deployments = await kube().client(AppsV1Api).listNamespacedDeployment({ namespace: ns });
  const statuses = JSON.stringify([await smcStatus('app'), await smcStatus('app2')]);
  const seen = `${JSON.stringify(events.items.map((e) => e.message))}${JSON.stringify(deployments.items.map((d) => [d.metadata?.annotations, d.spec?.template.metadata?.annotations]))}${statuses}${controller?.log() ?? ''}`;
  for (const c of canaries) expect(seen).not.toContain(c);
  await removeShippedRbac(kube(), ns);
  await artifacts?.stop();
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('spec.hotReload.workloads: auto', () => {
  it('a change to one key restarts exactly the 5 env-var readers and notifies the 5 volume readers', async () => {
    const before = await generations(ALL);
    values.db = canary('db');
    await publish(2);
    const cs = (await waitSynced('app', 2)).hotReload!.changeSet!;
    expect(cs).toMatchObject({ revision: revision(2), secret: 'app', keys: [DB] });
    // 5 env readers, 5 volume readers, 3 readers of both Secrets; not the API_KEY reader.
    const results = await waitResults('app', cs.id, 13);
    for (const n of [...ENV, ...BOTH])
      expect(results.get(n)).toMatchObject({
        workload: n,
        result: 'restarted',
        reason: 'env var DB_PASSWORD',
      });
    for (const n of VOL)
      expect(results.get(n)).toMatchObject({
        workload: n,
        result: 'notified',
        reason: `updates live: volume mount /etc/app (${DB})`,
      });
    const after = await generations(ALL);
    for (const n of [...ENV, ...BOTH]) expect(after[n], n).toBe(before[n]! + 1);
    for (const n of [...VOL, 'Deployment/api-key-user']) expect(after[n], n).toBe(before[n]);
    const env0 = await deployment('env-0');
    expect(env0.metadata?.annotations?.[RELOADED_FOR]?.split(',').at(-1)).toBe(cs.id);
    expect(env0.spec?.template.metadata?.annotations?.[RESTARTED_FOR]).toBe(`app@${cs.id}`);
    // Events name the workload and why.
    const events = await kube().client(CoreV1Api).listNamespacedEvent({
      namespace: ns,
      fieldSelector: 'involvedObject.name=app,reason=WorkloadRestarted',
    });
    expect(events.items.map((e) => e.message)).toContain('Deployment/env-0 restarted: env var DB_PASSWORD');
    expect(
      await controller.metric('secret_manager_workload_reloads_total', { strategy: 'live' }),
    ).toBeGreaterThanOrEqual(10);
  });

  it('a new revision with identical content restarts nothing', async () => {
    const before = await generations(ALL);
    const csBefore = (await smcStatus('app')).hotReload?.changeSet;
    await publish(3);
    await waitSynced('app', 3);
    await waitSynced('app2', 3);
    // No value changed, so no change-set was made: nothing could be restarted.
    expect((await smcStatus('app')).hotReload?.changeSet).toEqual(csBefore);
    expect(await generations(ALL)).toEqual(before);
  });

  it('one revision changing two SMCs restarts each workload once', async () => {
    const before = await generations(ALL);
    values.db = canary('db');
    values.token = canary('token');
    await publish(4);
    const a = (await waitSynced('app', 4)).hotReload!.changeSet!;
    const b = (await waitSynced('app2', 4)).hotReload!.changeSet!;
    expect(b).toMatchObject({ secret: 'app2', keys: [TOKEN] });
    await waitResults('app', a.id, 13);
    const fromB = await waitResults('app2', b.id, 3);
    for (const n of BOTH) expect(fromB.get(n)?.result).toBe('restarted');
    const after = await generations(ALL);
    for (const n of [...ENV, ...BOTH]) expect(after[n], n).toBe(before[n]! + 1);
    for (const n of [...VOL, 'Deployment/api-key-user']) expect(after[n], n).toBe(before[n]);
    const both = await deployment('both-0');
    expect(both.metadata?.annotations?.[RELOADED_FOR]?.split(',').slice(-2).sort()).toEqual(
      [a.id, b.id].sort(),
    );
  });

  it('a controller killed mid-fan-out, and a new one started: every workload restarted exactly once', async () => {
    await controller.stop();
    // Two restarts a minute in the namespace: the fan-out of 8 stops after 2.
    controller = await startController(controllerEnv({ WORKLOAD_RESTARTS_PER_NAMESPACE_PER_MINUTE: '2' }));
    const before = await generations(ALL);
    values.db = canary('db');
    await publish(5);
    const cs = (await waitSynced('app', 5)).hotReload!.changeSet!;
    const partial = await waitResults('app', cs.id, 13);
    const restarted = [...partial.values()].filter((r) => r.result === 'restarted');
    const limited = [...partial.values()].filter((r) => r.result === 'skipped');
    expect(restarted).toHaveLength(2);
    expect(limited).toHaveLength(6);
    expect(limited[0]!.reason).toMatch(
      /^rate limited: 2 restarts per minute in namespace \S+ \(workload_restarts_per_namespace_per_minute\); retry in \d+s \(needs a restart: env var DB_PASSWORD\)$/,
    );
    await controller.kill();
    const mid = await generations(ALL);
    const done = [...ENV, ...BOTH].filter((n) => mid[n] === before[n]! + 1);
    expect(done.sort()).toEqual(restarted.map((r) => r.workload).sort());

    controller = await startController(controllerEnv());
    // The new controller resumes the change-set from the SMC's status: the 6 left are restarted …
    await waitFor(
      'the 6 workloads left restarted',
      async () => {
        const g = await generations([...ENV, ...BOTH]);
        return [...ENV, ...BOTH].every((n) => g[n] === before[n]! + 1) ? true : undefined;
      },
      { timeoutMs: 30_000, log: () => controller.log() },
    );
    // … and the 2 done are declined as already reloaded for it (counted, not restarted).
    await waitFor(
      'the 2 done declined',
      async () =>
        (await controller.metric('secret_manager_workload_reloads_total', {
          strategy: 'restart',
          result: 'skipped',
        })) >= 2
          ? true
          : undefined,
      { log: () => controller.log() },
    );
    expect(
      await controller.metric('secret_manager_workload_reloads_total', {
        strategy: 'restart',
        result: 'success',
      }),
    ).toBe(6);
    const after = await generations(ALL);
    for (const n of [...ENV, ...BOTH]) expect(after[n], n).toBe(before[n]! + 1);
    for (const n of [...VOL, 'Deployment/api-key-user']) expect(after[n], n).toBe(before[n]);
  });

  it('evict replaces pods one at a time through the Eviction API, honouring a PDB, generation unchanged', async () => {
    const core = kube().client(CoreV1Api);
    const policy = kube().client(PolicyV1Api);
    await createDeployment(
      'ev',
      envSpec(['DB_PASSWORD', 'app', DB]),
      { [`${GROUP}/reload-strategy`]: 'evict' },
      2,
    );
    await createPod(kube(), ns, 'ev-old-1', 'ev', { podIP: '10.0.0.1', ready: true });
    await createPod(kube(), ns, 'ev-old-2', 'ev', { podIP: '10.0.0.2', ready: true });
    await policy.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: 'ev' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'ev' } } } },
    });
    // The disruption controller's part: how many pods may go now.
    const allow = async (n: number) => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'ev' });
      await policy.replaceNamespacedPodDisruptionBudgetStatus({
        namespace: ns,
        name: 'ev',
        body: {
          ...pdb,
          status: {
            observedGeneration: pdb.metadata?.generation ?? 1,
            disruptionsAllowed: n,
            currentHealthy: 2,
            desiredHealthy: 1,
            expectedPods: 2,
          },
        },
      });
    };
    await allow(0);
    const pods = async () =>
      (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=ev' })).items.map(
        (p) => p.metadata!.name!,
      );
    const evGeneration = (await deployment('ev')).metadata?.generation;
    const untouched = (d: V1Deployment) =>
      JSON.stringify([d.metadata?.annotations, d.metadata?.labels, d.spec]);
    const original = untouched(await deployment('ev'));

    // The ReplicaSet controller's part: a ready replacement for each pod evicted, at most 2 pods.
    let replacements = 0;
    let maxMissing = 0;
    let stop = false;
    let replenish = false;
    const replicaSet = (async () => {
      while (!stop) {
        try {
          const now = await pods();
          maxMissing = Math.max(maxMissing, 2 - now.length);
          if (now.length < 2) {
            const name = `ev-new-${replacements + 1}`;
            await createPod(kube(), ns, name, 'ev', { podIP: `10.0.1.${replacements + 1}`, ready: true });
            replacements++;
          }
          if (now.length < 2 || replenish) {
            await allow(1); // healthy again: one more may go
            replenish = false;
          }
        } catch {
          // A conflict with the apiserver's own PDB status write: look again.
          replenish = true;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    values.db = canary('db');
    await publish(6);
    const cs = (await waitSynced('app', 6)).hotReload!.changeSet!;
    // The PDB allows nothing: the eviction is refused by the apiserver, reported, and retried.
    const blocked = await waitFor(
      'the blocked eviction reported',
      async () => {
        const r = (await smcStatus('app')).hotReload?.workloads?.find((x) => x.workload === 'Deployment/ev');
        return r && cs.id === (await smcStatus('app')).hotReload?.changeSet?.id ? r : undefined;
      },
      { timeoutMs: 30_000, log: () => controller.log() },
    );
    expect(blocked.result).toBe('skipped');
    expect(blocked.reason).toMatch(
      /^eviction of pod ev-old-1 refused by a PodDisruptionBudget; 2 pod\(s\) left, retrying/,
    );
    expect((await pods()).sort()).toEqual(['ev-old-1', 'ev-old-2']);
    await allow(1);
    const evicted = await waitFor(
      'the evictions done',
      async () => {
        const r = (await smcStatus('app')).hotReload?.workloads?.find((x) => x.workload === 'Deployment/ev');
        return r?.result === 'evicted' ? r : undefined;
      },
      { timeoutMs: 60_000, log: () => controller.log() },
    );
    stop = true;
    await replicaSet;
    expect(evicted.reason).toBe('2 pod(s) evicted (env var DB_PASSWORD)');
    expect((await pods()).sort()).toEqual(['ev-new-1', 'ev-new-2']);
    expect(maxMissing).toBe(1); // one at a time
    const ev = await deployment('ev');
    expect(ev.metadata?.generation).toBe(evGeneration);
    expect(untouched(ev)).toBe(original); // no annotation, no label, no spec change: nothing for GitOps to see
    // The other workloads were restarted by rolling, as before; evict never changed a generation.
    expect(
      await controller.metric('secret_manager_workload_reloads_total', {
        strategy: 'evict',
        result: 'success',
      }),
    ).toBe(1);
  });
});
