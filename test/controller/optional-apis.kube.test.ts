/**
 * A cluster that serves neither the SecretManagerConfig CRD nor the Argo CD CRDs (its own
 * kube-apiserver, Flux CRDs only):
 *
 * - msmctl says the SMC API is not served (exit 3, docs/cli.md), for `status NAME` as for `list`,
 *   instead of `not found`;
 * - the controller's watch of an optional API (Argo CD Applications here; the Flux and Rollouts
 *   types go through the same code) is not started while discovery says the CRD is absent: one
 *   info line, no `watch failed; restarting` every 2 s; once the CRD is installed, the next
 *   discovery starts the watch and its objects arrive (src/controller/runtime/optional-api.ts).
 */
import { PassThrough } from 'node:stream';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchCollection } from '../../src/controller/runtime/informers.js';
import { createLogger } from '../../src/observability/logger.js';
import { msmctl } from '../cli/run.js';
import { type KubePeer, applyCrds, defaultCrdFiles, startKube } from '../peers/kube/index.js';
import { waitFor } from '../e2e/controller-process.js';

let cluster: KubePeer;
let argoCrd: string;

beforeAll(async () => {
  const files = await defaultCrdFiles();
  argoCrd = files.find((f) => f.endsWith('application-crd.yaml'))!;
  cluster = await startKube({
    crds: files.filter((f) => !f.includes('argo') && !f.endsWith('secretmanagerconfig.yaml')),
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

describe('msmctl without the SecretManagerConfig CRD', () => {
  it.each([
    [['status', 'payments']],
    [['list']],
    [['list', '-w']],
    [['status', 'payments', '-w']],
    [['reconcile', 'payments']],
  ])('msmctl %j: the API is not served (exit 3)', (args) => {
    const r = msmctl([...args, '-n', 'default'], { env: { KUBECONFIG: cluster.kubeconfigPath } });
    expect(r.stderr).toBe(
      'msmctl: the API secret-management.octopilot.io/v1beta1 is not served: is the SecretManagerConfig CRD installed? (msmctl install)\n',
    );
    expect(r.status).toBe(3);
  });
});

describe('an optional API the cluster does not serve', () => {
  it('is not watched until its CRD appears: one info line, no restart loop; then its objects arrive', async () => {
    const out = new PassThrough();
    let log = '';
    out.on('data', (d: Buffer) => (log += d.toString()));
    const logger = createLogger({ level: 'debug', destination: out });
    const seen: string[] = [];
    const apps = watchCollection<{ metadata: { name: string; namespace: string } }>({
      kubeConfig: cluster.kubeConfig(),
      type: { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', kind: 'Application' },
      namespaces: [],
      logger,
      optional: true,
      optionalRecheckMs: 200,
      onEvent: (event, obj) => seen.push(`${event} ${obj.metadata.namespace}/${obj.metadata.name}`),
    });
    try {
      await apps.start();
      expect(apps.synced).toBe(true); // nothing to wait for: the collection is empty
      expect(apps.list()).toEqual([]);
      await waitFor('the not-served line', async () =>
        log.includes('optional API not served') ? true : undefined,
      );

      await applyCrds(cluster, [argoCrd]);
      await waitFor(
        'the watch to start',
        async () => (log.includes('optional API now served') ? true : undefined),
        {
          log: () => log,
        },
      );
      const ns = await cluster.createNamespace('argocd');
      await cluster.client(CustomObjectsApi).createNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'applications',
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: 'payments' },
          spec: {
            project: 'default',
            destination: { server: 'https://kubernetes.default.svc', namespace: 'default' },
            source: { repoURL: 'https://example.invalid/gitops.git', path: '.', targetRevision: 'main' },
          },
        },
      });
      await waitFor(
        'the Application event',
        async () => (seen.includes(`add ${ns}/payments`) ? true : undefined),
        {
          log: () => log,
        },
      );
      const lines = log.split('\n').filter(Boolean);
      // No restart loop on the absent API (404). A just-Established CRD may still answer 429 for
      // a moment (the apiserver's own delay): that one retry is fine.
      const warnings = lines
        .filter((l) => l.includes('"level":"warn"'))
        .map((l) => JSON.parse(l) as { code?: number });
      expect(warnings.filter((w) => w.code !== 429)).toEqual([]);
      expect(lines.filter((l) => l.includes('optional API not served'))).toHaveLength(1);
    } finally {
      await apps.stop();
    }
  });
});
