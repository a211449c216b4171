/**
 * The SMC informer (src/controller/runtime/informers.ts) against the real kube-apiserver: an
 * update that changes only the status keeps the previous spec object, so caches keyed on it (the
 * validated spec, src/controller/reconcile.ts) stay valid; an update of the spec brings the new one.
 */
import { PassThrough } from 'node:stream';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION_NAME, KIND, PLURAL } from '../../src/api/constants.js';
import { watchCollection } from '../../src/controller/runtime/informers.js';
import { createLogger } from '../../src/observability/logger.js';
import { waitFor } from '../e2e/controller-process.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
let ns: string;
let custom: CustomObjectsApi;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  ns = await kube().createNamespace('informer-spec');
  custom = kube().client(CustomObjectsApi);
});

interface Smc {
  metadata: { name: string; namespace: string; generation?: number; resourceVersion?: string };
  spec?: { deletionPolicy?: string };
  status?: { phase?: string };
}

describe('watchCollection: the spec object across updates', () => {
  it('a status-only update keeps the previous spec object; a spec change replaces it', async () => {
    const ref = { group: API_GROUP, version: API_VERSION_NAME, namespace: ns, plural: PLURAL, name: 'app' };
    const updates: { obj: Smc; old: Smc | undefined }[] = [];
    const smcs = watchCollection<Smc>({
      kubeConfig: kube().kubeConfig(),
      type: { group: API_GROUP, version: API_VERSION_NAME, plural: PLURAL, kind: KIND },
      namespaces: [ns],
      logger: createLogger({ level: 'warn', destination: new PassThrough() }),
      onEvent: (event, obj, old) => {
        if (event === 'update') updates.push({ obj, old });
      },
    });
    await smcs.start();
    try {
      await custom.createNamespacedCustomObject({
        ...ref,
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION_NAME}`,
          kind: KIND,
          metadata: { name: 'app' },
          spec: {
            sourceRef: { kind: 'GitRepository', name: 'config' },
            provider: { kubernetes: {} },
            secrets: { environment: 'dev' },
          },
        },
      });
      const created = await waitFor('the SMC in the cache', async () => smcs.get(ns, 'app'));

      await custom.patchNamespacedCustomObjectStatus(
        { ...ref, body: { status: { phase: 'Synced' } } },
        MERGE,
      );
      const statusUpdate = await waitFor('the status update', async () =>
        updates.find((u) => u.obj.status?.phase === 'Synced'),
      );
      expect(statusUpdate.obj).not.toBe(created);
      expect(statusUpdate.obj.spec).toBe(created.spec);

      await custom.patchNamespacedCustomObject(
        { ...ref, body: { spec: { deletionPolicy: 'Delete' } } },
        MERGE,
      );
      const specUpdate = await waitFor('the spec update', async () =>
        updates.find((u) => u.obj.spec?.deletionPolicy === 'Delete'),
      );
      expect(specUpdate.obj.spec).not.toBe(created.spec);
      expect(specUpdate.obj.metadata.generation).toBe((created.metadata.generation ?? 0) + 1);
      expect(smcs.get(ns, 'app')?.spec?.deletionPolicy).toBe('Delete');
    } finally {
      await smcs.stop();
    }
  });
});
