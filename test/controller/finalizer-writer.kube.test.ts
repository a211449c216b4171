/**
 * Keeping the finalizer as `deletionPolicy` needs it (src/controller/finalizer.ts `FinalizerWriter`)
 * against the real kube-apiserver: with the informer's copy the first PUT needs no GET; a stale copy
 * is refused by its resourceVersion and the object read afresh, so a change made meanwhile is kept
 * (and the decision made again on what was read); the copy handed in is never changed; a `Retain` SMC
 * loses a finalizer it carries. Requests are counted on the API client itself.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION_NAME, PLURAL } from '../../src/api/constants.js';
import { FINALIZER, type FinalizableSmc, FinalizerWriter } from '../../src/controller/finalizer.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
let ns: string;
let custom: CustomObjectsApi;

beforeAll(async () => {
  ns = await kube().createNamespace('finalizer');
  custom = kube().client(CustomObjectsApi);
});

/** The writer, over an API client that counts the calls it makes. */
function countingWriter() {
  const calls: string[] = [];
  const counted = new Proxy(custom, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { writer: new FinalizerWriter(counted), calls };
}

async function createSmc(name: string, deletionPolicy = 'Delete'): Promise<FinalizableSmc> {
  return (await custom.createNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION_NAME,
    namespace: ns,
    plural: PLURAL,
    body: {
      apiVersion: `${API_GROUP}/${API_VERSION_NAME}`,
      kind: 'SecretManagerConfig',
      metadata: { name },
      spec: {
        sourceRef: { kind: 'GitRepository', name: 'config' },
        provider: { kubernetes: {} },
        secrets: { environment: 'dev' },
        deletionPolicy,
      },
    },
  })) as FinalizableSmc;
}

async function read(name: string) {
  return (await custom.getNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION_NAME,
    namespace: ns,
    plural: PLURAL,
    name,
  })) as FinalizableSmc & { metadata: { labels?: Record<string, string> } };
}

/** PUT the whole object back, changed by the test (as another writer would). */
async function replace(name: string, body: object): Promise<FinalizableSmc> {
  return (await custom.replaceNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION_NAME,
    namespace: ns,
    plural: PLURAL,
    name,
    body,
  })) as FinalizableSmc;
}

describe('FinalizerWriter.align', () => {
  it('puts the informer’s copy without a GET, and leaves that copy unchanged', async () => {
    const seen = await createSmc('fresh');
    const before = structuredClone(seen);
    const { writer, calls } = countingWriter();
    expect(await writer.align(ns, 'fresh', seen)).toBe(true);
    expect(calls).toEqual(['replaceNamespacedCustomObject']);
    expect(seen).toEqual(before);
    expect((await read('fresh')).metadata.finalizers).toEqual([FINALIZER]);
  });

  it('a stale copy is refused (409) and the object read afresh: a change made meanwhile is kept', async () => {
    const seen = await createSmc('stale');
    const now = await read('stale');
    await replace('stale', { ...now, metadata: { ...now.metadata, labels: { team: 'a' } } });
    const { writer, calls } = countingWriter();
    expect(await writer.align(ns, 'stale', seen)).toBe(true);
    expect(calls).toEqual([
      'replaceNamespacedCustomObject',
      'getNamespacedCustomObject',
      'replaceNamespacedCustomObject',
    ]);
    const after = await read('stale');
    expect(after.metadata.finalizers).toEqual([FINALIZER]);
    expect(after.metadata.labels).toEqual({ team: 'a' });
  });

  it('without a copy it reads first; a finalizer already there is not written again', async () => {
    await createSmc('plain');
    const { writer, calls } = countingWriter();
    expect(await writer.align(ns, 'plain')).toBe(true);
    expect(await writer.align(ns, 'plain')).toBe(false);
    expect(calls).toEqual([
      'getNamespacedCustomObject',
      'replaceNamespacedCustomObject',
      'getNamespacedCustomObject',
    ]);
  });

  it('a Retain SMC loses the finalizer it carries; one that is not there is not written', async () => {
    await createSmc('kept', 'Retain');
    const now = await read('kept');
    const withFinalizer = await replace('kept', {
      ...now,
      metadata: { ...now.metadata, finalizers: [FINALIZER, 'example.com/other'] },
    });
    const { writer, calls } = countingWriter();
    expect(await writer.align(ns, 'kept', withFinalizer)).toBe(true);
    expect((await read('kept')).metadata.finalizers).toEqual(['example.com/other']);
    expect(await writer.align(ns, 'kept')).toBe(false);
    expect(calls).toEqual(['replaceNamespacedCustomObject', 'getNamespacedCustomObject']);
  });

  it('after a 409 the decision is made again on what was read: a policy changed meanwhile wins', async () => {
    const seen = await createSmc('changed', 'Delete');
    const now = await read('changed');
    await replace('changed', {
      ...now,
      spec: { ...(now as { spec: object }).spec, deletionPolicy: 'Retain' },
    });
    const { writer, calls } = countingWriter();
    // The copy says Delete (add); the object read after the 409 says Retain: nothing is added.
    expect(await writer.align(ns, 'changed', seen)).toBe(false);
    expect(calls).toEqual(['replaceNamespacedCustomObject', 'getNamespacedCustomObject']);
    expect((await read('changed')).metadata.finalizers ?? []).toEqual([]);
  });
});
