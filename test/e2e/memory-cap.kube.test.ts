/**
 * The controller under a hard memory cap at fleet scale (docs/performance.md "Memory"): N = 1000
 * SMCs on one shared Flux source (the example GitOps tree, SOPS/age, the Kubernetes store) created
 * in bulk, the controller as it ships (`bin/secret-manager-controller.js`, built `dist/`, the
 * shipped RBAC, default settings) started with the `NODE_OPTIONS` of config/manager/deployment.yaml
 * (V8's heap caps; the chart's `nodeOptions` default is the same). Every SMC must become Ready, the
 * process must still be alive (a heap over the cap aborts it), and its peak resident set (`VmHWM`
 * of /proc/<pid>/status, no cgroup needed) must stay under `RSS_CAP_MIB`, well under the memory
 * limit of that Deployment (asserted too).
 *
 * Cheap on purpose: the SMCs exist before the controller starts (one full sync of the fleet, no
 * per-create trickle), it waits on a condition (no timing assertion), and it stops at once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import pMap from 'p-map';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { msmctlEntry } from '../docs/msmctl-entry.js';
import { freePort } from '../peers/free-port.js';
import {
  type ArtifactServer,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { GROUP, VERSION, createFleetSmc, createFleetSource } from './smc.js';

const N = 1000;
/** The peak resident set allowed at N = 1000 (docs/performance.md "Memory"). */
const RSS_CAP_MIB = 350;

/** NODE_OPTIONS and the memory limit (MiB) of the shipped Deployment. */
async function shippedMemorySettings(): Promise<{ nodeOptions: string[]; limitMiB: number }> {
  const doc = parse(await readFile(join(repoRoot, 'config/manager/deployment.yaml'), 'utf8')) as {
    spec: {
      template: {
        spec: {
          containers: {
            env?: { name: string; value?: string }[];
            resources: { limits: { memory: string } };
          }[];
        };
      };
    };
  };
  const [c] = doc.spec.template.spec.containers;
  const options = c?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  const limit = /^(\d+)Mi$/.exec(c?.resources.limits.memory ?? '')?.[1];
  if (!options || !limit)
    throw new Error('config/manager/deployment.yaml: no NODE_OPTIONS or no memory limit in Mi');
  return { nodeOptions: options.split(/\s+/), limitMiB: Number(limit) };
}

const kube = useKube();
let ns: string;
let scratch: string;
let artifacts: ArtifactServer;

interface Item {
  metadata: { name: string };
  status?: { lastSyncedRevision?: string; conditions?: { type: string; status: string }[] };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-memory-cap-'));
  artifacts = await startArtifactServer();
  ns = await kube().createNamespace('memory-cap');
}, 120_000);

afterAll(async () => {
  await removeShippedRbac(kube(), ns);
  await artifacts?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe(`the controller at N = ${N} under the shipped heap caps`, () => {
  it(
    `syncs every SMC, is not killed, and peaks under ${RSS_CAP_MIB} MiB of RSS`,
    { timeout: 900_000 },
    async () => {
      // dist/ built from the current src/ (checked on dist/cli; the controller is built by the same tsc run).
      msmctlEntry();
      const shipped = await shippedMemorySettings();
      expect(RSS_CAP_MIB).toBeLessThan(shipped.limitMiB);
      const tree = join(scratch, 'repo');
      const ref = await createFleetSource(kube(), kube().client(CoreV1Api), ns, tree);
      const revision = gitRevision('main', '1'.padStart(40, '0'));
      await setFluxArtifact(kube(), ref, await artifacts.publishDirectory(ref, tree, { revision }));

      const custom = kube().client(CustomObjectsApi);
      await pMap(
        Array.from({ length: N }, (_, i) => `smc-${String(i).padStart(4, '0')}`),
        (name) => createFleetSmc(custom, ns, name),
        { concurrency: 32 },
      );

      const access = await shippedRbacAccess(kube(), ns);
      let out = '';
      const child = spawn(
        process.execPath,
        [...shipped.nodeOptions, join(repoRoot, 'bin/secret-manager-controller.js')],
        {
          cwd: repoRoot,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            KUBECONFIG: access.kubeconfigPath,
            WATCH_NAMESPACES: ns,
            POD_NAMESPACE: ns,
            METRICS_PORT: String(await freePort()),
            METRICS_HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        let ready = 0;
        for (;;) {
          expect(child.exitCode, `controller exited (signal ${child.signalCode}):\n${out}`).toBeNull();
          const { items } = (await custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: ns,
            plural: 'secretmanagerconfigs',
          })) as { items: Item[] };
          ready = items.filter(
            (s) =>
              s.status?.lastSyncedRevision === revision &&
              s.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ).length;
          if (ready === N) break;
          await new Promise((r) => setTimeout(r, 2_000));
        }
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const peakMiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
        const rssMiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
        console.log(
          `memory cap: ${N} SMCs Ready; RSS ${rssMiB.toFixed(0)} MiB, peak ${peakMiB.toFixed(0)} MiB (cap ${RSS_CAP_MIB} MiB; ${shipped.nodeOptions.join(' ')}; limit ${shipped.limitMiB} MiB)`,
        );
        expect(ready).toBe(N);
        expect(child.exitCode).toBeNull();
        expect(peakMiB).toBeLessThanOrEqual(RSS_CAP_MIB);
      } finally {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
      }
    },
  );
});
