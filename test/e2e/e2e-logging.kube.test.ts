/**
 * Per-SMC log levels end to end (docs/crd-reference.md `logging`, docs/observability.md): the controller as a separate process
 * (its ServiceAccount, the shipped RBAC) at `LOG_LEVEL=info`, two SMCs syncing examples/gitops
 * into the GCP Secret Manager emulator. The one with `reconciliation` and `secrets` at DEBUG gets
 * debug lines (a line per entry among them); the other, and every other area, none. Setting
 * `reconciliation: ERROR` silences that SMC's "synced" lines from the next reconcile on. No
 * value of the example ever appears in the log.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSecretManagerPeer } from '../peers/cloud/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { type ExampleSource, setUpExampleSource } from './example-source.js';
import { GROUP, VERSION, smcClient } from './smc.js';

const kube = useKube();
const RECONCILE = 'secret-management.octopilot.io/reconcile';
/** payments STRIPE_API_KEY in examples/gitops, decrypted. */
const EXAMPLE_SECRET = 'sk_test_demo_51Hx';
const LOUD = 'loud';
const QUIET = 'quiet';

let world: ExampleSource;
let gcp: GcpSecretManagerPeer;
let controller: ControllerProcess;
let ns: string;
let smcs: ReturnType<typeof smcClient>;
const projects: Record<string, string> = {};

interface LogLine {
  level: string;
  msg: string;
  smc?: string;
  area?: string;
  key?: string;
  storeName?: string;
  store?: string;
  action?: string;
  result?: string;
}

const log = (): string => controller.log();

/** The controller's JSON lines from character `from` of its output (partial lines skipped). */
function lines(from = 0): LogLine[] {
  const out: LogLine[] = [];
  for (const l of log().slice(from).split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      /* a line cut by `from`, or not complete yet */
    }
  }
  return out;
}

const of = (name: string) => (l: LogLine) => l.smc === `${ns}/${name}`;

const spec = (project: string, extra: Record<string, unknown> = {}) => world.spec(project, extra);

interface SmcState {
  metadata: { generation: number };
  status?: { phase?: string; observedGeneration?: number; lastHandledReconcileAt?: string };
}

async function state(name: string): Promise<SmcState> {
  return (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name,
  })) as SmcState;
}

async function mergePatch(name: string, body: Record<string, unknown>): Promise<void> {
  await kube()
    .client(CustomObjectsApi)
    .patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: ns, plural: 'secretmanagerconfigs', name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

/** Ask for a reconcile (with `extra` in the same patch) and wait until it is handled and synced. */
async function forceReconcile(name: string, token: string, extra: Record<string, unknown> = {}) {
  await mergePatch(name, { metadata: { annotations: { [RECONCILE]: token } }, ...extra });
  const generation = (await state(name)).metadata.generation;
  await waitFor(
    `${name} to handle reconcile request ${token}`,
    async () => {
      const s = (await state(name)).status;
      return s?.lastHandledReconcileAt === token &&
        s.observedGeneration === generation &&
        s.phase === 'Synced'
        ? true
        : undefined;
    },
    { timeoutMs: 30_000, log },
  );
}

/** Wait until the log holds at least `n` lines since `from` that `match`; returns those lines. */
async function logged(what: string, from: number, match: (l: LogLine) => boolean, n = 1): Promise<LogLine[]> {
  return waitFor(
    what,
    async () => {
      const found = lines(from).filter(match);
      return found.length >= n ? found : undefined;
    },
    { timeoutMs: 30_000, log },
  );
}

/** Every value the controller pushed to a GCP project (enabled versions: a disabled one is not readable). */
async function storedValues(project: string): Promise<string[]> {
  const [list] = await gcp.client().listSecrets({ parent: `projects/${project}` });
  const values: string[] = [];
  for (const s of list) {
    const [versions] = await gcp.client().listSecretVersions({ parent: s.name! });
    for (const version of versions.filter((x) => x.state === 'ENABLED')) {
      const [v] = await gcp.client().accessSecretVersion({ name: version.name! });
      values.push(Buffer.from(v.payload!.data as Uint8Array).toString('utf8'));
    }
  }
  return values;
}

beforeAll(async () => {
  world = await setUpExampleSource(kube(), 'logging', { commit: '2'.repeat(40) });
  ({ gcp, namespace: ns } = world);
  controller = await startController({
    ...world.controllerEnv,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'info',
  });
  smcs = smcClient(kube, ns, log);
  projects[LOUD] = gcp.newProject();
  projects[QUIET] = gcp.newProject();
  await smcs.create(LOUD, spec(projects[LOUD], { logging: { reconciliation: 'DEBUG', secrets: 'DEBUG' } }));
  await smcs.create(QUIET, spec(projects[QUIET]));
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_LOG_DIR)
    await writeFile(join(process.env.E2E_LOG_DIR, 'logging-controller.log'), controller?.log() ?? '');
  const code = await controller?.stop();
  await world?.tearDown();
  expect(code).toBe(0);
});

describe('per-SMC log levels (controller at LOG_LEVEL=info)', () => {
  it('reconciliation and secrets at DEBUG: debug lines, one per entry; the other SMC gets none', async () => {
    const loud = await smcs.waitStatus(LOUD, (s) => s.phase === 'Synced');
    await smcs.waitStatus(QUIET, (s) => s.phase === 'Synced');
    // "synced" is logged after the status write: the reconcile's earlier lines are in the log by then.
    await logged('the "synced" line of loud', 0, (l) => of(LOUD)(l) && l.msg === 'synced');
    await logged('the "synced" line of quiet', 0, (l) => of(QUIET)(l) && l.msg === 'synced');
    const all = lines();

    const loudDebug = all.filter((l) => of(LOUD)(l) && l.level === 'debug');
    const perEntry = loudDebug.filter((l) => l.msg === 'entry applied');
    const entries = loud.entries ?? [];
    expect(entries.length).toBeGreaterThanOrEqual(5);
    // A line per entry the first sync created, in the secrets area, naming it (never its value).
    const created = perEntry.filter((l) => l.action === 'create');
    expect(created.map((l) => l.storeName).sort()).toEqual(entries.map((e) => e.storeName).sort());
    for (const l of perEntry) {
      expect(l).toMatchObject({ area: 'secrets', store: 'gcp', result: 'ok' });
      expect(entries.map((e) => e.key)).toContain(l.key);
    }
    // The reconciliation area's own debug lines (pipeline steps).
    expect(loudDebug.some((l) => l.area === 'reconciliation' && l.msg === 'render done')).toBe(true);
    // Areas the spec leaves unset stay at the controller's info.
    expect(loudDebug.filter((l) => l.area !== 'reconciliation' && l.area !== 'secrets')).toEqual([]);

    // quiet: no debug line; nor any other debug line in the whole log (the controller is at info).
    expect(all.filter((l) => l.level === 'debug' && !of(LOUD)(l))).toEqual([]);
    expect(all.some((l) => of(QUIET)(l) && l.msg === 'synced' && l.area === 'reconciliation')).toBe(true);
    console.log(
      `e2e: loud logged ${loudDebug.length} debug lines (${perEntry.length} per entry), quiet 0; ` +
        `log ${all.length} lines`,
    );
  });

  it('reconciliation: ERROR silences that SMC’s "synced" lines from the next reconcile on', async () => {
    const entries = (await smcs.waitStatus(LOUD, (s) => s.phase === 'Synced')).entries ?? [];
    // Control: at DEBUG, a requested reconcile logs "synced".
    let from = log().length;
    await forceReconcile(LOUD, 'still-loud');
    await logged('"synced" after the requested reconcile', from, (l) => of(LOUD)(l) && l.msg === 'synced');

    from = log().length;
    await forceReconcile(LOUD, 'hush-1', { spec: { logging: { reconciliation: 'ERROR' } } });
    await forceReconcile(LOUD, 'hush-2');
    // secrets stays at DEBUG: each reconcile logs every entry (noop). Once the second reconcile's
    // entry lines are in, every line of the first is too.
    const perEntry = await logged(
      "both reconciles' per-entry lines",
      from,
      (l) => of(LOUD)(l) && l.msg === 'entry applied',
      2 * entries.length,
    );
    expect(new Set(perEntry.map((l) => l.action))).toEqual(new Set(['noop']));
    const after = lines(from).filter(of(LOUD));
    expect(after.filter((l) => l.area === 'reconciliation')).toEqual([]);
    expect(after.some((l) => l.msg === 'synced')).toBe(false);

    // quiet is untouched: a requested reconcile still logs its "synced" line at info.
    from = log().length;
    await forceReconcile(QUIET, 'quiet-still-synced');
    const [synced] = await logged('quiet "synced"', from, (l) => of(QUIET)(l) && l.msg === 'synced');
    expect(synced).toMatchObject({ level: 'info', area: 'reconciliation' });
  });

  it('no value of the example is ever logged', async () => {
    const values = [...(await storedValues(projects[LOUD]!)), ...(await storedValues(projects[QUIET]!))];
    expect(values).toContain(EXAMPLE_SECRET);
    const out = log();
    // Values too short to be told from other text (a page size of "50") are left out.
    const canaries = [...new Set(values)].filter((v) => v.length >= 8);
    expect(canaries.length).toBeGreaterThanOrEqual(5);
    for (const v of canaries) expect(out.includes(v), `a stored value is in the log`).toBe(false);
  });
});
