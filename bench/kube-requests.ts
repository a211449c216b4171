/**
 * Benchmark: the CPU one API request costs the controller and the apiserver, with requests sent
 * over HTTP/1.1 (what the controller does, src/controller/kube-http.ts) and over HTTP/2 (the
 * baseline: undici's default), in the same process against the real kube-apiserver + etcd peer.
 * Per kind of request — a Secret read, a read of a missing Secret (404), a Secret create — it
 * prints the CPU per request of this process and of kube-apiserver + etcd, and the ratio.
 *
 *   npm run bench:kube-requests [-- --requests 2000 --concurrency 8 --rounds 3]
 *
 * Each round runs both protocols one after the other; the figures are the medians over the rounds
 * (the first round warms up the JIT and the apiserver's caches as much as the others).
 */
import { parseArgs } from 'node:util';
import pMap from 'p-map';
import { createRequestHttpLibrary } from '../src/controller/kube-http.js';
import { SharedConnectionKubeConfig } from '../src/controller/kube-client.js';
import { CoreV1Api } from '../src/kube/client-node.js';
import { startKube } from '../test/peers/kube/index.js';
import { processGroupsCpuS } from './proc-cpu.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const kube = await startKube({});
/** CPU seconds used so far by kube-apiserver and etcd. */
const peersCpuS = () => processGroupsCpuS(Object.values(kube.pids));

const protocols = {
  'HTTP/2 (baseline)': new SharedConnectionKubeConfig(createRequestHttpLibrary({ http2: true })),
  'HTTP/1.1 (ours)': new SharedConnectionKubeConfig(),
};
const kinds = ['Secret read', 'read of a missing Secret', 'Secret create'] as const;
type Kind = (typeof kinds)[number];
const results = new Map<string, { client: number[]; server: number[] }>();

try {
  const ns = await kube.createNamespace('kube-requests');
  for (const kc of Object.values(protocols)) kc.loadFromString(kube.kubeConfig().exportConfig());
  const setup = protocols['HTTP/1.1 (ours)'].makeApiClient(CoreV1Api);
  await setup.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'read-me' }, stringData: { key: 'value' } },
  });
  let created = 0;
  const call = (core: CoreV1Api, kind: Kind) => {
    switch (kind) {
      case 'Secret read':
        return core.readNamespacedSecret({ namespace: ns, name: 'read-me' });
      case 'read of a missing Secret':
        return core.readNamespacedSecret({ namespace: ns, name: 'missing' }).catch(() => undefined);
      case 'Secret create':
        return core.createNamespacedSecret({
          namespace: ns,
          body: { metadata: { name: `s-${++created}` }, stringData: { key: 'value' } },
        });
    }
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [protocol, kc] of Object.entries(protocols)) {
      const core = kc.makeApiClient(CoreV1Api);
      for (const kind of kinds) {
        const client0 = process.cpuUsage();
        const server0 = await peersCpuS();
        await pMap(Array.from({ length: N }), () => call(core, kind), { concurrency: CONCURRENCY });
        const client = process.cpuUsage(client0);
        const server = (await peersCpuS()) - server0;
        const r = results.get(`${protocol}|${kind}`) ?? { client: [], server: [] };
        r.client.push((client.user + client.system) / 1000 / N);
        r.server.push((server * 1000) / N);
        results.set(`${protocol}|${kind}`, r);
      }
    }
    process.stderr.write(`[bench:kube-requests] round ${round}/${ROUNDS} done\n`);
  }
} finally {
  await Promise.all(Object.values(protocols).map((kc) => kc.closeConnections()));
  await kube.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(
  `\n${N} requests per kind, ${CONCURRENCY} at a time, median of ${ROUNDS} rounds; CPU per request (ms)\n`,
);
console.log('| request | protocol | this process | kube-apiserver + etcd |\n|---|---|---|---|');
for (const kind of kinds) {
  const [h2, h1] = Object.keys(protocols).map((p) => results.get(`${p}|${kind}`)!);
  console.log(
    `| ${kind} | HTTP/2 (baseline) | ${median(h2!.client).toFixed(3)} | ${median(h2!.server).toFixed(3)} |`,
  );
  console.log(
    `| ${kind} | HTTP/1.1 (ours) | ${median(h1!.client).toFixed(3)} (${(median(h1!.client) / median(h2!.client)).toFixed(2)}×) | ${median(h1!.server).toFixed(3)} (${(median(h1!.server) / median(h2!.server)).toFixed(2)}×) |`,
  );
}
