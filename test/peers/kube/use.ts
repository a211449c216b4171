/**
 * useKube(): the cluster for a test file. With the vitest global setup (./global.ts) active, every
 * file shares the one cluster started for the run (isolate with kube().createNamespace()); without
 * it, the file starts its own cluster in beforeAll (~5-6 s) and stops it in afterAll (~1 s).
 *
 *   const kube = useKube();
 *   it('…', async () => { const ns = await kube().createNamespace('cm'); … });
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { KubeCluster, type KubeInfo } from './cluster.js';
import { type KubePeer, type StartKubeOptions, startKube } from './index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/peers/kube/global.ts: the cluster shared by the run. */
    kube?: KubeInfo;
  }
}

export function useKube(opts: StartKubeOptions = {}): () => KubeCluster {
  let cluster: KubeCluster | undefined;
  let own: KubePeer | undefined;
  beforeAll(async () => {
    const shared = inject('kube');
    if (shared) {
      cluster = new KubeCluster(shared);
    } else {
      own = await startKube(opts);
      cluster = own;
    }
  }, 180_000);
  afterAll(async () => {
    await own?.stop();
  }, 30_000);
  return () => {
    if (!cluster) throw new Error('useKube(): the cluster is not started yet (use it inside tests or hooks)');
    return cluster;
  };
}
