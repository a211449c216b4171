/**
 * Benchmark: the consumption analysis of automatic workload reload (docs/hot-reload.md), which runs
 * over every workload of the SMC's namespace (from the informer caches) for each change-set.
 *
 * N pod templates, each with 20 env vars (4 of them reading the changed Secret) and the Secret
 * mounted as a volume: classify, then intersect with one changed key. Five rounds; the first
 * includes warm-up.
 *
 *   npx tsx bench/workload-consumption.ts [N=10000]
 */
import { performance } from 'node:perf_hooks';
import { affectedBy, classifyConsumption, type PodSpecLike } from '../src/reload/workloads/consumption.js';

const n = Number(process.argv[2] ?? 10_000);
const secrets = new Set(['app']);
const specs: PodSpecLike[] = Array.from({ length: n }, (_, i) => ({
  volumes: [{ name: 'v', secret: { secretName: i % 2 ? 'app' : 'other' } }],
  containers: [
    {
      env: Array.from({ length: 20 }, (_, j) => ({
        name: `E${j}`,
        valueFrom: { secretKeyRef: { name: j % 5 ? 'other' : 'app', key: `K${j}` } },
      })),
      volumeMounts: [{ name: 'v', mountPath: '/etc/app' }],
    },
  ],
}));
const changed = new Map([['app', new Set(['K0'])]]);
for (let round = 1; round <= 5; round++) {
  const t0 = performance.now();
  let restarts = 0;
  for (const s of specs) restarts += affectedBy(classifyConsumption(s, secrets), changed).restart.length;
  const ms = performance.now() - t0;
  console.log(`round ${round}: ${n} pod templates in ${ms.toFixed(1)} ms (${restarts} to restart)`);
}
