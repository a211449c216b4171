/**
 * What the controller keeps of an SMC outside a reconcile: the view read once from its spec
 * (src/controller/smc-view.ts) and the per-SMC memory with its one `forget`
 * (src/controller/smc-memory.ts).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LABELS } from '../../src/api/index.js';
import { DEFAULT_SOPS_SECRET } from '../../src/controller/keys.js';
import { createLogger } from '../../src/observability/logger.js';
import { SmcMemory } from '../../src/controller/smc-memory.js';
import { type SmcResource, SmcViews, readSmcView } from '../../src/controller/smc-view.js';

function smc(spec: unknown, labels?: Record<string, string>): SmcResource {
  return {
    metadata: { namespace: 'team-a', name: 'payments', uid: 'u1', ...(labels ? { labels } : {}) },
    spec: spec as SmcResource['spec'],
  };
}

describe('readSmcView', () => {
  it('fills the defaults: a GitRepository in the SMC namespace, the controller-wide SOPS key', () => {
    const view = readSmcView(smc({ sourceRef: { name: 'config' } }), 'sops-keys');
    expect(view.key).toBe('team-a/payments');
    expect(view.source).toEqual({ kind: 'GitRepository', namespace: 'team-a', name: 'config' });
    expect(view.sourceKey).toBe('GitRepository/team-a/config');
    expect(view.secrets).toEqual({ sops: [`sops-keys/${DEFAULT_SOPS_SECRET}`], git: [], provider: [] });
    expect(view.gitCredentials).toBeUndefined();
    expect(view.shard).toBeUndefined();
  });

  it('names every Secret the SMC reads, by area, and its shard label', () => {
    const view = readSmcView(
      smc(
        {
          sourceRef: {
            kind: 'Application',
            name: 'app',
            namespace: 'argocd',
            gitCredentials: { name: 'git' },
          },
          secrets: {
            sops: { ageSecretRef: { name: 'age' }, gpgSecretRef: { name: 'gpg', namespace: 'keys' } },
          },
          provider: { gcp: { projectId: 'p', auth: { secretRef: { name: 'gcp-sa' } } } },
          logging: { sops: 'DEBUG' },
        },
        { [LABELS.shardKey]: 'b' },
      ),
      'sops-keys',
    );
    expect(view.sourceKey).toBe('Application/argocd/app');
    expect(view.gitCredentials).toEqual({ name: 'git' });
    expect(view.secrets).toEqual({
      sops: ['team-a/age', 'keys/gpg'],
      git: ['team-a/git'],
      provider: ['team-a/gcp-sa'],
    });
    expect(view.logging).toEqual({ sops: 'DEBUG' });
    expect(view.shard).toBe('b');
  });

  it('a spec the reconcile will refuse still has a view (no sourceRef, fields of the wrong type)', () => {
    const view = readSmcView(smc({ sourceRef: { name: 7 }, secrets: { sops: { ageSecretRef: {} } } }), 'ns');
    expect(view.source).toEqual({ kind: 'GitRepository', namespace: 'team-a', name: '' });
    expect(view.secrets.sops).toEqual([`ns/${DEFAULT_SOPS_SECRET}`]);
    expect(readSmcView(smc(undefined), 'ns').source.name).toBe('');
  });

  it('SmcViews reads each object once', () => {
    const views = new SmcViews('sops-keys');
    const a = smc({ sourceRef: { name: 'config' } });
    expect(views.of(a)).toBe(views.of(a));
    expect(views.of({ ...a })).not.toBe(views.of(a));
  });
});

describe('SmcMemory', () => {
  it('a forced reconcile is answered once', () => {
    const memory = new SmcMemory();
    expect(memory.takeForced('team-a/payments')).toBe(false);
    memory.of('team-a/payments').forced = true;
    expect(memory.takeForced('team-a/payments')).toBe(true);
    expect(memory.takeForced('team-a/payments')).toBe(false);
  });

  it('the latency clock starts at the first sighting of a revision, and again for a new one', () => {
    const memory = new SmcMemory();
    memory.sawRevision('k/a', 'r1', 10);
    memory.sawRevision('k/a', 'r1', 20);
    expect(memory.peek('k/a')?.revisionSeen).toEqual({ revision: 'r1', at: 10 });
    memory.recordPull('k/a', { sourceKey: 's', revision: 'r1', at: 30 });
    expect(memory.peek('k/a')?.revisionSeen).toEqual({ revision: 'r1', at: 10 });
    memory.recordPull('k/a', { sourceKey: 's', revision: 'r2', at: 40 });
    expect(memory.peek('k/a')?.revisionSeen).toEqual({ revision: 'r2', at: 40 });
    expect(memory.peek('k/a')?.lastPull?.revision).toBe('r2');
    memory.forgetPull('k/a');
    expect(memory.peek('k/a')?.lastPull).toBeUndefined();
  });

  it('forget drops the record and the loggers', () => {
    const memory = new SmcMemory();
    const root = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const smcRef = { namespace: 'team-a', name: 'payments', uid: 'u1' };
    const log = memory.log(root, smcRef, undefined);
    expect(memory.log(root, smcRef, undefined)).toBe(log);
    memory.of('team-a/payments').pullsSuspended = true;
    memory.forget('team-a/payments');
    expect(memory.peek('team-a/payments')).toBeUndefined();
    expect(memory.log(root, smcRef, undefined)).not.toBe(log);
  });
});
