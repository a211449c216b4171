/**
 * Sharding end to end (docs/operations.md, `shard_key`): two controller processes side by side (each its
 * ServiceAccount with the shipped RBAC, no leader election), one with `SHARD_KEY=a`, one the default
 * shard, against SMCs labelled `sharding.secret-management.octopilot.io/key: a`, unlabelled, and
 * labelled `b` (a shard nobody runs). Each SMC is reconciled by exactly the replica of its shard —
 * its status, the replica's `secrets_managed`, its own GCP project — `b` by none (no finalizer, no
 * status, nothing in its project); relabelling moves an SMC from one replica to the other, and a new
 * revision is then synced by the new owner alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitRevision } from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { type ExampleSource, commit, setUpExampleSource } from './example-source.js';
import { smcClient } from './smc.js';

const kube = useKube();
const SHARD_LABEL = 'sharding.secret-management.octopilot.io/key';
const FINALIZER = 'secret-management.octopilot.io/finalizer';
const PROPS = 'payments/deployment-configuration/profiles/dev/application.properties';

let world: ExampleSource;
/** `SHARD_KEY=a`, and the default shard. */
let shardA: ControllerProcess;
let main: ControllerProcess;
let ns: string;
let smcs: ReturnType<typeof smcClient>;
const projects: Record<string, string> = {};

const log = (): string => `--- shard a ---\n${shardA.log()}\n--- default shard ---\n${main.log()}`;
const rev = (n: number): string => gitRevision('main', commit(n));

async function createSmc(name: string, shard: string | undefined): Promise<void> {
  projects[name] = world.gcp.newProject();
  // deletionPolicy Disable: the replica that takes an SMC adds the finalizer (Retain needs none).
  await smcs.create(
    name,
    world.spec(projects[name], { deletionPolicy: 'Disable' }),
    {},
    shard ? { [SHARD_LABEL]: shard } : {},
  );
}

/** Set (or, with null, remove) the shard label. */
async function relabel(name: string, shard: string | null): Promise<void> {
  await smcs.patch(name, { metadata: { labels: { [SHARD_LABEL]: shard } } });
}

const gcpSecretNames = (project: string) => world.gcpSecretNames(project);
const gcpValue = (project: string, secret: string) => world.gcpValue(project, secret);

/** `secret_manager_secrets_managed` of one SMC on one replica (0: the replica does not own it). */
function managed(replica: ControllerProcess, name: string): Promise<number> {
  return replica.metric('secret_manager_secrets_managed', { namespace: ns, name });
}

/** Wait until exactly `owner` reports `name` as managed and `other` does not. */
async function waitOwner(name: string, owner: ControllerProcess, other: ControllerProcess): Promise<number> {
  return waitFor(
    `${name} to be managed by its shard's replica only`,
    async () => {
      const [mine, theirs] = await Promise.all([managed(owner, name), managed(other, name)]);
      return mine > 0 && theirs === 0 ? mine : undefined;
    },
    { log, timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  world = await setUpExampleSource(kube(), 'sharding');
  ns = world.namespace;
  const env = {
    ...world.controllerEnv,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  };
  [shardA, main] = await Promise.all([startController({ ...env, SHARD_KEY: 'a' }), startController(env)]);
  smcs = smcClient(kube, ns, log);
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR) {
    await writeFile(join(process.env.E2E_LOG_DIR, 'sharding-a.log'), shardA?.log() ?? '');
    await writeFile(join(process.env.E2E_LOG_DIR, 'sharding-default.log'), main?.log() ?? '');
  }
  const codes = await Promise.all([shardA?.stop(), main?.stop()]);
  await world?.tearDown();
  expect(codes).toEqual([0, 0]);
});

describe('two shards side by side', () => {
  it('each SMC is reconciled by its shard’s replica alone; shard b by none', async () => {
    // `b` first: by the time the others are synced, both replicas have seen it (one watch stream
    // per replica delivers the namespace's SMCs in order).
    await createSmc('in-b', 'b');
    await createSmc('in-a', 'a');
    await createSmc('plain', undefined);
    const a = await smcs.waitStatus('in-a', (s) => s.phase === 'Synced');
    const p = await smcs.waitStatus('plain', (s) => s.phase === 'Synced');
    expect(a.lastSyncedRevision).toBe(rev(1));
    expect(p.lastSyncedRevision).toBe(rev(1));
    expect(await waitOwner('in-a', shardA, main)).toBe(a.secretsCount);
    expect(await waitOwner('plain', main, shardA)).toBe(p.secretsCount);
    expect(await gcpValue(projects['in-a']!, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');
    expect(await gcpValue(projects.plain!, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');

    const b = await smcs.get('in-b');
    expect(b?.status).toBeUndefined();
    expect(b?.metadata.finalizers ?? []).not.toContain(FINALIZER);
    expect(await gcpSecretNames(projects['in-b']!)).toEqual([]);
    expect(await managed(shardA, 'in-b')).toBe(0);
    expect(await managed(main, 'in-b')).toBe(0);
    // Both replicas took their own and nothing else.
    expect((await smcs.get('in-a'))?.metadata.finalizers).toContain(FINALIZER);
    expect((await smcs.get('plain'))?.metadata.finalizers).toContain(FINALIZER);
  });

  it('relabelling moves an SMC: b → a is taken by shard a, unlabelled → a leaves the default shard', async () => {
    await relabel('in-b', 'a');
    const b = await smcs.waitStatus('in-b', (s) => s.phase === 'Synced');
    expect(await waitOwner('in-b', shardA, main)).toBe(b.secretsCount);
    expect(await gcpValue(projects['in-b']!, 'payments-STRIPE_API_KEY')).toBe('sk_test_demo_51Hx');

    // Already synced at this revision: the new owner finds nothing to do (no provider call).
    const callsA = await shardA.metric('secret_manager_provider_operations_total');
    await relabel('plain', 'a');
    await waitOwner('plain', shardA, main);
    expect(await shardA.metric('secret_manager_provider_operations_total')).toBe(callsA);

    // A new revision is synced by shard a for all three; the default shard, owning none, calls nothing.
    const callsMain = await main.metric('secret_manager_provider_operations_total');
    const props = join(world.tree, PROPS);
    await writeFile(
      props,
      (await readFile(props, 'utf8')).replace('payments.currency=EUR', 'payments.currency=SEK'),
    );
    await world.publish(commit(2));
    for (const name of ['in-a', 'in-b', 'plain']) {
      await smcs.waitStatus(name, (s) => s.lastSyncedRevision === rev(2) && s.phase === 'Synced');
      expect(await gcpValue(projects[name]!, 'payments-properties'), name).toContain('"SEK"');
    }
    expect(await shardA.metric('secret_manager_provider_operations_total')).toBeGreaterThan(callsA);
    expect(await main.metric('secret_manager_provider_operations_total')).toBe(callsMain);
  });

  it('removing the label hands an SMC back to the default shard', async () => {
    await relabel('in-a', null);
    await waitOwner('in-a', main, shardA);
    // The default shard acts on it: a reconcile request is handled by its replica.
    const handledBefore = await main.metric('secret_manager_reconciliations_total');
    await smcs.requestReconcile('in-a', 'sharding-1');
    await smcs.waitStatus(
      'in-a',
      (s) => (s as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'sharding-1',
    );
    expect(await main.metric('secret_manager_reconciliations_total')).toBeGreaterThan(handledBefore);
  });

  it('settings hot reload follows the SMCs of the replica’s own shard', async () => {
    await kube()
      .client(CoreV1Api)
      .createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'secret-manager-controller-config' }, data: { log_level: 'debug' } },
      });
    // in-b is in shard a now: only that replica watches and applies the settings ConfigMap.
    await smcs.patch('in-b', { spec: { hotReload: { enabled: true } } });
    await smcs.waitStatus(
      'in-b',
      (s) => !!(s as { hotReload?: { configMap?: { appliedAt?: string } } }).hotReload?.configMap?.appliedAt,
    );
    expect(await shardA.metric('secret_manager_config_reloads_total', { result: 'applied' })).toBeGreaterThan(
      0,
    );
    // The default shard has seen that change too (it handled a later request on its own SMC) and
    // did not follow it.
    await smcs.requestReconcile('in-a', 'sharding-2');
    await smcs.waitStatus(
      'in-a',
      (s) => (s as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'sharding-2',
    );
    expect(await main.metric('secret_manager_config_reloads_total')).toBe(0);
  });
});
