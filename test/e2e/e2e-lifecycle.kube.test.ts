/**
 * The SMC lifecycle end to end, the controller as a separate process (its ServiceAccount, the
 * shipped RBAC) against the GCP Secret Manager emulator: the finalizer and `deletionPolicy` when an
 * SMC is deleted (a `Retain` SMC carries no finalizer); store verification on a short `drift_check_interval` (settings env) — a value
 * changed out of band is reported (`Drifted`, Event, metric) and, with `driftPolicy: Correct`,
 * restored; a deleted entry is re-created.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSecretManagerPeer } from '../peers/cloud/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { type ExampleSource, setUpExampleSource } from './example-source.js';
import { condition, smcClient } from './smc.js';

const kube = useKube();
const FINALIZER = 'secret-management.octopilot.io/finalizer';

let world: ExampleSource;
let gcp: GcpSecretManagerPeer;
let controller: ControllerProcess;
let ns: string;
let smcs: ReturnType<typeof smcClient>;

const gcpSecretNames = (project: string) => gcp.secretNames(project);

const spec = (project: string, extra: Record<string, unknown> = {}) => world.spec(project, extra);

beforeAll(async () => {
  world = await setUpExampleSource(kube(), 'lifecycle');
  ({ gcp, namespace: ns } = world);
  controller = await startController({
    ...world.controllerEnv,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
    // Store verification every 10 s (the minimum); SMCs below re-check every 2 s.
    DRIFT_CHECK_INTERVAL: '10s',
    MIN_RECONCILE_INTERVAL_SECS: '1',
  });
  smcs = smcClient(kube, ns, () => controller.log());
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await world?.tearDown();
  expect(code).toBe(0);
});

describe('finalizer and deletionPolicy', () => {
  it('deletionPolicy Delete: deleting the SMC deletes its entries, then the SMC disappears', async () => {
    const project = gcp.newProject();
    await smcs.create('gone', spec(project, { deletionPolicy: 'Delete' }));
    const s = await smcs.waitStatus('gone', (x) => x.phase === 'Synced');
    expect(s.secretsCount).toBeGreaterThanOrEqual(5);
    expect((await smcs.get('gone'))?.metadata.finalizers).toContain(FINALIZER);
    expect((await gcpSecretNames(project)).length).toBe(s.entries?.length);
    const t0 = performance.now();
    await smcs.delete('gone');
    await smcs.waitGone('gone');
    console.log(`e2e: SMC with deletionPolicy Delete finalized in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(await gcpSecretNames(project)).toEqual([]);
  });

  it('deletionPolicy Disable: entries stay, every version disabled', async () => {
    const project = gcp.newProject();
    await smcs.create('disabled', spec(project, { deletionPolicy: 'Disable' }));
    await smcs.waitStatus('disabled', (x) => x.phase === 'Synced');
    const names = await gcpSecretNames(project);
    expect(names.length).toBeGreaterThanOrEqual(5);
    await smcs.delete('disabled');
    await smcs.waitGone('disabled');
    expect((await gcpSecretNames(project)).sort()).toEqual(names.sort());
    for (const n of names) {
      const [versions] = await gcp
        .client()
        .listSecretVersions({ parent: `projects/${project}/secrets/${n}` });
      expect(versions.length).toBeGreaterThan(0);
      expect(versions.filter((v) => v.state === 'ENABLED').map((v) => v.name)).toEqual([]);
    }
  });

  it('deletionPolicy Retain (default): no finalizer; the SMC disappears, its entries stay', async () => {
    const project = gcp.newProject();
    await smcs.create('kept', spec(project));
    await smcs.waitStatus('kept', (x) => x.phase === 'Synced');
    const before = await gcpSecretNames(project);
    expect(before.length).toBeGreaterThanOrEqual(5);
    const finalizers = async () => (await smcs.get('kept'))?.metadata.finalizers ?? [];
    expect(await finalizers()).not.toContain(FINALIZER);
    // Delete needs the finalizer, Retain again does not: it comes and goes with the policy.
    await smcs.patch('kept', { spec: { deletionPolicy: 'Delete' } });
    await waitFor(
      'the finalizer for Delete',
      async () => ((await finalizers()).includes(FINALIZER) ? true : undefined),
      {
        log: () => controller.log(),
      },
    );
    await smcs.patch('kept', { spec: { deletionPolicy: 'Retain' } });
    await waitFor(
      'no finalizer for Retain',
      async () => ((await finalizers()).includes(FINALIZER) ? undefined : true),
      {
        log: () => controller.log(),
      },
    );
    await smcs.delete('kept');
    await smcs.waitGone('kept');
    expect((await gcpSecretNames(project)).sort()).toEqual(before.sort());
  });
});

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

async function changeOutOfBand(project: string, secret: string, value: string): Promise<void> {
  await gcp.client().addSecretVersion({
    parent: `projects/${project}/secrets/${secret}`,
    payload: { data: Buffer.from(value) },
  });
}

async function eventMessages(name: string, reason: string): Promise<string[]> {
  const list = await kube()
    .client(CoreV1Api)
    .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name},reason=${reason}` });
  return list.items.map((e) => e.message ?? '');
}

describe('store verification and drift (drift_check_interval 10 s)', () => {
  const SECRET = 'payments-STRIPE_API_KEY';
  const GIT_VALUE = 'sk_test_demo_51Hx';
  const OUT_OF_BAND = 'changed-in-the-console';

  it('diffDiscovery + Report: Drifted=True naming the entry, a Warning Event, the metric; value left', async () => {
    const project = gcp.newProject();
    await smcs.create('drift-report', spec(project, { diffDiscovery: true, reconcileInterval: '2s' }));
    await smcs.waitStatus('drift-report', (x) => x.phase === 'Synced');
    expect(await gcpValue(project, SECRET)).toBe(GIT_VALUE);
    await changeOutOfBand(project, SECRET, OUT_OF_BAND);
    const t0 = performance.now();
    const s = await smcs.waitStatus(
      'drift-report',
      (x) => condition(x, 'Drifted')?.status === 'True',
      40_000,
    );
    console.log(`e2e: out-of-band change reported as drift in ${(performance.now() - t0).toFixed(0)} ms`);
    const drifted = condition(s, 'Drifted')!;
    expect(drifted.reason).toBe('DriftDetected');
    expect(drifted.message).toContain(SECRET);
    expect(s.entries?.find((e) => e.storeName === SECRET)?.state).toBe('Drifted');
    expect(JSON.stringify(s)).not.toContain(OUT_OF_BAND);
    expect(condition(s, 'Ready')?.status).toBe('True');
    const events = await waitFor('a DriftDetected Event', async () => {
      const m = await eventMessages('drift-report', 'DriftDetected');
      return m.length ? m : undefined;
    });
    expect(events.join('\n')).toContain(SECRET);
    expect(
      await controller.metric('secret_manager_secrets_diff_detected_total', { provider: 'gcp' }),
    ).toBeGreaterThanOrEqual(1);
    // Report leaves the store as found.
    expect(await gcpValue(project, SECRET)).toBe(OUT_OF_BAND);
    expect(controller.log()).not.toContain(OUT_OF_BAND);
  });

  it('driftPolicy Correct: the drifted value is restored from Git, a deleted entry re-created', async () => {
    const project = gcp.newProject();
    await smcs.create(
      'drift-correct',
      spec(project, { diffDiscovery: true, driftPolicy: 'Correct', reconcileInterval: '2s' }),
    );
    await smcs.waitStatus('drift-correct', (x) => x.phase === 'Synced');
    await changeOutOfBand(project, SECRET, OUT_OF_BAND);
    await gcp.client().deleteSecret({ name: `projects/${project}/secrets/payments-DATABASE_URL` });
    const t0 = performance.now();
    await waitFor(
      'the drifted value restored',
      async () => ((await gcpValue(project, SECRET)) === GIT_VALUE ? true : undefined),
      { timeoutMs: 40_000, log: () => controller.log() },
    );
    console.log(`e2e: drifted value restored from Git in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(await gcpValue(project, 'payments-DATABASE_URL')).toBeDefined();
    const s = await smcs.waitStatus(
      'drift-correct',
      (x) => condition(x, 'Drifted')?.reason === 'DriftCorrected',
    );
    expect(condition(s, 'Drifted')?.status).toBe('False');
    expect(condition(s, 'Drifted')?.message).toContain(SECRET);
    // The Event is recorded after the status write: wait for it rather than read it once.
    const events = await waitFor('a DriftDetected Event naming the entry', async () => {
      const m = (await eventMessages('drift-correct', 'DriftDetected')).join('\n');
      return m.includes(SECRET) ? m : undefined;
    });
    expect(events).toContain('restored from Git');
  });
});
