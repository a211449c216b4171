/**
 * The controller process (docs/operations.md): settings from the environment, kubeconfig (in-cluster or
 * KUBECONFIG), the HTTP port (`/metrics`, `/healthz`, `/readyz`), optional leader election, and the
 * controller. SIGTERM/SIGINT stop it gracefully (in-flight reconciles drain, the Lease is released).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { CoreV1Api, type KubeConfig } from '../kube/client-node.js';
import { DEFAULT_SETTINGS_CONFIGMAP, type HotReloadSpec } from '../api/index.js';
import { createLogger, setLogLevel } from '../observability/logger.js';
import { createControllerMetrics } from '../observability/metrics.js';
import { startStatusServer } from '../observability/status-server.js';
import { Tracing } from '../observability/tracing.js';
import { ensurePrivateBase, privateTmpBase, sweepStaleTempDirs } from '../private-tmp.js';
import { VERSION } from '../version.js';
import { Controller } from './controller.js';
import { EventRecorder } from './runtime/events.js';
import { type SharedConnectionKubeConfig, loadControllerKubeConfig } from './kube-client.js';
import { LeaderElector, leaseClient, leaseNameFor } from './runtime/leader-election.js';
import {
  changedSettings,
  defaultSettings,
  parseSettings,
  type ParsedSettings,
  type Settings,
} from './settings.js';
import { SettingsReloader, kubernetesReport } from './settings-reload.js';
import { kubernetesSettingsSource } from './settings-source.js';

const USAGE = `usage: secret-manager-controller [--version] [--leader-elect]

Settings, lowest precedence first: the defaults; the settings ConfigMap secret-manager-controller-config
in the controller namespace (snake_case keys: metrics_port, watch_namespaces, …); environment variables
(METRICS_PORT, WATCH_NAMESPACES, …). The start-up log names the source of every non-default value.
The controller namespace is POD_NAMESPACE (else the in-cluster service account's namespace).
`;

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function controllerNamespace(env: NodeJS.ProcessEnv): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  return 'secret-manager-controller';
}

/**
 * Data of the settings ConfigMap in the controller namespace (overlaying the environment); empty
 * when it does not exist. Read at start; while an SMC enables `spec.hotReload`, changes are applied
 * live by the SettingsReloader (docs/hot-reload.md).
 */
export async function readSettingsConfigMap(
  kubeConfig: KubeConfig,
  namespace: string,
): Promise<Record<string, string>> {
  try {
    const cm = await kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace, name: DEFAULT_SETTINGS_CONFIGMAP });
    return cm.data ?? {};
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 404) return {};
    throw new Error(
      `reading ConfigMap ${namespace}/${DEFAULT_SETTINGS_CONFIGMAP} failed (HTTP ${code ?? 'error'})`,
      { cause: e },
    );
  }
}

/** `{ metrics_port: 'environment', … }` for every setting whose value is not the default (no values). */
export function settingSources(
  settings: Settings,
  sources: ParsedSettings['sources'],
): Record<string, string> {
  return Object.fromEntries(
    changedSettings(defaultSettings(), settings).map((k) => [k, sources[k] ?? 'default']),
  );
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`secret-manager-controller ${VERSION}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--leader-elect');
  if (unknown.length) {
    process.stderr.write(`secret-manager-controller: unknown argument ${unknown[0]}\n${USAGE}`);
    return 2;
  }
  // The environment alone must be valid before anything else is tried.
  const fromEnv = parseSettings(env);
  if (!fromEnv.settings) {
    for (const e of fromEnv.errors) process.stderr.write(`secret-manager-controller: ${e.message}\n`);
    return 2;
  }
  let kubeConfig: SharedConnectionKubeConfig; // one keep-alive connection pool per cluster
  try {
    kubeConfig = loadControllerKubeConfig(); // KUBECONFIG, ~/.kube/config, else in-cluster
  } catch (e) {
    process.stderr.write(`secret-manager-controller: cannot load the kubeconfig: ${(e as Error).message}\n`);
    return 2;
  }
  const namespace = controllerNamespace(env);
  let configMapData: Record<string, string>;
  try {
    configMapData = await readSettingsConfigMap(kubeConfig, namespace);
  } catch (e) {
    process.stderr.write(`secret-manager-controller: ${(e as Error).message}\n`);
    return 2;
  }
  const parsed = parseSettings(env, configMapData);
  if (!parsed.settings) {
    for (const e of parsed.errors) process.stderr.write(`secret-manager-controller: ${e.message}\n`);
    return 2;
  }
  const settings = parsed.settings;
  let leaseName: string;
  try {
    leaseName = leaseNameFor(settings.shard_key);
  } catch (e) {
    if (argv.includes('--leader-elect')) {
      process.stderr.write(`secret-manager-controller: ${(e as Error).message}\n`);
      return 2;
    }
    leaseName = '';
  }
  const logger = createLogger({ level: settings.log_level, format: settings.log_format });
  for (const w of parsed.warnings ?? []) logger.warn({ deprecated: w.split(' ')[0] }, w);
  // Decrypted kustomize copies and Git credential files left by a killed predecessor (the
  // memory-backed SMC_PRIVATE_TMP_DIR volume outlives a container restart): made private, swept.
  try {
    const base = privateTmpBase(env);
    await ensurePrivateBase(base);
    const swept = await sweepStaleTempDirs(base);
    if (swept.length > 0) logger.info({ removed: swept.length }, 'removed leftover temporary directories');
  } catch (e) {
    process.stderr.write(`secret-manager-controller: private temporary directory: ${(e as Error).message}\n`);
    return 2;
  }
  const metrics = createControllerMetrics();
  const controller = new Controller({
    kubeConfig,
    settings,
    logger,
    metrics,
    controllerNamespace: namespace,
  });
  // Traces (docs/observability.md): on while `tracing_enabled`, to the SMC's `spec.otel` or the OTEL_* environment.
  const tracing = await Tracing.create({ enabled: settings.tracing_enabled, env, log: logger });
  controller.useTracing(tracing);
  // Hot reload (docs/hot-reload.md): while an SMC enables it, the settings ConfigMap is watched and applied live.
  const reloader = new SettingsReloader({
    env,
    initial: settings,
    controllerNamespace: namespace,
    defaultConfigMapName: DEFAULT_SETTINGS_CONFIGMAP,
    source: kubernetesSettingsSource(kubeConfig, logger),
    logger,
    countReload: (result) => metrics.configReloads.inc({ result }),
    apply: (next) => {
      setLogLevel(logger, next.log_level);
      controller.applySettings(next);
      void tracing.setEnabled(next.tracing_enabled);
    },
    report: kubernetesReport(kubeConfig, new EventRecorder(kubeConfig, logger, hostname()), logger),
  });
  controller.onSmcsChanged((smcs) =>
    reloader.setTargets(
      smcs.map((s) => ({
        namespace: s.metadata.namespace,
        name: s.metadata.name,
        uid: s.metadata.uid,
        hotReload: (s.spec as { hotReload?: HotReloadSpec } | undefined)?.hotReload,
      })),
    ),
  );

  // Resolved by SIGTERM/SIGINT, or when leadership is lost.
  let requestStop: (why: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => {
    let stopping = false;
    requestStop = (why) => {
      if (stopping) return;
      stopping = true;
      resolve(why);
    };
  });
  // Handlers stay installed: a second signal during the drain must not kill the process.
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  process.on('SIGINT', () => requestStop('SIGINT'));

  const elector = argv.includes('--leader-elect')
    ? new LeaderElector({
        client: leaseClient(kubeConfig),
        namespace,
        name: leaseName,
        logger,
        onStartedLeading: () => {
          logger.info('leading: starting the controller');
          controller.start().catch((e: unknown) => logger.error({ err: e }, 'controller failed to start'));
        },
        onStoppedLeading: () => {
          // Like controller-runtime: a replica that lost the Lease exits and restarts as a standby.
          requestStop('leadership lost');
        },
      })
    : undefined;

  const http = await startStatusServer({
    port: settings.metrics_port,
    host: env.METRICS_HOST || undefined,
    registry: () => (reloader.current.metrics_enabled ? metrics.registry : undefined),
    isReady: () => {
      if (elector && !elector.isLeader) return { ready: true, reason: 'standing by' };
      return controller.synced ? { ready: true } : { ready: false, reason: 'caches not synced' };
    },
  });
  logger.info({ version: VERSION, port: http.port, namespace, leaderElection: !!elector }, 'started');
  logger.info({ sources: settingSources(settings, parsed.sources) }, 'settings not at their default');

  if (elector) elector.start();
  else await controller.start();

  const why = await stopRequested;
  logger.info({ why }, 'shutting down');
  reloader.stop();
  await controller.stop(10_000);
  await controller.notificationsIdle();
  await tracing.shutdown(); // flushes the spans still batched
  await elector?.stop();
  await http.close();
  await kubeConfig.closeConnections();
  logger.info('stopped');
  return why === 'leadership lost' ? 1 : 0;
}
