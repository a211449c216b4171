/**
 * A Secret volume as the kubelet keeps it: the test follows the Kubernetes Secret on the API server
 * (a short poll) and, each time its `data` changes, projects it into a directory with the kubelet's
 * AtomicWriter (timestamped directory, `..data_tmp` renamed over `..data`, per-key symlinks, old
 * directory removed). Like the kubelet, a payload identical to the one on disk is not written.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeCluster } from '../peers/kube/index.js';
import { AtomicWriterSim } from '../reload/fs-writers.js';

export interface Projection {
  /** Every write: when the test saw the new Secret and when `..data` was swapped (Date.now()). */
  readonly writes: { resourceVersion: string; seenAt: number; swappedAt: number }[];
  /** The Secret's resourceVersions seen (written or not). */
  readonly seen: string[];
  stop(): Promise<void>;
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** Starts once the Secret exists; resolves after the first projection. */
export async function projectSecret(
  kube: KubeCluster,
  namespace: string,
  name: string,
  dir: string,
  intervalMs = 50,
  /** As a Secret volume's `items`: project only these keys, each to its path (key → path). */
  items?: Record<string, string>,
): Promise<Projection> {
  const core = kube.client(CoreV1Api);
  const writer = new AtomicWriterSim(dir);
  const writes: Projection['writes'] = [];
  const seen: string[] = [];
  let last: string | undefined;
  let stopped = false;
  let failure: unknown;
  const tick = async () => {
    const s = await core.readNamespacedSecret({ namespace, name }).catch((e: unknown) => {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    });
    if (!s) return;
    const rv = s.metadata?.resourceVersion ?? '';
    if (seen.at(-1) === rv) return;
    seen.push(rv);
    const all = decode(s.data);
    const payload = items
      ? Object.fromEntries(
          Object.entries(items)
            .filter(([key]) => key in all)
            .map(([key, path]) => [path, all[key]!]),
        )
      : all;
    const text = JSON.stringify(Object.entries(payload).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (text === last) return; // the kubelet skips an unchanged payload
    const seenAt = Date.now();
    await writer.write(payload);
    last = text;
    writes.push({ resourceVersion: rv, seenAt, swappedAt: Date.now() });
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        await tick();
      } catch (e) {
        failure = e;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  // The first projection waits for the controller's first sync: generous on a loaded machine
  // (below the 120 s hook timeout of the beforeAll that calls this).
  const deadline = Date.now() + 90_000;
  while (writes.length === 0) {
    if (Date.now() > deadline) {
      stopped = true;
      throw new Error(`Secret ${namespace}/${name} never projected${failure ? `: ${String(failure)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return {
    writes,
    seen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
