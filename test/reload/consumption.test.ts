/**
 * Consumption analysis (docs/hot-reload.md, "Automatic workload reload"): each way a pod template
 * can read a Secret, classified as needing a restart or updating live, and which changed keys
 * reach it.
 */
import { describe, expect, it } from 'vitest';
import {
  type PodSpecLike,
  affectedBy,
  changedSecretKeys,
  classifyConsumption,
} from '../../src/reload/workloads/index.js';

const APP = new Set(['app']);
const changed = (...keys: string[]) => new Map([['app', new Set(keys)]]);

describe('classifyConsumption', () => {
  it('env valueFrom.secretKeyRef: restart, for that key only', () => {
    const spec: PodSpecLike = {
      containers: [
        {
          env: [
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'app', key: 'db-password' } } },
            { name: 'OTHER', valueFrom: { secretKeyRef: { name: 'unrelated', key: 'x' } } },
          ],
        },
      ],
    };
    expect(classifyConsumption(spec, APP)).toEqual([
      { secret: 'app', keys: ['db-password'], action: 'restart', reason: 'env var DB_PASSWORD' },
    ]);
    expect(affectedBy(classifyConsumption(spec, APP), changed('db-password'))).toEqual({
      restart: ['env var DB_PASSWORD'],
      live: [],
    });
    // A value change in a key it does not read restarts nothing.
    expect(affectedBy(classifyConsumption(spec, APP), changed('api-key'))).toEqual({ restart: [], live: [] });
  });

  it('envFrom secretRef: restart for any key, naming the keys that changed', () => {
    const spec: PodSpecLike = { initContainers: [{ envFrom: [{ secretRef: { name: 'app' } }] }] };
    const uses = classifyConsumption(spec, APP);
    expect(uses).toEqual([
      { secret: 'app', keys: undefined, action: 'restart', reason: 'envFrom Secret app' },
    ]);
    expect(affectedBy(uses, changed('b', 'a')).restart).toEqual(['envFrom Secret app (a, b)']);
  });

  it('a Secret volume without subPath updates live; with subPath it needs a restart', () => {
    const spec: PodSpecLike = {
      volumes: [
        { name: 'whole', secret: { secretName: 'app' } },
        { name: 'some', secret: { secretName: 'app', items: [{ key: 'tls.key', path: 'key/tls.key' }] } },
        { name: 'unmounted', secret: { secretName: 'app' } },
      ],
      containers: [
        {
          volumeMounts: [
            { name: 'whole', mountPath: '/etc/app' },
            { name: 'whole', mountPath: '/etc/app/key', subPath: 'api-key' },
            { name: 'some', mountPath: '/etc/tls/tls.key', subPath: 'key/tls.key' },
          ],
        },
      ],
    };
    expect(classifyConsumption(spec, APP)).toEqual([
      { secret: 'app', keys: undefined, action: 'live', reason: 'volume mount /etc/app' },
      { secret: 'app', keys: ['api-key'], action: 'restart', reason: 'subPath mount /etc/app/key' },
      { secret: 'app', keys: ['tls.key'], action: 'restart', reason: 'subPath mount /etc/tls/tls.key' },
    ]);
    const uses = classifyConsumption(spec, APP);
    expect(affectedBy(uses, changed('api-key'))).toEqual({
      restart: ['subPath mount /etc/app/key'],
      live: ['volume mount /etc/app (api-key)'],
    });
    expect(affectedBy(uses, changed('db-password'))).toEqual({
      restart: [],
      live: ['volume mount /etc/app (db-password)'],
    });
  });

  it('a projected volume: live for the keys its items select; subPathExpr: restart for every key', () => {
    const spec: PodSpecLike = {
      volumes: [
        {
          name: 'proj',
          projected: {
            sources: [
              { secret: { name: 'app', items: [{ key: 'db-password', path: 'db' }] } },
              { secret: { name: 'elsewhere' } },
            ],
          },
        },
      ],
      containers: [
        {
          volumeMounts: [
            { name: 'proj', mountPath: '/etc/proj' },
            { name: 'proj', mountPath: '/etc/x', subPathExpr: '$(POD_NAME)' },
          ],
        },
      ],
    };
    const uses = classifyConsumption(spec, APP);
    expect(uses).toEqual([
      { secret: 'app', keys: ['db-password'], action: 'live', reason: 'volume mount /etc/proj' },
      { secret: 'app', keys: undefined, action: 'restart', reason: 'subPathExpr mount /etc/x' },
    ]);
    expect(affectedBy(uses, changed('api-key'))).toEqual({
      restart: ['subPathExpr mount /etc/x (api-key)'],
      live: [],
    });
  });

  it('a pod spec that reads none of the Secrets, or none at all, has no use', () => {
    expect(classifyConsumption(undefined, APP)).toEqual([]);
    expect(
      classifyConsumption(
        {
          volumes: [{ name: 'v', secret: { secretName: 'other' } }],
          containers: [
            { volumeMounts: [{ name: 'v', mountPath: '/x' }], envFrom: [{ secretRef: { name: 'o' } }] },
          ],
        },
        APP,
      ),
    ).toEqual([]);
  });
});

describe('changedSecretKeys', () => {
  it('lists the k8s store keys created, updated, enabled, disabled or pruned with success', () => {
    expect(
      changedSecretKeys([
        { store: 'k8s', storeName: 'b', action: 'update', result: 'ok' },
        { store: 'k8s', storeName: 'a', action: 'create', result: 'ok' },
        { store: 'k8s', storeName: 'c', action: 'noop', result: 'ok' },
        { store: 'k8s', storeName: 'd', action: 'update', result: 'failed' },
        { store: 'k8s', storeName: 'e', action: 'prune', result: 'ok' },
        { store: 'gcp', storeName: 'f', action: 'update', result: 'ok' },
        { store: 'k8s', storeName: 'g', action: 'conflict', result: 'ok' },
      ]),
    ).toEqual(['a', 'b', 'e']);
  });
});
