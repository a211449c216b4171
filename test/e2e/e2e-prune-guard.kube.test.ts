/**
 * A typo never empties a store (docs/security.md), end to end: the controller as a separate process
 * (its ServiceAccount, the shipped RBAC) against the GCP Secret Manager emulator, on the example
 * repository with `deletionPolicy: Delete`.
 * - An environment with no profile directory: `Ready=False` (`EnvironmentNotFound`), nothing deleted.
 * - A source revision that would remove every entry: `Ready=False` (`PruneAllRefused`) and a Warning
 *   Event, nothing deleted; the next good revision recovers by itself.
 * - `spec.allowPruneAll: true` lets that revision prune; deleting the SMC always applies
 *   `deletionPolicy` (the finalizer is an explicit intent, not a prune-all).
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSecretManagerPeer } from '../peers/cloud/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController } from './controller-process.js';
import { type ExampleSource, commit, setUpExampleSource } from './example-source.js';
import { type SmcStatusView, condition, smcClient } from './smc.js';

const kube = useKube();
const NAME = 'guarded';
/** Every file the example's dev profiles hold: without them the dev environment renders nothing. */
const DEV_FILES = [
  'payments/deployment-configuration/profiles/dev/application.secrets.env',
  'payments/deployment-configuration/profiles/dev/application.properties',
  'catalog/deployment-configuration/profiles/dev/application.secrets.yaml',
  'catalog/deployment-configuration/profiles/dev/application.properties',
];
const STRIPE = 'sk_test_demo_51Hx'; // payments STRIPE_API_KEY in the example

let world: ExampleSource;
let gcp: GcpSecretManagerPeer;
let controller: ControllerProcess;
let smcs: ReturnType<typeof smcClient>;
let project: string;
let names: string[];
/** The example with its dev profile files removed (the profile directories stay). */
let emptied: string;

const ready = (s: SmcStatusView) => condition(s, 'Ready');
const storeNames = () => gcp.secretNames(project);

beforeAll(async () => {
  world = await setUpExampleSource(kube(), 'prune-guard');
  gcp = world.gcp;
  emptied = join(world.scratch, 'emptied');
  await cp(world.tree, emptied, { recursive: true });
  for (const f of DEV_FILES) await rm(join(emptied, f));
  controller = await startController({
    ...world.controllerEnv,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  });
  smcs = smcClient(kube, world.namespace, () => controller.log());
  project = gcp.newProject();
  await smcs.create(NAME, world.spec(project, { deletionPolicy: 'Delete' }));
  await smcs.waitStatus(NAME, (s) => s.phase === 'Synced');
  names = (await storeNames()).sort();
}, 180_000);

afterAll(async () => {
  const code = await controller?.stop();
  await world?.tearDown();
  expect(code).toBe(0);
});

describe('a typo never empties the store', () => {
  it('the synced example fills the store', () => {
    expect(names).toEqual(expect.arrayContaining(['payments-STRIPE_API_KEY', 'catalog-properties']));
  });

  it('an environment with no profile directory: EnvironmentNotFound, nothing deleted', async () => {
    await smcs.patch(NAME, { spec: { secrets: { environment: 'dve' } } });
    const s = await smcs.waitStatus(NAME, (x) => ready(x)?.reason === 'EnvironmentNotFound');
    expect(ready(s)).toMatchObject({ status: 'False' });
    expect(ready(s)?.message).toContain('profiles/dve/');
    expect(ready(s)?.message).toContain('environments found: dev, prod');
    expect(condition(s, 'Stalled')?.status).toBe('True');
    await smcs.waitEvent(NAME, 'EnvironmentNotFound');
    expect((await storeNames()).sort()).toEqual(names);

    await smcs.patch(NAME, { spec: { secrets: { environment: 'dev' } } });
    const back = await smcs.waitStatus(NAME, (x) => ready(x)?.status === 'True');
    expect(back.phase).toBe('Synced');
  });

  it('a revision that would remove every entry: PruneAllRefused and a Warning Event, nothing deleted', async () => {
    const artifact = await world.publish(commit(2), emptied);
    const s = await smcs.waitStatus(NAME, (x) => ready(x)?.reason === 'PruneAllRefused');
    expect(ready(s)).toMatchObject({ status: 'False' });
    expect(ready(s)?.message).toContain(`refusing to delete every entry ${world.namespace}/${NAME} owns`);
    expect(ready(s)?.message).toContain('spec.allowPruneAll: true');
    expect(s.phase).toBe('Error');
    const event = await smcs.waitEvent(NAME, 'PruneAllRefused');
    expect(event.type).toBe('Warning');
    expect(JSON.stringify(s) + JSON.stringify(event)).not.toContain(STRIPE);

    expect((await storeNames()).sort()).toEqual(names);
    expect(await world.gcpValue(project, 'payments-STRIPE_API_KEY')).toBe(STRIPE);
    // Still refused on a requested pass of the same revision.
    const again = await smcs.reconcileAndWait(NAME, 'retry-1');
    expect(ready(again)?.reason).toBe('PruneAllRefused');
    expect(again.lastSyncedRevision).not.toBe(artifact.revision);
    expect((await storeNames()).sort()).toEqual(names);
  });

  it('the next good revision recovers by itself', async () => {
    const artifact = await world.publish(commit(3));
    const s = await smcs.waitStatus(
      NAME,
      (x) => x.phase === 'Synced' && x.lastSyncedRevision === artifact.revision,
    );
    expect(ready(s)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect((await storeNames()).sort()).toEqual(names);
  });

  it('spec.allowPruneAll: true lets such a revision prune', async () => {
    await smcs.patch(NAME, { spec: { allowPruneAll: true } });
    const artifact = await world.publish(commit(4), emptied);
    await smcs.waitStatus(NAME, (x) => x.phase === 'Synced' && x.lastSyncedRevision === artifact.revision);
    expect(await storeNames()).toEqual([]);
  });

  it('deleting the SMC applies deletionPolicy Delete to every entry, allowPruneAll or not', async () => {
    await smcs.patch(NAME, { spec: { allowPruneAll: false } });
    const good = await world.publish(commit(5));
    await smcs.waitStatus(NAME, (x) => x.phase === 'Synced' && x.lastSyncedRevision === good.revision);
    expect((await storeNames()).sort()).toEqual(names);
    await smcs.delete(NAME);
    await smcs.waitGone(NAME);
    expect(await storeNames()).toEqual([]);
  });
});
