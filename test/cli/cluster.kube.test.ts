/**
 * msmctl's cluster commands against the real kube-apiserver, run as a separate process the way a
 * user runs them: list, status, reconcile (--wait), suspend/resume, suspend-git-pulls/resume-git-pulls,
 * and their errors. No controller runs: the test plays its part by writing SMC status through the
 * status subresource, as the controller would.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../e2e/controller-process.js';
import { freePort } from '../peers/free-port.js';
import { useKube } from '../peers/kube/use.js';
import { msmctl, msmctlAsync, msmctlProcess, type CliProcess, type CliRun } from './run.js';

// Each msmctl run is a new process (2-3 s on a busy 2-core machine); some tests make ten.
vi.setConfig({ testTimeout: 180_000 });

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const VERSION = 'v1beta1';
const PLURAL = 'secretmanagerconfigs';
const RECONCILE = `${GROUP}/reconcile`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped custom objects
type Obj = Record<string, any>;

let ns: string;
let otherNs: string;
let env: NodeJS.ProcessEnv;
let nsContextKubeconfig: string;

const api = () => kube().client(CustomObjectsApi);
const ref = (name: string, namespace = ns) => ({
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  namespace,
  name,
});
const get = async (name: string, namespace = ns) =>
  (await api().getNamespacedCustomObject(ref(name, namespace))) as Obj;

async function createSmc(name: string, namespace: string, provider: Obj): Promise<void> {
  await api().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'SecretManagerConfig',
      metadata: { name, namespace },
      spec: {
        sourceRef: { kind: 'GitRepository', name: 'apps', namespace: 'flux-system' },
        provider,
        secrets: { environment: 'dev' },
      },
    },
  });
}

/** What the controller would write after a reconcile (through the status subresource). */
async function writeStatus(name: string, status: Obj, namespace = ns): Promise<void> {
  await api().patchNamespacedCustomObjectStatus(
    { ...ref(name, namespace), body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const readyStatus = (extra: Obj = {}): Obj => ({
  phase: 'Synced',
  description: '3 secrets synced',
  observedGeneration: 1,
  lastSyncTime: now(),
  lastAttemptTime: now(),
  lastSyncedRevision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
  secretsCount: 3,
  configsCount: 0,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Synced',
      message: '3 secrets synced',
      lastTransitionTime: now(),
      observedGeneration: 1,
    },
    { type: 'Reconciling', status: 'False', reason: 'Synced', message: 'done', lastTransitionTime: now() },
  ],
  entries: [
    {
      key: 'DATABASE_URL',
      storeName: 'payments-DATABASE_URL',
      kind: 'secret',
      version: '3',
      state: 'Synced',
      lastUpdateTime: now(),
    },
    {
      key: 'STRIPE_API_KEY',
      storeName: 'payments-STRIPE_API_KEY',
      kind: 'secret',
      version: '1',
      state: 'Synced',
    },
    {
      key: 'LEGACY',
      storeName: 'payments-LEGACY',
      kind: 'secret',
      state: 'Failed',
      message: 'PERMISSION_DENIED on secret payments-LEGACY',
    },
  ],
  ...extra,
});

const run = (args: string[]) => msmctl(args, { env });

beforeAll(async () => {
  ns = await kube().createNamespace('msmctl');
  otherNs = await kube().createNamespace('msmctl-other');
  env = { KUBECONFIG: kube().kubeconfigPath };
  await createSmc('payments', ns, { gcp: { projectId: 'acme-prod' } });
  await createSmc('catalog', ns, { kubernetes: { secretName: 'catalog-secrets' } });
  await createSmc('billing', otherNs, { aws: { region: 'eu-west-1' } });
  await writeStatus('payments', readyStatus());
  const payments = await get('payments');
  const event = (name: string, type: string, reason: string, message: string, at: Date, count = 1) =>
    kube()
      .client(CoreV1Api)
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name },
          involvedObject: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'SecretManagerConfig',
            name: 'payments',
            namespace: ns,
            uid: payments.metadata.uid,
          },
          type,
          reason,
          message,
          count,
          firstTimestamp: at,
          lastTimestamp: at,
          source: { component: 'secret-manager-controller' },
        },
      });
  await event(
    'payments.1',
    'Warning',
    'PartialFailure',
    '1 of 3 entries failed (payments-LEGACY)',
    new Date(Date.now() - 60_000),
  );
  await event('payments.2', 'Normal', 'Synced', '3 secret(s) synced', new Date(), 2);
  await writeStatus(
    'billing',
    {
      phase: 'Error',
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'ProviderAuthFailed',
          message: 'AWS: invalid credentials',
          lastTransitionTime: now(),
        },
      ],
    },
    otherNs,
  );

  // A kubeconfig whose second context defaults to `ns`: tests --context and the context namespace.
  const admin = parse(await readFile(kube().kubeconfigPath, 'utf8')) as Obj;
  admin.contexts.push({ name: 'in-ns', context: { ...admin.contexts[0].context, namespace: ns } });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'msmctl-kc-'));
  nsContextKubeconfig = path.join(dir, 'config');
  await writeFile(nsContextKubeconfig, stringify(admin), { mode: 0o600 });
});

describe('msmctl list', () => {
  it('lists the namespace given with -n, one row per SMC', () => {
    const r = run(['list', '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME\s+PHASE\s+SECRETS\s+LAST SYNC\s+READY\s+REASON\s+SOURCE\s+PROVIDER\s+AGE$/,
    );
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^catalog\s+-\s+-\s+-\s+-\s+-\s+GitRepository\/flux-system\/apps\s+kubernetes:catalog-secrets\s+\d+[smh]$/,
    );
    expect(lines[2]).toMatch(
      /^payments\s+Synced\s+3\s+\d+[smh]\s+True\s+Synced\s+GitRepository\/flux-system\/apps\s+gcp:acme-prod\s+\d+[smh]$/,
    );
  });

  it('takes the namespace from the kubeconfig context, and -A shows every namespace', () => {
    const byContext = msmctl(
      ['list', '--kubeconfig', nsContextKubeconfig, '--context', 'in-ns', '-o', 'json'],
      {
        env: { KUBECONFIG: '' },
      },
    );
    expect(byContext.status, byContext.stderr).toBe(0);
    const items = (JSON.parse(byContext.stdout) as { items: Obj[] }).items;
    expect(items.map((i) => `${i.namespace}/${i.name}`)).toEqual([`${ns}/catalog`, `${ns}/payments`]);
    expect(items[1]).toMatchObject({
      phase: 'Synced',
      secrets: 3,
      ready: 'True',
      reason: 'Synced',
      provider: 'gcp:acme-prod',
    });

    const all = run(['list', '-A']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+PHASE/);
    expect(all.stdout).toMatch(
      new RegExp(
        `^${otherNs}\\s+billing\\s+Error\\s+-\\s+-\\s+False\\s+ProviderAuthFailed\\s+GitRepository/flux-system/apps\\s+aws:eu-west-1`,
        'm',
      ),
    );
    expect(all.stdout).toMatch(new RegExp(`^${ns}\\s+payments\\s+Synced`, 'm'));
  });

  it('says so on stderr when a namespace has none', async () => {
    const empty = await kube().createNamespace('msmctl-empty');
    const r = run(['list', '-n', empty]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `No SecretManagerConfigs found in namespace ${empty} (all namespaces: msmctl list -A).\n`,
    );
  });
});

describe('msmctl status', () => {
  it('shows phase, conditions, revision and entries, exit 0 when Ready', () => {
    const r = run(['status', 'payments', '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Phase:\s+Synced$/m);
    expect(r.stdout).toMatch(/^Ready:\s+True \(Synced\)$/m);
    expect(r.stdout).toMatch(/^Revision:\s+main@sha1:0123456789abcdef0123456789abcdef01234567$/m);
    expect(r.stdout).toMatch(/^Last sync:\s+\d{4}-\d\d-\d\dT[\d:]+Z \(\d+[smh] ago\)$/m);
    expect(r.stdout).toMatch(/^Ready\s+True\s+Synced\s+\d+[smh]\s+3 secrets synced$/m);
    expect(r.stdout).toMatch(/^KEY\s+STORE NAME\s+KIND\s+STATE\s+VERSION\s+UPDATED\s+MESSAGE$/m);
    expect(r.stdout).toMatch(/^DATABASE_URL\s+payments-DATABASE_URL\s+secret\s+Synced\s+3\s+\d+[smh]$/m);
    expect(r.stdout).toMatch(
      /^LEGACY\s+payments-LEGACY\s+secret\s+Failed\s+-\s+-\s+PERMISSION_DENIED on secret payments-LEGACY$/m,
    );
    // The SMC's Events, as kubectl describe shows them (the controller records them; here the test does).
    expect(r.stdout).toMatch(/^Events:\nTYPE\s+REASON\s+AGE\s+MESSAGE\n/m);
    expect(r.stdout).toMatch(
      /^Warning\s+PartialFailure\s+\d+[sm]\s+1 of 3 entries failed \(payments-LEGACY\)\nNormal\s+Synced\s+\d+[sm] \(x2\)\s+3 secret\(s\) synced$/m,
    );
    // None for an SMC without any.
    expect(run(['status', 'catalog', '-n', ns]).stdout).toMatch(/\n\nEvents: none\n$/);

    const json = run(['status', 'payments', '-n', ns, '-o', 'json']);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as Obj;
    expect(parsed).toMatchObject({
      name: 'payments',
      namespace: ns,
      provider: 'gcp:acme-prod',
      suspended: false,
    });
    expect(parsed.status.entries).toHaveLength(3);
    const yaml = run(['status', 'payments', '-n', ns, '-o', 'yaml']);
    expect(parse(yaml.stdout)).toEqual(parsed);
  });

  it('exits 1 for an SMC that is not Ready (or not reconciled yet) and 3 for a missing one', () => {
    const failed = run(['status', 'billing', '-n', otherNs]);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/^Ready:\s+False \(ProviderAuthFailed\)$/m);
    expect(failed.stdout).toMatch(
      /^Ready\s+False\s+ProviderAuthFailed\s+\d+[smh]\s+AWS: invalid credentials$/m,
    );

    const fresh = run(['status', 'catalog', '-n', ns]);
    expect(fresh.status).toBe(1);
    expect(fresh.stdout).toContain('Conditions: none yet (not reconciled)');

    const missing = run(['status', 'nope', '-n', ns]);
    expect(missing.status).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(`msmctl: secretmanagerconfig ${ns}/nope: not found\n`);
  });
});

describe('msmctl reconcile', () => {
  it('sets the reconcile annotation to a new value each time', async () => {
    const first = run(['reconcile', 'catalog', '-n', ns]);
    expect(first.status, first.stderr).toBe(0);
    const v1 = (await get('catalog')).metadata.annotations[RECONCILE] as string;
    expect(first.stdout).toBe(
      `secretmanagerconfig ${ns}/catalog: reconcile requested (${RECONCILE}=${v1})\n`,
    );
    const second = run(['reconcile', 'catalog', '-n', ns]);
    expect(second.status).toBe(0);
    const v2 = (await get('catalog')).metadata.annotations[RECONCILE] as string;
    expect(v2).not.toBe(v1);
  });

  /** Starts `reconcile --wait`, then plays the controller: waits for the request and records it as handled. */
  async function reconcileWithController(
    name: string,
    handled: (requested: string) => Obj,
    progress?: Obj,
  ): Promise<CliRun> {
    const before = (await get(name)).metadata.annotations?.[RECONCILE] as string | undefined;
    let stderr = '';
    const childStderr = () => stderr;
    const child = msmctlAsync(['reconcile', name, '-n', ns, '--wait', '--timeout', '60s'], {
      env,
      onStderr: (d) => (stderr += d),
    });
    const requested = await waitFor(
      'the reconcile annotation',
      async () => {
        const v = (await get(name)).metadata.annotations?.[RECONCILE] as string | undefined;
        return v && v !== before ? v : undefined;
      },
      { timeoutMs: 60_000 },
    );
    if (progress) {
      await writeStatus(name, progress);
      // The controller's in-progress status is seen (and reported) before the final one is written.
      await waitFor(
        'the progress line',
        async () => (childStderr().includes(progress.phase as string) ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
    }
    await writeStatus(name, handled(requested));
    return child;
  }

  it('--wait reports Ready once the controller has handled the request (exit 0)', async () => {
    const r = await reconcileWithController('payments', (requested) =>
      readyStatus({
        lastHandledReconcileAt: requested,
        lastSyncedRevision: 'main@sha1:feedfacefeedfacefeedfacefeedfacefeedface',
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^secretmanagerconfig ${ns}/payments: Ready at revision main@sha1:feedfacefeedfacefeedfacefeedfacefeedface: 3 secrets synced$`,
        'm',
      ),
    );
  });

  it('--wait reports a failed reconcile with its reason (exit 1), and the progress it saw on the way', async () => {
    const syncing = { phase: 'Syncing', description: 'syncing revision main@sha1:2 (reconcile requested)' };
    const r = await reconcileWithController(
      'catalog',
      (requested) => ({
        phase: 'Error',
        lastHandledReconcileAt: requested,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'PartialFailure',
            message: '1 of 3 entries failed',
            lastTransitionTime: now(),
          },
        ],
      }),
      syncing,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `secretmanagerconfig ${ns}/catalog: Syncing: syncing revision main@sha1:2 (reconcile requested)\n` +
        `msmctl: secretmanagerconfig ${ns}/catalog: reconcile failed: phase Error, Ready=False (PartialFailure): 1 of 3 entries failed\n`,
    );
  });

  it('--wait gives up after --timeout when nothing handles the request (exit 4)', () => {
    const started = Date.now();
    const r = run(['reconcile', 'payments', '-n', ns, '--wait', '--timeout', '2s']);
    console.log(
      `reconcile --wait --timeout 2s returned after ${Date.now() - started} ms (includes process start)`,
    );
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('did not handle the reconcile request within 2s');
  });

  it('refuses a suspended SMC (exit 1) and a missing one (exit 3)', () => {
    expect(run(['suspend', 'catalog', '-n', ns]).status).toBe(0);
    const suspended = run(['reconcile', 'catalog', '-n', ns]);
    expect(suspended.status).toBe(1);
    expect(suspended.stderr).toContain('is suspended (spec.suspend: true)');
    expect(run(['resume', 'catalog', '-n', ns]).status).toBe(0);
    const missing = run(['reconcile', 'nope', '-n', ns]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toBe(`msmctl: secretmanagerconfig ${ns}/nope: not found\n`);
  });
});

describe('msmctl suspend / resume / suspend-git-pulls / resume-git-pulls', () => {
  it('toggles spec.suspend and spec.suspendGitPulls', async () => {
    const gen0 = (await get('payments')).metadata.generation as number;
    const s = run(['suspend', 'payments', '-n', ns]);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toBe(`secretmanagerconfig ${ns}/payments: suspended (spec.suspend: true)\n`);
    expect((await get('payments')).spec.suspend).toBe(true);
    expect(run(['suspend', 'payments', '-n', ns]).stdout).toContain('already suspended');
    const r = run(['resume', 'payments', '-n', ns]);
    expect(r.status).toBe(0);
    expect((await get('payments')).spec.suspend).toBe(false);

    expect(run(['suspend-git-pulls', 'payments', '-n', ns]).status).toBe(0);
    expect((await get('payments')).spec.suspendGitPulls).toBe(true);
    const rg = run(['resume-git-pulls', 'payments', '-n', ns]);
    expect(rg.stdout).toBe(
      `secretmanagerconfig ${ns}/payments: git pulls resumed (spec.suspendGitPulls: false)\n`,
    );
    const after = await get('payments');
    expect(after.spec.suspendGitPulls).toBe(false);
    // Spec changes: each one bumped the generation the controller reconciles on.
    expect(after.metadata.generation).toBe(gen0 + 4);

    const missing = run(['suspend', 'nope', '-n', ns]);
    expect(missing.status).toBe(3);
  });
});

describe('kubeconfig errors', () => {
  it('exit 2 with a clear message for an unknown context, a missing kubeconfig, and an unreachable server', async () => {
    const ctx = run(['list', '--context', 'nope']);
    expect(ctx.status).toBe(2);
    expect(ctx.stderr).toContain('--context nope: no such context in the kubeconfig (have: smc-test)');

    const missing = run(['list', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot load the kubeconfig /nonexistent/kubeconfig');

    const admin = parse(await readFile(kube().kubeconfigPath, 'utf8')) as Obj;
    const closed = await freePort(); // nothing listens there any more
    admin.clusters[0].cluster.server = `https://127.0.0.1:${closed}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'msmctl-kc-'));
    const bad = path.join(dir, 'config');
    await writeFile(bad, stringify(admin), { mode: 0o600 });
    const down = msmctl(['status', 'payments', '-n', ns, '--kubeconfig', bad]);
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(
      /^msmctl: secretmanagerconfig .*\/payments: cannot reach the API server: connect ECONNREFUSED 127\.0\.0\.1:\d+$/m,
    );
    const check = msmctl(['check', '--pre', '--kubeconfig', bad]);
    expect(check.status).toBe(2);
    expect(check.stdout).toBe('');
    expect(check.stderr).toBe(
      `msmctl: API server https://127.0.0.1:${closed}: cannot reach the API server: connect ECONNREFUSED 127.0.0.1:${closed}\n`,
    );
  });
});

describe('msmctl list -w / status -w', () => {
  /** Waits until the process has printed `pattern` (a watch prints as changes arrive). */
  const printed = (p: CliProcess, pattern: RegExp, what: string) =>
    waitFor(what, () => Promise.resolve(pattern.test(p.stdout()) ? true : undefined), {
      timeoutMs: 60_000,
      log: () => `stdout:\n${p.stdout()}\nstderr:\n${p.stderr()}`,
    });
  const stop = async (p: CliProcess) => {
    p.child.kill('SIGINT');
    return p.exited;
  };

  it('list -w prints the list, then one row per visible change, and exits 0 on Ctrl-C', async () => {
    const wns = await kube().createNamespace('msmctl-watch');
    await createSmc('alpha', wns, { kubernetes: { secretName: 'alpha' } });
    const table = msmctlProcess(['list', '-w', '-n', wns], { env });
    const json = msmctlProcess(['list', '-w', '-n', wns, '-o', 'json'], { env });
    try {
      await printed(table, /^alpha\s+-\s+-\s+-\s+-\s+-\s+GitRepository/m, 'the first list');
      await printed(json, /"name": "alpha"/, 'the first list as JSON');
      await writeStatus('alpha', readyStatus(), wns);
      await printed(table, /^alpha\s+Synced\s+3\s+\d+s\s+True\s+Synced\s/m, 'the row after the status write');
      // A status write that changes nothing the row shows prints nothing…
      await writeStatus('alpha', { lastAttemptTime: '2030-01-01T00:00:00Z' }, wns);
      await createSmc('beta', wns, { aws: { region: 'eu-west-1' } });
      await printed(table, /^beta\s+-.*aws:eu-west-1/m, 'the added SMC');
      await api().deleteNamespacedCustomObject(ref('beta', wns));
      await printed(table, /^beta\s+Deleted\s/m, 'the deleted SMC');
      await printed(json, /"type": "DELETED"/, 'the deletion as JSON');
      const t = await stop(table);
      expect(t.status, t.stderr).toBe(0);
      expect(t.stderr).toBe('');
      // …so the rows are exactly: header, first list, status change, added, deleted — in that order.
      const lines = t.stdout.trimEnd().split('\n');
      expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
        'NAME PHASE',
        'alpha -',
        'alpha Synced',
        'beta -',
        'beta Deleted',
      ]);
      // Later rows keep the first list's column widths (a wider cell pushes only its own row).
      const sourceColumn = lines[0]!.indexOf('SOURCE');
      expect(lines[1]!.indexOf('GitRepository/')).toBe(sourceColumn);
      expect(lines[3]!.indexOf('GitRepository/')).toBe(sourceColumn);
      const j = await stop(json);
      expect(j.status, j.stderr).toBe(0);
      const events = j.stdout
        .trim()
        .split(/\n(?=\{)/)
        .map((d) => JSON.parse(d) as Obj);
      expect(events.map((e) => `${e.type} ${e.item.name} ${e.item.phase}`)).toEqual([
        'ADDED alpha null',
        'MODIFIED alpha Synced',
        'ADDED beta null',
        'DELETED beta null',
      ]);
    } finally {
      table.child.kill('SIGKILL');
      json.child.kill('SIGKILL');
    }
  });

  it('status -w prints the status again on each change; exit 1 when the last was not Ready, 3 when deleted', async () => {
    const wns = await kube().createNamespace('msmctl-watch-status');
    await createSmc('gamma', wns, { gcp: { projectId: 'acme-prod' } });
    await createSmc('delta', wns, { gcp: { projectId: 'acme-prod' } });
    await writeStatus('gamma', readyStatus(), wns);
    const gamma = msmctlProcess(['status', 'gamma', '-w', '-n', wns], { env });
    const delta = msmctlProcess(['status', 'delta', '-w', '-n', wns], { env });
    try {
      await printed(gamma, /^Ready:\s+True \(Synced\)$/m, 'the first status');
      await printed(delta, /^Phase:\s+-$/m, 'the first status of delta');
      const failed = readyStatus({ phase: 'Error' });
      failed.conditions[0] = { ...failed.conditions[0], status: 'False', reason: 'ProviderAuthFailed' };
      await writeStatus('gamma', failed, wns);
      await printed(
        gamma,
        /^--- \d{4}-\d\d-\d\dT[\d:.]+Z\n(.*\n)*Ready:\s+False \(ProviderAuthFailed\)$/m,
        'the new status',
      );
      const g = await stop(gamma);
      expect(g.status, g.stderr).toBe(1);
      expect(g.stdout.match(/^Name:/gm)).toHaveLength(2);

      await api().deleteNamespacedCustomObject(ref('delta', wns));
      const d = await delta.exited;
      expect(d.status).toBe(3);
      expect(d.stderr).toBe(`msmctl: secretmanagerconfig ${wns}/delta: deleted\n`);
    } finally {
      gamma.child.kill('SIGKILL');
      delta.child.kill('SIGKILL');
    }
  });
});
