/**
 * Status phases end to end (docs/crd-reference.md): the controller as a separate process (its ServiceAccount,
 * the shipped RBAC) against the GCP Secret Manager emulator behind the fault proxy, whose `hold`
 * keeps the store's writes waiting until the test has looked at the SMC meanwhile. Every status
 * write is seen through a watch on the SMCs (the API server delivers each resourceVersion), so the
 * sequences below are what was written, not what a poll happened to catch. The in-progress phases
 * are written only for a pass still running a second after it started (src/controller/progress.ts):
 * the tests that look at them hold the store's requests for longer.
 *  - a new SMC whose store is slow: Syncing (Reconciling=True, Ready=Unknown, nothing in the store
 *    yet) → Synced — the first in-progress status written is already Syncing, not Pending;
 *  - a new revision: Synced → Syncing (Ready=True kept, the last result's fields kept) → Synced,
 *    with exactly one Syncing write;
 *  - a source with no artifact yet: Pending with Ready=False SourceNotReady, then Synced;
 *  - periodic no-op reconciles: no Syncing write, no provider call; a reconcile request on a slow
 *    store: one;
 *  - backoff retries of a failing sync (the store throttles): Error stays, no Syncing write per
 *    retry; Error → Synced once the store recovers.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { FaultProxy, gcpThrottle, hold } from '../stores/fault-proxy.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { GROUP, type SmcStatusView, VERSION, condition, smcClient } from './smc.js';

const kube = useKube();
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';

let gcp: GcpSecretManagerPeer;
let proxy: FaultProxy;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
let tree: string;
let ns: string;
let smcs: ReturnType<typeof smcClient>;
let watch: SmcWatch;

const log = (): string => controller.log();
const rev = (n: number): string => gitRevision('main', n.toString(16).padStart(40, '0'));

interface Status extends SmcStatusView {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  description?: string;
}

interface WatchedEvent {
  type: string;
  name: string;
  resourceVersion: string;
  status: Status | undefined;
}

interface SmcWatch {
  events: WatchedEvent[];
  /** Events of one SMC from index `from` of `events`. */
  of(name: string, from: number): WatchedEvent[];
  stop(): void;
}

/** Every ADDED/MODIFIED/DELETED of the namespace's SMCs, re-watching from the last one if the watch ends. */
async function watchSmcs(namespace: string): Promise<SmcWatch> {
  const events: WatchedEvent[] = [];
  const w = new Watch(kube().kubeConfig());
  let stopped = false;
  let abort: AbortController | undefined;
  const start = async (resourceVersion?: string): Promise<void> => {
    abort = await w.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/secretmanagerconfigs`,
      resourceVersion ? { resourceVersion } : {},
      (type, obj: { metadata: { name: string; resourceVersion: string }; status?: Status }) => {
        if (type === 'BOOKMARK') return;
        events.push({
          type,
          name: obj.metadata.name,
          resourceVersion: obj.metadata.resourceVersion,
          status: obj.status,
        });
      },
      () => {
        if (!stopped) void start(events.at(-1)?.resourceVersion);
      },
    );
  };
  await start();
  return {
    events,
    of: (name, from) => events.slice(from).filter((e) => e.name === name),
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}

/** Phases in the order they were written, consecutive repeats (and unset phases) dropped. */
function phases(events: WatchedEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const p = e.status?.phase;
    if (p !== undefined && out.at(-1) !== p) out.push(p);
  }
  return out;
}

/** Wait until the watch has delivered a status of `name` (from index `from`) that satisfies `ok`. */
function watched(name: string, from: number, ok: (s: Status) => boolean): Promise<WatchedEvent[]> {
  return waitFor(
    `a watched status of ${name}`,
    async () => {
      const evs = watch.of(name, from);
      return evs.some((e) => e.status && ok(e.status)) ? evs : undefined;
    },
    { log },
  );
}

function spec(project: string, extra: Record<string, unknown> = {}) {
  return {
    sourceRef: { kind: 'GitRepository', name: 'config' },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'sops-age' } } },
    ...extra,
  };
}

async function waitPhase(name: string, phase: string): Promise<Status> {
  return (await smcs.waitStatus(name, (s) => s.phase === phase)) as Status;
}

async function publish(source: string, n: number): Promise<void> {
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: source };
  const artifact = await artifacts.publishDirectory(ref, tree, { revision: rev(n) });
  await setFluxArtifact(kube(), ref, artifact);
}

const gcpSecretNames = (project: string) => gcp.secretNames(project);

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

/** Hold every write (POST) to `project` until the returned function is called. */
function holdWrites(project: string): () => void {
  const held = hold((r) => r.method === 'POST' && r.url.includes(`/projects/${project}/`));
  proxy.inject(held.rule);
  return () => {
    held.release();
    proxy.clearRules();
  };
}

/** `kubectl get smc NAME`: the row split into the printer columns (empty cells kept). */
async function kubectlRow(name: string): Promise<Record<string, string>> {
  const out = await kube().kubectl([
    'get',
    'smc',
    name,
    '-n',
    ns,
    '-o',
    'custom-columns=PHASE:.status.phase,READY:.status.conditions[?(@.type=="Ready")].status',
    '--no-headers',
  ]);
  const [phase = '', ready = ''] = out.trim().split(/\s+/);
  return { phase, ready };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-phases-'));
  tree = join(scratch, 'repo');
  await cp(join(repoRoot, 'examples/gitops'), tree, { recursive: true });
  const demoKey = await readFile(join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  [gcp, artifacts] = await Promise.all([startGcpSecretManager(), startArtifactServer()]);
  proxy = await FaultProxy.start(`http://${gcp.endpoint.host}:${gcp.endpoint.port}`);
  ns = await kube().createNamespace('e2e-phases');
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'sops-age' }, stringData: { 'age.agekey': demoKey } },
    });
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  await publish('config', 1);
  watch = await watchSmcs(ns);
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: proxy.url,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
    MIN_RECONCILE_INTERVAL_SECS: '1',
  });
  smcs = smcClient(kube, ns, log);
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR && controller)
    await writeFile(join(process.env.E2E_LOG_DIR, 'phases-controller.log'), controller.log());
  watch?.stop();
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await Promise.all([proxy?.stop(), gcp?.stop(), artifacts?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('phases of a sync', () => {
  let project: string;

  it('a new SMC, slow store: Syncing while the store works (nothing written yet), then Synced', async () => {
    project = gcp.newProject();
    const release = holdWrites(project);
    const from = watch.events.length;
    await smcs.create('fresh', spec(project));

    // The store's first write is held: the controller is inside the sync.
    await waitFor(
      'the first store write (held)',
      async () => (proxy.count(undefined, 'delay') > 0 ? true : undefined),
      { log },
    );
    const syncing = await waitPhase('fresh', 'Syncing');
    const message = `syncing revision ${rev(1)} (first sync)`;
    expect(condition(syncing, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'Progressing',
      message,
    });
    expect(condition(syncing, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Progressing' });
    expect(condition(syncing, 'Stalled')?.status).toBe('False');
    expect(syncing.description).toBe(message);
    expect(syncing.lastSyncTime).toBeUndefined();
    expect(syncing.lastSyncedRevision).toBeUndefined();
    expect(await kubectlRow('fresh')).toEqual({ phase: 'Syncing', ready: 'Unknown' });
    expect(await gcpSecretNames(project)).toEqual([]);

    release();
    const synced = await waitPhase('fresh', 'Synced');
    expect(condition(synced, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(condition(synced, 'Reconciling')?.status).toBe('False');
    expect(synced.lastSyncedRevision).toBe(rev(1));
    const events = await watched('fresh', from, (s) => s.phase === 'Synced');
    console.log(
      `e2e phases: new SMC, statuses written: ${events.map((e) => e.status?.phase ?? '-').join(' → ')}`,
    );
    expect(events[0]?.type).toBe('ADDED');
    // `Pending` was reported when the pass started and replaced by `Syncing` before the delay was up:
    // only the latest in-progress status is written.
    expect(phases(events)).toEqual(['Syncing', 'Synced']);
    expect(events.filter((e) => e.status?.phase === 'Syncing')).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain('sk_test_demo_51Hx'); // never a value in status
  });

  it('a new revision: Synced → Syncing (Ready=True kept, last result kept) → Synced, one Syncing write', async () => {
    const before = (await smcs.get('fresh'))!.status as Status;
    expect(before.phase).toBe('Synced');
    const props = join(tree, PROPS);
    await writeFile(
      props,
      (await readFile(props, 'utf8')).replace('payments.currency=EUR', 'payments.currency=NOK'),
    );
    const release = holdWrites(project);
    const from = watch.events.length;
    const heldBefore = proxy.count(undefined, 'delay');
    await publish('config', 2);

    await waitFor(
      "the new value's write (held)",
      async () => (proxy.count(undefined, 'delay') > heldBefore ? true : undefined),
      { log },
    );
    const syncing = await waitPhase('fresh', 'Syncing');
    expect(condition(syncing, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'Progressing',
      message: `syncing revision ${rev(2)} (new source revision)`,
    });
    // A routine re-sync of a ready SMC: Ready stays True, with its transition time.
    expect(condition(syncing, 'Ready')).toEqual(condition(before, 'Ready'));
    expect(syncing.lastSyncedRevision).toBe(rev(1));
    expect(syncing.lastSyncTime).toBe(before.lastSyncTime);
    expect(syncing.observedGeneration).toBe(before.observedGeneration);
    expect(await kubectlRow('fresh')).toEqual({ phase: 'Syncing', ready: 'True' });
    expect(await gcpValue(project, 'payments-properties')).toContain('"EUR"');

    release();
    const synced = await smcs.waitStatus(
      'fresh',
      (s) => s.phase === 'Synced' && s.lastSyncedRevision === rev(2),
    );
    expect(await gcpValue(project, 'payments-properties')).toContain('"NOK"');
    expect(condition(synced, 'Ready')?.lastTransitionTime).toBe(
      condition(before, 'Ready')?.lastTransitionTime,
    );
    const events = await watched('fresh', from, (s) => s.lastSyncedRevision === rev(2));
    const written = phases(events);
    console.log(`e2e phases: new revision, phases written: ${written.join(' → ')}`);
    expect(written.slice(-2)).toEqual(['Syncing', 'Synced']);
    expect(written.every((p) => p === 'Synced' || p === 'Syncing')).toBe(true);
    expect(events.filter((e) => e.status?.phase === 'Syncing')).toHaveLength(1);
  });

  it('a source with no artifact yet: Pending (Ready=False SourceNotReady), then Synced once it has one', async () => {
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'later' });
    const from = watch.events.length;
    await smcs.create('waiting', {
      ...spec(gcp.newProject()),
      sourceRef: { kind: 'GitRepository', name: 'later' },
    });
    const s = (await smcs.waitStatus(
      'waiting',
      (x) => condition(x, 'Ready')?.reason === 'SourceNotReady',
    )) as Status;
    expect(s.phase).toBe('Pending');
    expect(condition(s, 'Ready')?.status).toBe('False');
    expect(condition(s, 'Reconciling')?.status).toBe('True');
    expect(condition(s, 'SourceReady')?.status).toBe('False');
    expect(await kubectlRow('waiting')).toEqual({ phase: 'Pending', ready: 'False' });

    await publish('later', 1);
    const synced = await waitPhase('waiting', 'Synced');
    expect(synced.lastSyncedRevision).toBe(rev(1));
    const events = await watched('waiting', from, (x) => x.phase === 'Synced');
    console.log(`e2e phases: waiting for a source, phases written: ${phases(events).join(' → ')}`);
    // Syncing in between only if that pass ran for more than the delay (timing: not asserted).
    expect(phases(events).filter((p) => p !== 'Syncing')).toEqual(['Pending', 'Synced']);
    expect(events.filter((e) => e.status?.phase === 'Syncing').length).toBeLessThanOrEqual(1);
  });
});

describe('a source that does not exist', () => {
  it('Pending, naming the source it waits for; Synced once the source is created', async () => {
    await smcs.create('no-source-yet', {
      ...spec(gcp.newProject()),
      sourceRef: { kind: 'GitRepository', name: 'created-later' },
    });
    const s = (await smcs.waitStatus(
      'no-source-yet',
      (x) => condition(x, 'Ready')?.reason === 'SourceNotFound',
    )) as Status;
    expect(s.phase).toBe('Pending');
    const message = `waiting for GitRepository ${ns}/created-later: not found (create it, or fix spec.sourceRef)`;
    expect(s.description).toBe(message);
    expect(condition(s, 'Ready')?.message).toBe(message);
    expect(condition(s, 'Stalled')?.status).not.toBe('True');
    await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'created-later' });
    await publish('created-later', 1);
    expect((await waitPhase('no-source-yet', 'Synced')).lastSyncedRevision).toBe(rev(1));
  });
});

describe('no-op reconciles', () => {
  let quietProject: string;

  it('periodic reconciles of an unchanged SMC write no status and call no provider', async () => {
    quietProject = gcp.newProject();
    await smcs.create('quiet', spec(quietProject, { reconcileInterval: '1s' }));
    await waitPhase('quiet', 'Synced');
    await watched('quiet', 0, (s) => s.phase === 'Synced');
    const from = watch.events.length;
    const calls = await controller.metric('secret_manager_provider_operations_total');
    const skipped = await controller.metric('secret_manager_reconciliations_total', { result: 'skipped' });
    const skippedAfter = await waitFor(
      'three periodic reconciles',
      async () => {
        const n = await controller.metric('secret_manager_reconciliations_total', { result: 'skipped' });
        return n >= skipped + 3 ? n : undefined;
      },
      { log },
    );
    expect(await controller.metric('secret_manager_provider_operations_total')).toBe(calls);
    const events = watch.of('quiet', from);
    console.log(
      `e2e phases: ${skippedAfter - skipped} skipped reconciles (all SMCs), ${events.length} status writes of the periodic SMC`,
    );
    // Silent when idle: an unchanged pass computes the status already on the server and writes
    // nothing (src/controller/status.ts, statusChanged), not even the schedule.
    expect(events.map((e) => e.status?.phase)).toEqual([]);
  });

  it('a reconcile request on a slow store runs a pass: exactly one Syncing write naming it, Ready=True throughout', async () => {
    // Every request to the store waits until the Syncing write was seen (a pass that ends within
    // the delay writes no Syncing: tested without a cluster in test/controller/status-phases.test.ts).
    const held = hold((r) => r.url.includes(`/projects/${quietProject}/`));
    proxy.inject(held.rule);
    const from = watch.events.length;
    await kube()
      .client(CustomObjectsApi)
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'secretmanagerconfigs',
          name: 'quiet',
          body: { metadata: { annotations: { [`${GROUP}/reconcile`]: 'phases-1' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await watched('quiet', from, (s) => s.phase === 'Syncing');
    held.release();
    proxy.clearRules();
    const events = await watched('quiet', from, (s) => s.lastHandledReconcileAt === 'phases-1');
    const syncing = events.filter((e) => e.status?.phase === 'Syncing');
    expect(syncing).toHaveLength(1);
    expect(condition(syncing[0]!.status, 'Reconciling')?.message).toBe(
      `syncing revision ${rev(2)} (reconcile requested)`,
    );
    // The request is recorded by the final write only (msmctl reconcile --wait waits for it).
    expect(syncing[0]!.status?.lastHandledReconcileAt).toBeUndefined();
    for (const e of events) expect(condition(e.status, 'Ready')?.status).toBe('True');
    expect(events.at(-1)?.status?.phase).toBe('Synced');
  });
});

describe('retries', () => {
  it('backoff retries of the revision that failed write no Syncing status; Error → Synced at the end', async () => {
    const project = gcp.newProject();
    proxy.inject(gcpThrottle((r) => r.method === 'POST' && r.url.includes(`/projects/${project}/`)));
    await smcs.create('retrying', spec(project));
    const failed = (await smcs.waitStatus(
      'retrying',
      (x) => condition(x, 'Ready')?.reason === 'Throttled',
      60_000,
    )) as Status;
    expect(failed.phase).toBe('Error');
    const from = watch.events.length;
    const errors = await controller.metric('secret_manager_reconciliations_total', { result: 'error' });
    await waitFor(
      'another failed attempt',
      async () =>
        (await controller.metric('secret_manager_reconciliations_total', { result: 'error' })) >= errors + 1
          ? true
          : undefined,
      { timeoutMs: 60_000, log },
    );
    proxy.clearRules();
    await waitPhase('retrying', 'Synced');
    const events = await watched('retrying', from, (x) => x.phase === 'Synced');
    console.log(
      `e2e phases: retries, ${events.length} status writes from the first failure to Synced: ${phases(events).join(' → ')}`,
    );
    expect(phases(events)).toEqual(['Error', 'Synced']);
    expect(events.filter((e) => e.status?.phase === 'Error').length).toBeGreaterThanOrEqual(1);
  });
});
