/**
 * Controller-level hot reload (docs/hot-reload.md) end to end: the controller as a separate process against
 * the real kube-apiserver, as its ServiceAccount with the shipped RBAC. An SMC enables
 * `hotReload`; the settings ConfigMap is created, made invalid, fixed and deleted; each time the
 * effect is observed from outside: the controller's JSON log (the "settings applied" line carries
 * the new `max_concurrent_reconciles` once the queue has it; debug lines appear only after
 * `log_level: debug`), `status.hotReload.configMap`, Events and `config_reloads_total`.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, WAIT_TIMEOUT_MS, startController, waitFor } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';

const kube = useKube();
const GROUP = 'secret-management.octopilot.io';
const VERSION = 'v1beta1';
const CM = 'secret-manager-controller-config';
const SMC = 'hot';

interface LogLine {
  level: string;
  msg: string;
  changed?: string[];
  applied?: Record<string, unknown>;
  resourceVersion?: string;
}
interface ConfigMapStatus {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  appliedAt?: string;
  lastError?: string;
}

let controller: ControllerProcess;
let ns: string;

function lines(from = 0): LogLine[] {
  return controller
    .log()
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function hotReloadStatus(): Promise<ConfigMapStatus | undefined> {
  const o = (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'secretmanagerconfigs',
    name: SMC,
  })) as { status?: { hotReload?: { configMap?: ConfigMapStatus } } };
  return o.status?.hotReload?.configMap;
}

async function events(reason: string): Promise<string[]> {
  const list = await kube()
    .client(CoreV1Api)
    .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${SMC},reason=${reason}` });
  return list.items.map((e) => e.message ?? '');
}

/** Wait for the first log line after `from` matching `ok`; returns it and when it was seen. */
async function logLine(what: string, from: number, ok: (l: LogLine) => boolean): Promise<LogLine> {
  return waitFor(what, async () => lines(from).find(ok), {
    intervalMs: 5,
    timeoutMs: WAIT_TIMEOUT_MS,
    log: () => controller.log(),
  });
}

async function setHotReload(enabled: boolean): Promise<void> {
  await kube()
    .client(CustomObjectsApi)
    .patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'secretmanagerconfigs',
        name: SMC,
        body: { spec: { hotReload: { enabled } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

beforeAll(async () => {
  ns = await kube().createNamespace('e2e-hot-reload');
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    // No LOG_LEVEL or MAX_CONCURRENT_RECONCILES here: the environment wins over the ConfigMap
    // (docs/operations.md), and this test changes both through the ConfigMap.
    BACKOFF_BASE_MS: '1000',
    BACKOFF_MAX_MS: '60000',
  });
  // Its source does not exist: reconciles fail (and back off), hot reload does not care.
  await kube()
    .client(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'secretmanagerconfigs',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'SecretManagerConfig',
        metadata: { name: SMC, namespace: ns },
        spec: {
          sourceRef: { kind: 'GitRepository', name: 'absent' },
          provider: { kubernetes: {} },
          secrets: { environment: 'dev' },
          hotReload: { enabled: true },
        },
      },
    });
  // No ConfigMap yet: environment/defaults, recorded in status.
  await waitFor(
    'status.hotReload.configMap',
    async () => ((await hotReloadStatus())?.appliedAt ? true : undefined),
    {
      log: () => controller.log(),
    },
  );
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  expect(code).toBe(0);
});

describe('controller-level hot reload', () => {
  let appliedRv: string;

  it('applies a new max_concurrent_reconciles and log level from the watch event, without a restart', async () => {
    expect(lines().some((l) => l.level === 'debug')).toBe(false); // info: no debug lines so far
    const applied0 = await controller.metric('secret_manager_config_reloads_total', { result: 'applied' });
    const from = controller.log().length;
    const t0 = performance.now();
    const cm = await kube()
      .client(CoreV1Api)
      .createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: CM }, data: { max_concurrent_reconciles: '7', log_level: 'debug' } },
      });
    const line = await logLine('settings applied', from, (l) => l.msg === 'settings applied');
    const latencyMs = performance.now() - t0;
    // Debug lines now appear (the root logger, which every reconcile's logger derives from, is at debug).
    await logLine('a debug line', from, (l) => l.level === 'debug');
    console.log(`hot reload: ConfigMap created → settings applied in ${latencyMs.toFixed(0)} ms`);
    // Applied live from the watch: exactly the version created, by the running process (no
    // restart), without the watch having failed and listed again (the settings ConfigMap is not
    // polled: docs/hot-reload.md).
    expect(line.resourceVersion).toBe(cm.metadata!.resourceVersion);
    expect(lines(from).some((l) => l.msg === 'settings ConfigMap watch failed; retrying')).toBe(false);
    expect(line.changed?.sort()).toEqual(['log_level', 'max_concurrent_reconciles']);
    expect(line.applied).toEqual({ max_concurrent_reconciles: 7, log_level: 'debug' });
    appliedRv = cm.metadata!.resourceVersion!;
    const s = await waitFor('status with the new resourceVersion', async () => {
      const st = await hotReloadStatus();
      return st?.resourceVersion === appliedRv ? st : undefined;
    });
    expect(s).toMatchObject({ name: CM, namespace: ns });
    expect(s.lastError).toBeUndefined();
    expect(await controller.metric('secret_manager_config_reloads_total', { result: 'applied' })).toBe(
      applied0 + 1,
    );
    await waitFor('ConfigReloaded Event (max_concurrent_reconciles)', async () =>
      (await events('ConfigReloaded')).join('\n').includes('max_concurrent_reconciles') ? true : undefined,
    );
    expect(lines().filter((l) => l.msg === 'started')).toHaveLength(1); // no restart
  });

  it('refuses an invalid change whole: old settings stay; status, Event and metric show it', async () => {
    const rejected0 = await controller.metric('secret_manager_config_reloads_total', { result: 'rejected' });
    const from = controller.log().length;
    await kube()
      .client(CoreV1Api)
      .replaceNamespacedConfigMap({
        namespace: ns,
        name: CM,
        body: {
          metadata: { name: CM },
          data: { max_concurrent_reconciles: '2', log_level: 'LOUD-NOT-A-LEVEL' },
        },
      });
    const refused = await logLine(
      'settings change refused',
      from,
      (l) => l.msg === 'settings change refused',
    );
    expect(refused.level).toBe('warn');
    const s = await waitFor('status lastError', async () => {
      const st = await hotReloadStatus();
      return st?.lastError ? st : undefined;
    });
    expect(s.lastError).toContain('log_level');
    expect(s.lastError).not.toContain('LOUD-NOT-A-LEVEL');
    expect(s.resourceVersion).toBe(appliedRv); // the settings still running
    // What the docs tell users to run (`kubectl get smc NAME -o yaml | grep -A 5 hotReload`).
    const yaml = await kube().kubectl(['get', 'smc', SMC, '-n', ns, '-o', 'yaml']);
    const shown = yaml
      .split('\n')
      .reduce<string[]>(
        (acc, l, i, all) => (l.includes('hotReload:') ? [...acc, ...all.slice(i, i + 6)] : acc),
        [],
      )
      .join('\n');
    console.log(`kubectl get smc ${SMC} -o yaml | grep -A 5 hotReload:\n${shown}`);
    expect(shown).toMatch(/lastError: .*log_level/);
    expect(await controller.metric('secret_manager_config_reloads_total', { result: 'rejected' })).toBe(
      rejected0 + 1,
    );
    const ev = await waitFor('ConfigRejected Event', async () => {
      const e = await events('ConfigRejected');
      return e.length ? e : undefined;
    });
    expect(ev[0]).toContain('log_level');
    // Nothing of it applied: no "settings applied", and the log is still at debug.
    expect(lines(from).some((l) => l.msg === 'settings applied')).toBe(false);
    expect(controller.log()).not.toContain('LOUD-NOT-A-LEVEL');
  });

  it('goes back to environment/defaults when the ConfigMap is deleted', async () => {
    const from = controller.log().length;
    const t0 = performance.now();
    await kube().client(CoreV1Api).deleteNamespacedConfigMap({ namespace: ns, name: CM });
    const line = await logLine('settings applied', from, (l) => l.msg === 'settings applied');
    console.log(
      `hot reload: ConfigMap deleted → defaults applied in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    expect(line.applied).toEqual({ max_concurrent_reconciles: 4, log_level: 'info' });
    const s = await waitFor('status after deletion', async () => {
      const st = await hotReloadStatus();
      return st && st.resourceVersion === undefined && !st.lastError ? st : undefined;
    });
    expect(s.appliedAt).toBeDefined();
    await waitFor('ConfigReloaded Event (deleted)', async () =>
      (await events('ConfigReloaded')).join('\n').includes('deleted') ? true : undefined,
    );
    // Back at info: no debug line after the swap.
    await new Promise((r) => setTimeout(r, 300));
    const after = lines(from);
    const at = after.findIndex((l) => l.msg === 'settings applied');
    expect(after.slice(at).some((l) => l.level === 'debug')).toBe(false);
  });

  it('stops watching when no SMC has hotReload enabled, and starts again when one does', async () => {
    let from = controller.log().length;
    await setHotReload(false);
    await logLine('hot reload off', from, (l) => l.msg.startsWith('hot reload off'));
    from = controller.log().length;
    await kube()
      .client(CoreV1Api)
      .createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: CM }, data: { max_concurrent_reconciles: '3' } },
      });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(lines(from).some((l) => l.msg === 'settings applied')).toBe(false);
    await setHotReload(true);
    const line = await logLine('settings applied', from, (l) => l.msg === 'settings applied');
    expect(line.applied).toEqual({ max_concurrent_reconciles: 3 });
  });
});
