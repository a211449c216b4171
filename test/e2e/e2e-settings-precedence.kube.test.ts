/**
 * Where settings come from (docs/operations.md, "Where settings come from"): the defaults, then the
 * settings ConfigMap, then the environment. The controller runs as a process against the real
 * apiserver with `METRICS_PORT` in its environment and another `metrics_port` in the ConfigMap: it
 * listens on the environment's port (it used to take the ConfigMap's and ignore the variable), and
 * its start-up log names the source of every setting that is not at its default — names and
 * sources only, no values.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, expect, it } from 'vitest';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, freePort, startController, waitFor } from './controller-process.js';

const kube = useKube();
let controller: ControllerProcess | undefined;

afterAll(async () => {
  await controller?.stop();
});

it('the environment wins over the ConfigMap, and the start-up log names each source', async () => {
  const ns = await kube().createNamespace('settings-precedence');
  const configMapPort = await freePort();
  await kube()
    .client(CoreV1Api)
    .createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: 'secret-manager-controller-config' },
        // log_level only here; metrics_port also in the environment (startController sets it).
        data: { metrics_port: String(configMapPort), log_level: 'debug', provider_max_rps: '10' },
      },
    });
  // startController waits for /readyz on the METRICS_PORT it passes: it fails if the ConfigMap wins.
  controller = await startController({
    KUBECONFIG: kube().kubeconfigPath,
    POD_NAMESPACE: ns,
    WATCH_NAMESPACES: ns,
    MAX_CONCURRENT_RECONCILES: '2',
  });
  const line = await waitFor(
    'the settings line',
    async () =>
      controller!
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; sources?: Record<string, string> })
        .find((l) => l.msg === 'settings not at their default'),
    { log: () => controller!.log() },
  );
  expect(line.sources).toEqual({
    metrics_port: 'environment',
    max_concurrent_reconciles: 'environment',
    watch_namespaces: 'environment',
    log_level: 'configmap',
    // provider_max_rps: 10 is the default: not listed.
  });
  expect(controller.log()).not.toContain(`"port":${configMapPort}`);
});
