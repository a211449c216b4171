/**
 * SOPS key Secrets read through a short-lived cache (src/controller/keys.ts, docs/security.md "SOPS
 * key Secrets read through a cache"), against the real kube-apiserver: a fleet sharing one key
 * Secret reads it once per `keySecretCacheMs`, reads in flight are shared, a noticed change
 * (`forget`) or an expired copy is read again, and a file no cached key opens is retried once with
 * the Secret read again — so a key added to the Secret is used at once, and a deleted Secret stops
 * being used as soon as its copy is dropped. Reads are counted by the loader's own read callback
 * (called for every request that reached the API server).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretManagerConfigSpec } from '../../src/api/index.js';
import { parseSpec } from '../../src/api/index.js';
import { SopsKeyLoader, servedFromCache } from '../../src/controller/keys.js';
import { type ReconcileWorld, reconcile } from '../../src/controller/reconcile.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { SecretStore } from '../../src/stores/store.js';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { newAgeKey } from '../render/sops-fixtures.js';

const kube = useKube();
let ns: string;
let core: CoreV1Api;
let demoKey: string;
let scratch: string;

const rawSpec = {
  sourceRef: { kind: 'GitRepository', name: 'config' },
  provider: { kubernetes: {} },
  secrets: { environment: 'dev', sops: { ageSecretRef: { name: 'team-key' } } },
};

async function putKey(name: string, agekey: string): Promise<void> {
  const body = { metadata: { name }, stringData: { 'age.agekey': agekey } };
  try {
    await core.replaceNamespacedSecret({ namespace: ns, name, body });
  } catch {
    await core.createNamespacedSecret({ namespace: ns, body });
  }
}

function loader(ttl: { ms: number }) {
  const reads: string[] = [];
  const keys = new SopsKeyLoader(
    core,
    {
      controllerNamespace: 'smc-system',
      noCrossNamespaceRefs: true,
      controllerKeyNamespaces: [],
      keySecretCacheMs: () => ttl.ms,
    },
    (namespace, name) => reads.push(`${namespace}/${name}`),
  );
  return { keys, reads };
}

beforeAll(async () => {
  ns = await kube().createNamespace('key-cache');
  core = kube().client(CoreV1Api);
  demoKey = await readFile(path.join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
  scratch = await mkdtemp(path.join(tmpdir(), 'smc-key-cache-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('SOPS key Secrets through the cache', () => {
  let spec: SecretManagerConfigSpec;
  beforeAll(async () => {
    spec = parseSpec(rawSpec, `${ns}/payments`);
    await putKey('team-key', demoKey);
  });

  it('a fleet reads a shared key Secret once: concurrent reconciles share the read, later ones use the copy', async () => {
    const { keys, reads } = loader({ ms: 3_600_000 });
    const rings = await Promise.all(Array.from({ length: 50 }, () => keys.keyringFor(ns, spec)));
    expect(reads).toEqual([`${ns}/team-key`]);
    expect(rings.every((r) => r.age.length === 1)).toBe(true);
    const later = await keys.keyringFor(ns, spec);
    expect(reads).toHaveLength(1);
    expect(servedFromCache(later)).toBe(true);
    // `fresh` reads it again (and is not "from the cache").
    const fresh = await keys.keyringFor(ns, spec, true);
    expect(reads).toHaveLength(2);
    expect(servedFromCache(fresh)).toBe(false);
  });

  it('keyring identity (what a shared render is keyed on): one per namespace and key material', async () => {
    const { keys } = loader({ ms: 3_600_000 });
    const a = await keys.keyringFor(ns, spec);
    expect((await keys.keyringFor(ns, spec)).identity).toBe(a.identity);
    // Another namespace holding the very same key never gets the same identity.
    const other = await kube().createNamespace('key-cache-b');
    await core.createNamespacedSecret({
      namespace: other,
      body: { metadata: { name: 'team-key' }, stringData: { 'age.agekey': demoKey } },
    });
    const b = await keys.keyringFor(other, parseSpec(rawSpec, `${other}/payments`));
    expect(b.age.map((x) => x.recipient)).toEqual(a.age.map((x) => x.recipient));
    expect(b.identity).not.toBe(a.identity);
    // A key Secret read again with other material is a new identity.
    await putKey('team-key', `${demoKey}\n${newAgeKey().identity}\n`);
    keys.forget(ns, 'team-key');
    const changed = await keys.keyringFor(ns, spec);
    expect(changed.age).toHaveLength(2);
    expect(changed.identity).not.toBe(a.identity);
    await putKey('team-key', demoKey);
  });

  it('a noticed change (forget) or an expired copy is read again; a deleted Secret then stops being used', async () => {
    const ttl = { ms: 3_600_000 };
    const { keys, reads } = loader(ttl);
    await keys.keyringFor(ns, spec);
    await putKey('other-key', demoKey);
    const otherSpec = parseSpec(
      { ...rawSpec, secrets: { ...rawSpec.secrets, sops: { ageSecretRef: { name: 'other-key' } } } },
      `${ns}/other`,
    );
    await keys.keyringFor(ns, otherSpec);
    expect(reads).toEqual([`${ns}/team-key`, `${ns}/other-key`]);
    await core.deleteNamespacedSecret({ namespace: ns, name: 'other-key' });
    // Until the change is noticed the copy serves (bounded by keySecretCacheMs)…
    expect((await keys.keyringFor(ns, otherSpec)).age).toHaveLength(1);
    // …then it is dropped: the next reconcile reads it, and the Secret is gone.
    keys.forget(ns, 'other-key');
    await expect(keys.keyringFor(ns, otherSpec)).rejects.toMatchObject({
      code: 'KeySecretNotFound',
      message: `spec.secrets.sops.ageSecretRef: Secret ${ns}/other-key not found`,
    });
    expect(reads).toEqual([`${ns}/team-key`, `${ns}/other-key`, `${ns}/other-key`]);
    // An expired copy is read again too.
    ttl.ms = 0;
    await keys.keyringFor(ns, spec);
    expect(reads.filter((r) => r === `${ns}/team-key`)).toHaveLength(2);
  });

  it('a file no cached key opens is retried once with the Secret read again: a key added since is used at once', async () => {
    const wrong = newAgeKey();
    await putKey('team-key', `${wrong.identity}\n`);
    const { keys, reads } = loader({ ms: 3_600_000 });
    const artifact = {
      url: 'http://x/a.tar.gz',
      digest: `sha256:${'0'.repeat(64)}`,
      revision: 'main@sha1:1',
    };
    const dir = await mkdtemp(path.join(scratch, 'store-'));
    const world: ReconcileWorld = {
      now: () => new Date(),
      source: { status: { artifact, conditions: [{ type: 'Ready', status: 'True' }] } },
      fetchArtifact: async () => ({ root: path.join(repoRoot, 'examples/gitops'), description: 'example' }),
      sopsKeyring: (sp, fresh) => keys.keyringFor(ns, sp, fresh),
      openStores: () => ({ secretStore: new LocalDirStore(dir) as SecretStore }),
      driftCheckIntervalMs: 600_000,
      minReconcileIntervalMs: 30_000,
    };
    const smc = { metadata: { name: 'payments', namespace: ns, generation: 1 }, spec: rawSpec };
    // Read for this reconcile and still wrong: no retry, the failure names the source tried.
    const failed = await reconcile(smc, world);
    expect(failed.error?.reason).toBe('SopsNoMatchingKey');
    expect(failed.error?.message).toContain(
      `key sources tried: spec.secrets.sops.ageSecretRef: Secret ${ns}/team-key key age.agekey`,
    );
    expect(reads).toHaveLength(1);
    // The right key is added to the Secret; the change is not noticed yet (the copy is current).
    await putKey('team-key', `${wrong.identity}\n${demoKey}`);
    const synced = await reconcile({ ...smc, status: failed.status }, world);
    expect(synced.error).toBeUndefined();
    expect(synced.result).toBe('success');
    expect(reads).toHaveLength(2); // the cached copy failed, the fresh read opened every file
  });
});
