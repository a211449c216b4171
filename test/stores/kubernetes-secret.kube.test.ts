/**
 * Kubernetes Secret store against the real kube-apiserver: one write per apply (counted by the
 * observer and, independently, by a watch on the Secret and its resourceVersion/managedFields),
 * least-privilege RBAC, unmanaged Secrets, optimistic concurrency, the 1 MiB limit and the
 * crash-safe order of the two Secrets.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, RbacAuthorizationV1Api, type V1Secret, Watch } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.js';
import { nameEntries } from '../../src/naming/name.js';
import type { ActionResult, DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import {
  KUBE_ANNOTATIONS,
  KUBE_LABELS,
  KubernetesSecretStore,
  type KubernetesSecretStoreOptions,
  ownerFromLabels,
} from '../../src/stores/kubernetes/index.js';
import type { Owner, ProviderCall } from '../../src/stores/store.js';
import { statusOf } from '../peers/kube/index.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
const CANARY = `kcnry${randomBytes(8).toString('hex')}z`;
const val = (tag: string) => `${tag}:${CANARY}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString());

function entries(values: Record<string, string>, disabled: string[] = []): Entry[] {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value,
    kind: 'secret',
    enabled: !disabled.includes(key),
    origin: 'svc/application.secrets.env',
  }));
}

function noCanary(label: string, x: unknown): void {
  const text = JSON.stringify(x, (k, v: unknown) =>
    k === 'value' ? undefined : v instanceof Error ? `${v.name}: ${v.message}` : v,
  );
  expect(text.includes(CANARY), `${label} carries a value`).toBe(false);
}

interface Harness {
  ns: string;
  store: KubernetesSecretStore;
  calls: ProviderCall[];
  core: CoreV1Api;
  owner: Owner;
  sync(values: Entry[], opts?: { deletionPolicy?: DeletionPolicy; adopt?: boolean }): Promise<ActionResult[]>;
  secret(name?: string): Promise<V1Secret | undefined>;
  writes(): number;
}

async function harness(opts: Partial<KubernetesSecretStoreOptions> & { ns?: string } = {}): Promise<Harness> {
  const ns = opts.ns ?? (await kube().createNamespace('k8s-store'));
  const calls: ProviderCall[] = [];
  const store = new KubernetesSecretStore({
    kubeConfig: kube().kubeConfig(),
    namespace: ns,
    secretName: 'payments',
    retryPolicy: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    ...opts,
    observer: { onCall: (c) => calls.push(c) },
  });
  const core = kube().client(CoreV1Api);
  const owner: Owner = { namespace: ns, name: 'payments' };
  const h: Harness = {
    ns,
    store,
    calls,
    core,
    owner,
    async sync(source, o = {}) {
      const named = nameEntries(source, { rule: store.naming });
      const actual = await store.read(
        owner,
        named.map((e) => e.storeName),
      );
      const actions = planActions({
        desired: named,
        actual,
        owner,
        deletionPolicy: o.deletionPolicy ?? 'Delete',
        triggerUpdate: true,
        adopt: o.adopt ?? false,
      });
      const results = await store.apply(owner, actions);
      noCanary('results', results);
      noCanary('observer calls', calls);
      return results;
    },
    async secret(name = store.secretName) {
      try {
        return await core.readNamespacedSecret({ namespace: ns, name });
      } catch (e) {
        if (statusOf(e) === 404) return undefined;
        throw e;
      }
    },
    writes: () => calls.filter((c) => c.write).length,
  };
  return h;
}

/** Counts ADDED/MODIFIED events of the store's two Secrets, as the API server reports them. */
async function watchSecrets(ns: string) {
  const events: { type: string; name: string; rv: string }[] = [];
  const w = new Watch(kube().kubeConfig());
  const ac = await w.watch(
    `/api/v1/namespaces/${ns}/secrets`,
    {},
    (type, obj: V1Secret) =>
      events.push({ type, name: obj.metadata!.name!, rv: obj.metadata!.resourceVersion! }),
    () => {},
  );
  /** Wait until the watch has delivered the object at `rv` (events are asynchronous). */
  const settle = async (rv: string | undefined) => {
    const deadline = Date.now() + 5_000;
    while (rv !== undefined && !events.some((e) => e.rv === rv) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { events, settle, stop: () => ac.abort() };
}

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function ok(results: ActionResult[]): void {
  expect(results.filter((r) => !r.ok).map((r) => `${r.action.storeName}: ${r.message}`)).toEqual([]);
}

describe('KubernetesSecretStore', () => {
  it('writes once per apply with changes and never for a no-op (observer, watch, resourceVersion, managedFields)', async () => {
    const h = await harness();
    const watch = await watchSecrets(h.ns);
    try {
      ok(await h.sync(entries({ DB_URL: val('a'), API_KEY: val('b'), TOKEN: val('c') })));
      expect(h.calls.filter((c) => c.write).map((c) => c.operation)).toEqual(['CreateSecret']);
      const s1 = (await h.secret())!;
      await watch.settle(s1.metadata!.resourceVersion);
      expect(watch.events.map((e) => [e.type, e.name])).toEqual([['ADDED', 'payments']]);
      expect(s1.type).toBe('Opaque');
      expect(Object.keys(s1.data ?? {}).sort()).toEqual(['API_KEY', 'DB_URL', 'TOKEN']);
      expect(unb64(s1.data?.DB_URL)).toBe(val('a'));
      expect(s1.metadata?.managedFields?.map((m) => [m.manager, m.operation])).toEqual([
        ['secret-manager-controller', 'Update'],
      ]);
      expect(ownerFromLabels(s1.metadata?.labels)).toEqual(h.owner);
      expect(JSON.parse(s1.metadata!.annotations![KUBE_ANNOTATIONS.owners]!)).toEqual({
        [`${h.ns}/payments`]: ['API_KEY', 'DB_URL', 'TOKEN'],
      });

      // No disabled entry: the Secret records that there is no disabled-values Secret.
      expect(s1.metadata?.annotations?.[KUBE_ANNOTATIONS.disabledValues]).toBe('none');

      // The same content again: one read (the record spares the disabled-values Secret's), no write.
      h.calls.length = 0;
      ok(await h.sync(entries({ DB_URL: val('a'), API_KEY: val('b'), TOKEN: val('c') })));
      expect(h.writes()).toBe(0);
      expect(h.calls.map((c) => c.operation)).toEqual(['ReadSecret']);
      expect((await h.secret())!.metadata!.resourceVersion).toBe(s1.metadata!.resourceVersion);

      // Two values change, one key is added, one removed: all in one replace.
      h.calls.length = 0;
      const results = await h.sync(entries({ DB_URL: val('a2'), API_KEY: val('b2'), NEW: val('d') }));
      ok(results);
      expect(results.map((r) => [r.action.storeName, r.action.type, r.wrote])).toEqual([
        ['API_KEY', 'update', true],
        ['DB_URL', 'update', true],
        ['NEW', 'create', true],
        ['TOKEN', 'prune', true],
      ]);
      expect(h.calls.filter((c) => c.write).map((c) => c.operation)).toEqual(['ReplaceSecret']);
      const s2 = (await h.secret())!;
      await watch.settle(s2.metadata!.resourceVersion);
      expect(watch.events.map((e) => [e.type, e.name])).toEqual([
        ['ADDED', 'payments'],
        ['MODIFIED', 'payments'],
      ]);
      expect(s2.metadata!.resourceVersion).not.toBe(s1.metadata!.resourceVersion);
      expect(Object.keys(s2.data ?? {}).sort()).toEqual(['API_KEY', 'DB_URL', 'NEW']);
      expect(s2.metadata?.managedFields?.map((m) => m.manager)).toEqual(['secret-manager-controller']);
    } finally {
      watch.stop();
    }
  });

  it('keeps disabled values out of the mounted Secret, in <name>-smc-disabled, and restores them on enable', async () => {
    const h = await harness();
    ok(await h.sync(entries({ A: val('a'), B: val('b') })));

    h.calls.length = 0;
    ok(await h.sync(entries({ A: val('a'), B: val('b') }, ['B'])));
    // The disabled-values Secret gains the value first, then the main Secret drops it.
    expect(h.calls.filter((c) => c.write).map((c) => c.operation)).toEqual(['CreateSecret', 'ReplaceSecret']);
    const main = (await h.secret())!;
    expect(Object.keys(main.data ?? {})).toEqual(['A']);
    const held = (await h.secret(h.store.disabledSecretName))!;
    expect(h.store.disabledSecretName).toBe('payments-smc-disabled');
    expect(unb64(held.data?.B)).toBe(val('b'));
    expect(held.metadata?.labels?.[KUBE_LABELS.role]).toBe('disabled-values');
    expect(held.metadata?.annotations?.[KUBE_ANNOTATIONS.disabledValuesOf]).toBe('payments');
    expect((await h.store.read(h.owner, [])).map((e) => [e.storeName, e.enabled])).toEqual([
      ['A', true],
      ['B', false],
    ]);

    // Disabled and unchanged: nothing written.
    h.calls.length = 0;
    ok(await h.sync(entries({ A: val('a'), B: val('b') }, ['B'])));
    expect(h.writes()).toBe(0);

    // Re-enabled: back in the main Secret (written first), then removed from the other.
    ok(await h.sync(entries({ A: val('a'), B: val('b') })));
    expect(h.calls.filter((c) => c.write).map((c) => c.operation)).toEqual([
      'ReplaceSecret',
      'ReplaceSecret',
    ]);
    expect(unb64((await h.secret())!.data?.B)).toBe(val('b'));
    expect((await h.secret(h.store.disabledSecretName))!.data ?? {}).toEqual({});
  });

  it('works as a ServiceAccount allowed only get/create/update/patch on secrets in its namespace', async () => {
    const ns = await kube().createNamespace('k8s-rbac');
    const rbac = kube().client(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'smc-secrets-writer' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update', 'patch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'controller-writes-secrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'smc-secrets-writer' },
        subjects: [{ kind: 'ServiceAccount', name: 'controller', namespace: ns }],
      },
    });
    const sa = await kube().serviceAccountKubeconfig(ns, 'controller');
    // `can-i --quiet` answers with its exit status only.
    const can = (verb: string) =>
      kube()
        .kubectl(['auth', 'can-i', '--quiet', verb, 'secrets', '-n', ns], {
          kubeconfigPath: sa.kubeconfigPath,
        })
        .then(
          () => 'yes',
          () => 'no',
        );
    await eventually(async () => expect(await can('update')).toBe('yes'));
    expect(await can('list')).toBe('no');
    expect(await can('delete')).toBe('no');
    expect(await can('watch')).toBe('no');

    const h = await harness({ ns, kubeConfig: sa.kubeConfig() });
    ok(await h.sync(entries({ ONE: val('1'), TWO: val('2'), THREE: val('3') })));
    ok(await h.sync(entries({ ONE: val('1b'), TWO: val('2'), THREE: val('3') }, ['TWO'])));
    ok(await h.sync(entries({ ONE: val('1b'), TWO: val('2') })));
    const main = (await h.secret())!;
    expect(Object.keys(main.data ?? {}).sort()).toEqual(['ONE', 'TWO']);
    expect(unb64(main.data?.ONE)).toBe(val('1b'));
    expect(main.metadata?.managedFields?.map((m) => m.manager)).toEqual(['secret-manager-controller']);
    // Another namespace stays out of reach.
    const other = await harness({ kubeConfig: sa.kubeConfig() });
    const denied = await other.store.read(other.owner, ['X']).catch((e: unknown) => e);
    expect(denied).toMatchObject({ name: 'ProviderError', reason: 'ProviderAuthFailed' });
    expect((denied as Error).message).toMatch(
      /HTTP 403 Forbidden; the identity needs get, create, update and delete on secrets/,
    );
  });

  it('fails fast with ProviderAuthFailed when the identity may only read', async () => {
    const ns = await kube().createNamespace('k8s-ro');
    const rbac = kube().client(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'read-secrets' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'ro' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-secrets' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    const sa = await kube().serviceAccountKubeconfig(ns, 'reader');
    const h = await harness({ ns, kubeConfig: sa.kubeConfig() });
    await eventually(async () => expect(await h.store.read(h.owner, [])).toEqual([]));
    h.calls.length = 0;
    const results = await h.sync(entries({ K: val('k') }));
    expect(results[0]).toMatchObject({ ok: false, wrote: false });
    expect(results[0]?.message).toContain('HTTP 403');
    // Not retried: one create attempt.
    expect(h.calls.filter((c) => c.write)).toEqual([
      expect.objectContaining({ operation: 'CreateSecret', result: 'error', reason: 'ProviderAuthFailed' }),
    ]);
  });

  it('leaves a Secret it did not create alone: conflicts, refused creates; adoption takes only the shared keys', async () => {
    const h = await harness();
    await h.core.createNamespacedSecret({
      namespace: h.ns,
      body: {
        metadata: { name: 'payments', labels: { team: 'x' } },
        data: { SHARED: b64(val('theirs')), THEIRS_ONLY: b64(val('keep')) },
      },
    });
    const rv = (await h.secret())!.metadata!.resourceVersion;
    h.calls.length = 0;
    const results = await h.sync(entries({ SHARED: val('ours'), MINE: val('new') }));
    expect(results.map((r) => [r.action.storeName, r.action.type, r.ok])).toEqual([
      ['MINE', 'create', false],
      ['SHARED', 'conflict', false],
    ]);
    expect(results[0]?.message).toContain('was not created by secret-manager-controller');
    expect(h.writes()).toBe(0);
    expect((await h.secret())!.metadata!.resourceVersion).toBe(rv);

    ok(await h.sync(entries({ SHARED: val('ours'), MINE: val('new') }), { adopt: true }));
    const s = (await h.secret())!;
    expect(unb64(s.data?.SHARED)).toBe(val('ours'));
    expect(unb64(s.data?.THEIRS_ONLY)).toBe(val('keep'));
    expect(s.metadata?.labels?.team).toBe('x');
    expect(ownerFromLabels(s.metadata?.labels)).toEqual(h.owner);
    expect((await h.store.read(h.owner, [])).map((e) => e.storeName)).toEqual(['MINE', 'SHARED']);
    // The key it never adopted is not ours: not pruned, even with Delete.
    ok(await h.sync(entries({}), { deletionPolicy: 'Delete' }));
    expect(Object.keys((await h.secret())!.data ?? {})).toEqual(['THEIRS_ONLY']);
  });

  it('deletes the Secrets it created once Delete prunes their last entry, and only those', async () => {
    const h = await harness();
    ok(await h.sync(entries({ A: val('a'), B: val('b') }, ['B'])));
    expect(await h.secret(h.store.disabledSecretName)).toBeDefined();
    // Disable keeps the entries (as disabled values): both Secrets stay.
    ok(await h.sync(entries({}), { deletionPolicy: 'Disable' }));
    expect(Object.keys((await h.secret())!.data ?? {})).toEqual([]);
    expect(Object.keys((await h.secret(h.store.disabledSecretName))!.data ?? {}).sort()).toEqual(['A', 'B']);
    // Delete removes the last entries: no empty Secret is left behind.
    const results = await h.sync(entries({}), { deletionPolicy: 'Delete' });
    ok(results);
    expect(results.map((r) => [r.action.storeName, r.action.type, r.wrote])).toEqual([
      ['A', 'prune', true],
      ['B', 'prune', true],
    ]);
    expect(await h.secret()).toBeUndefined();
    expect(await h.secret(h.store.disabledSecretName)).toBeUndefined();
    expect(h.calls.filter((c) => c.operation === 'DeleteSecret').map((c) => c.result)).toEqual(['ok', 'ok']);
    // A later sync creates it again.
    ok(await h.sync(entries({ A: val('a2') })));
    expect(unb64((await h.secret())!.data?.A)).toBe(val('a2'));

    // A Secret someone else created and we adopted keys of is emptied, never deleted.
    const adopted = await harness();
    await adopted.core.createNamespacedSecret({
      namespace: adopted.ns,
      body: { metadata: { name: 'payments' }, data: { SHARED: b64(val('theirs')) } },
    });
    ok(await adopted.sync(entries({ SHARED: val('ours') }), { adopt: true }));
    ok(await adopted.sync(entries({}), { deletionPolicy: 'Delete' }));
    expect((await adopted.secret())?.data ?? {}).toEqual({});
    // A key added by hand keeps the Secret.
    const shared = await harness();
    ok(await shared.sync(entries({ A: val('a') })));
    const s = (await shared.secret())!;
    s.data = { ...s.data, BY_HAND: b64('by-hand') };
    await shared.core.replaceNamespacedSecret({ namespace: shared.ns, name: 'payments', body: s });
    ok(await shared.sync(entries({}), { deletionPolicy: 'Delete' }));
    expect(Object.keys((await shared.secret())!.data ?? {})).toEqual(['BY_HAND']);
  });

  it('re-reads and re-decides when someone else wrote between read and apply (409)', async () => {
    const h = await harness();
    ok(await h.sync(entries({ A: val('a') })));
    const source = entries({ A: val('a2') });
    const named = nameEntries(source, { rule: h.store.naming });
    const actual = await h.store.read(h.owner, ['A']);
    const actions = planActions({
      desired: named,
      actual,
      owner: h.owner,
      deletionPolicy: 'Retain',
      triggerUpdate: true,
      adopt: false,
    });
    // A hand edit lands after the read.
    const s = (await h.secret())!;
    s.data = { ...s.data, HAND: b64('hand') };
    await h.core.replaceNamespacedSecret({ namespace: h.ns, name: 'payments', body: s });

    h.calls.length = 0;
    ok(await h.store.apply(h.owner, actions));
    expect(h.calls.map((c) => [c.operation, c.result, c.reason])).toEqual([
      ['ReplaceSecret', 'error', 'Conflict'],
      ['ReadSecret', 'ok', undefined],
      ['ReadSecret', 'ok', undefined],
      ['ReplaceSecret', 'ok', undefined],
    ]);
    const after = (await h.secret())!;
    expect(unb64(after.data?.A)).toBe(val('a2'));
    expect(unb64(after.data?.HAND)).toBe('hand');
  });

  it('refuses a write that would take the Secret over 1 MiB, without writing anything', async () => {
    const h = await harness();
    ok(await h.sync(entries({ SMALL: val('s') })));
    const rv = (await h.secret())!.metadata!.resourceVersion;
    const big = (tag: string) => val(tag).padEnd(400 * 1024, 'x');
    h.calls.length = 0;
    const results = await h.sync(entries({ SMALL: val('s'), B1: big('1'), B2: big('2'), B3: big('3') }));
    expect(results.filter((r) => r.action.type === 'create').every((r) => !r.ok && !r.wrote)).toBe(true);
    expect(results.find((r) => r.action.storeName === 'B1')?.message).toMatch(
      /would hold \d+ bytes of keys and values, over the Kubernetes limit of 1048576/,
    );
    expect(h.writes()).toBe(0);
    expect((await h.secret())!.metadata!.resourceVersion).toBe(rv);
    // Each value alone fits; the per-value limit leaves room for the longest key.
    expect(h.store.limits.maxValueBytes).toBe(1024 * 1024 - 253);
  });

  it('sets extra labels and annotations, and an ownerReference to the SMC when its uid is given', async () => {
    const ns = await kube().createNamespace('k8s-meta');
    const uid = '0b7a3f4e-1111-4222-8333-944455556666';
    const h = await harness({
      ns,
      labels: { 'app.kubernetes.io/part-of': 'payments' },
      annotations: { 'reloader.example/watch': 'true' },
      environment: 'prod',
      ownerReference: { name: 'payments', uid },
    });
    ok(await h.sync(entries({ A: val('a') }, [])));
    ok(await h.sync(entries({ A: val('a'), B: val('b') }, ['B'])));
    const s = (await h.secret())!;
    expect(s.metadata?.labels).toMatchObject({
      'app.kubernetes.io/part-of': 'payments',
      'app.kubernetes.io/managed-by': 'secret-manager-controller',
      [KUBE_LABELS.managedBy]: 'secret-manager-controller',
      [KUBE_LABELS.namespace]: ns,
      [KUBE_LABELS.name]: 'payments',
      [KUBE_LABELS.environment]: 'prod',
    });
    expect(s.metadata?.annotations?.['reloader.example/watch']).toBe('true');
    for (const obj of [s, (await h.secret(h.store.disabledSecretName))!]) {
      expect(obj.metadata?.ownerReferences).toEqual([
        expect.objectContaining({
          apiVersion: 'secret-management.octopilot.io/v1beta1',
          kind: 'SecretManagerConfig',
          name: 'payments',
          uid,
          controller: true,
        }),
      ]);
    }
  });

  it('reads the disabled-values Secret only where the Secret says one may exist; a wrong record costs a 409 and a re-read', async () => {
    const h = await harness();
    ok(await h.sync(entries({ A: val('a'), B: val('b') })));
    expect((await h.secret())!.metadata?.annotations?.[KUBE_ANNOTATIONS.disabledValues]).toBe('none');
    // A disabled-values Secret of ours appears behind the record's back (say a crash between the
    // two writes of an older version): the record is now wrong.
    await h.core.createNamespacedSecret({
      namespace: h.ns,
      body: {
        metadata: {
          name: h.store.disabledSecretName,
          labels: {
            [KUBE_LABELS.managedBy]: 'secret-manager-controller',
            [KUBE_LABELS.role]: 'disabled-values',
          },
        },
        data: { OLD: b64(val('old')) },
      },
    });
    h.calls.length = 0;
    ok(await h.sync(entries({ A: val('a'), B: val('b') }, ['B'])));
    expect(h.calls.map((c) => [c.operation, c.result])).toEqual([
      ['ReadSecret', 'ok'], // the Secret only: the record says there is no other
      ['CreateSecret', 'error'], // 409: it exists after all
      ['ReadSecret', 'ok'], // the retry reads both
      ['ReadSecret', 'ok'],
      ['ReplaceSecret', 'ok'], // the disabled-values Secret gains B
      ['ReplaceSecret', 'ok'], // the Secret drops it and records the disabled-values Secret
    ]);
    const main = (await h.secret())!;
    expect(Object.keys(main.data ?? {})).toEqual(['A']);
    expect(main.metadata?.annotations?.[KUBE_ANNOTATIONS.disabledValues]).toBe(h.store.disabledSecretName);
    expect(Object.keys((await h.secret(h.store.disabledSecretName))!.data ?? {})).toEqual(['B']);
    h.calls.length = 0;
    expect((await h.store.read(h.owner, ['A', 'B'])).map((e) => [e.storeName, e.enabled])).toEqual([
      ['A', true],
      ['B', false],
    ]);
    expect(h.calls.map((c) => c.operation)).toEqual(['ReadSecret', 'ReadSecret']);

    // A Secret written before the record existed (annotation removed by hand): both are read.
    const { [KUBE_ANNOTATIONS.disabledValues]: _dropped, ...rest } = main.metadata!.annotations!;
    await h.core.replaceNamespacedSecret({
      namespace: h.ns,
      name: h.store.secretName,
      body: { ...main, metadata: { ...main.metadata, annotations: rest } },
    });
    h.calls.length = 0;
    expect(await h.store.read(h.owner, ['A', 'B'])).toHaveLength(2);
    expect(h.calls.map((c) => c.operation)).toEqual(['ReadSecret', 'ReadSecret']);
  });

  it('never loses a disabled value when the second write fails: the value stays enabled until it succeeds', async () => {
    const ns = await kube().createNamespace('k8s-order');
    const admin = await harness({ ns });
    ok(await admin.sync(entries({ A: val('a'), B: val('b'), C: val('c') }, ['C'])));
    // An identity that may update the disabled-values Secret but not the main one.
    const rbac = kube().client(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'half' },
        rules: [
          { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
          {
            apiGroups: [''],
            resources: ['secrets'],
            verbs: ['update'],
            resourceNames: [admin.store.disabledSecretName],
          },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'half' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'half' },
        subjects: [{ kind: 'ServiceAccount', name: 'half', namespace: ns }],
      },
    });
    const sa = await kube().serviceAccountKubeconfig(ns, 'half');
    const h = await harness({ ns, kubeConfig: sa.kubeConfig() });
    await eventually(async () => expect((await h.store.read(h.owner, [])).length).toBe(3));

    const results = await h.sync(entries({ A: val('a'), B: val('b'), C: val('c') }, ['B', 'C']));
    expect(results.find((r) => r.action.storeName === 'B')).toMatchObject({ ok: false, wrote: false });
    expect(h.calls.filter((c) => c.write).map((c) => [c.operation, c.result])).toEqual([
      ['ReplaceSecret', 'ok'], // the disabled-values Secret gained B
      ['ReplaceSecret', 'error'], // the main Secret could not drop it
    ]);
    // B is in both Secrets: it reads as enabled (what pods still see), with its value.
    expect((await admin.store.read(admin.owner, ['B'])).find((e) => e.storeName === 'B')).toMatchObject({
      enabled: true,
      value: val('b'),
    });
    // The next apply with enough rights converges: B only in the disabled-values Secret.
    ok(await admin.sync(entries({ A: val('a'), B: val('b'), C: val('c') }, ['B', 'C'])));
    expect(Object.keys((await admin.secret())!.data ?? {})).toEqual(['A']);
    expect(Object.keys((await admin.secret(admin.store.disabledSecretName))!.data ?? {}).sort()).toEqual([
      'B',
      'C',
    ]);
  });
});
