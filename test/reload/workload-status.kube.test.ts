/**
 * The workload reloader's status writer against the real kube-apiserver: `status.hotReload
 * .workloadsNotified` lists every workload reloaded for one sync, even when their reloads finish in
 * different batches (an HTTP reload waits for its pods; on a loaded machine a restart and an HTTP
 * reload of the same sync came 343 ms apart and the list held only the last one); a sync with new
 * content starts a new list.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { WorkloadStatusWriter } from '../../src/reload/workloads/index.js';
import { smcClient } from '../e2e/smc.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();

const quiet = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkloadStatusWriter', () => {
  it('keeps every workload of one sync across batches; new content starts a new list', async () => {
    const ns = await kube().createNamespace('wl-status');
    const smcs = smcClient(kube, ns, () => '');
    await smcs.create('app', {
      sourceRef: { kind: 'GitRepository', name: 'config' },
      provider: { kubernetes: {} },
      secrets: { environment: 'dev' },
    });
    const smc = { namespace: ns, name: 'app' };
    const writer = new WorkloadStatusWriter(kube().kubeConfig(), quiet, 20);
    const notified = async () =>
      ((await smcs.get('app')) as { status?: { hotReload?: { workloadsNotified?: string[] } } }).status
        ?.hotReload?.workloadsNotified;
    const settle = async (want: string[]) => {
      for (let i = 0; i < 100 && JSON.stringify(await notified()) !== JSON.stringify(want); i++)
        await sleep(50);
      return notified();
    };

    writer.add(smc, 'Deployment/web', 'sha256:one');
    expect(await settle(['Deployment/web'])).toEqual(['Deployment/web']);
    writer.add(smc, 'Deployment/api', 'sha256:one'); // the same sync, a later batch
    expect(await settle(['Deployment/api', 'Deployment/web'])).toEqual(['Deployment/api', 'Deployment/web']);
    writer.add(smc, 'Deployment/api', 'sha256:two'); // the next sync
    expect(await settle(['Deployment/api'])).toEqual(['Deployment/api']);
    await writer.stop();
  });
});
