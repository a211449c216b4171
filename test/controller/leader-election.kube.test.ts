/**
 * Leader election against the real kube-apiserver: one leader among candidates, hand-over on
 * release, stepping down when the Lease is stolen or cannot be renewed (partition), and the Lease
 * record itself (holder, transitions, MicroTime renewTime accepted by the apiserver).
 */
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LeaderElector,
  leaseClient,
  type LeaderElectionOptions,
  type LeaseClient,
} from '../../src/controller/runtime/leader-election.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

const FAST = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 200 };

interface Candidate {
  elector: LeaderElector;
  events: string[];
  /** Make every Lease call of this candidate fail (a network partition). */
  partition(on: boolean): void;
}

function candidate(
  ns: string,
  identity: string,
  log: string[],
  extra: Partial<LeaderElectionOptions> = {},
): Candidate {
  const real = leaseClient(kube().kubeConfig());
  let partitioned = false;
  const cut = () => Promise.reject(new Error('partitioned'));
  const client: LeaseClient = {
    read: (n, name) => (partitioned ? cut() : real.read(n, name)),
    create: (n, l) => (partitioned ? cut() : real.create(n, l)),
    replace: (n, name, l) => (partitioned ? cut() : real.replace(n, name, l)),
  };
  const events: string[] = [];
  const elector = new LeaderElector({
    client,
    namespace: ns,
    name: 'smc-leader',
    identity,
    ...FAST,
    onStartedLeading: () => {
      events.push('started');
      log.push(`${identity} started`);
    },
    onStoppedLeading: () => {
      events.push('stopped');
      log.push(`${identity} stopped`);
    },
    ...extra,
  });
  electors.push(elector);
  return { elector, events, partition: (on) => (partitioned = on) };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

async function readLease(ns: string): Promise<V1Lease> {
  return kube().client(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: 'smc-leader' });
}

describe('LeaderElector on a real Lease', () => {
  it('elects exactly one leader among three candidates and records it on the Lease', async () => {
    const ns = await kube().createNamespace('lease');
    const log: string[] = [];
    const cs = ['a', 'b', 'c'].map((id) => candidate(ns, id, log));
    for (const c of cs) c.elector.start();
    await until(() => cs.some((c) => c.elector.isLeader), 10_000, 'a leader');
    // Several renew periods later: still exactly one, nobody flapped.
    await new Promise((r) => setTimeout(r, 1_500));
    const leaders = cs.filter((c) => c.elector.isLeader);
    expect(leaders).toHaveLength(1);
    expect(cs.flatMap((c) => c.events)).toEqual(['started']);
    const lease = await readLease(ns);
    expect(lease.spec?.holderIdentity).toBe(leaders[0]!.elector.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(3);
    expect(lease.spec?.renewTime).toBeDefined();
    for (const c of cs) expect(c.elector.leader).toBe(leaders[0]!.elector.identity);
    expect(cs.filter((c) => c.elector.state === 'standby')).toHaveLength(2);
  });

  it('a leader that stops releases the Lease; a standby takes over the released Lease', async () => {
    const ns = await kube().createNamespace('lease');
    const log: string[] = [];
    const a = candidate(ns, 'a', log);
    a.elector.start();
    await until(() => a.elector.isLeader, 10_000, 'a to lead');
    /** The holders b saw on the Lease, in order (undefined: released, nobody holds it). */
    const seen: (string | undefined)[] = [];
    const b = candidate(ns, 'b', log, { onNewLeader: (holder) => seen.push(holder) });
    b.elector.start();
    await until(() => seen.length > 0, 10_000, 'b to see the holder');
    expect(b.elector.isLeader).toBe(false);
    await a.elector.stop();
    expect(a.events).toEqual(['started', 'stopped']);
    expect(a.elector.state).toBe('stopped');
    const took = await until(() => b.elector.isLeader, 20_000, 'b to take over');
    console.log(`leader election: b took over ${took} ms after a released the Lease`);
    // b took the Lease a released (empty holder), not one it waited out: on expiry it would have
    // gone from holder a straight to itself.
    expect(seen).toEqual(['a', undefined, 'b']);
    expect(log).toEqual(['a started', 'a stopped', 'b started']);
    const lease = await readLease(ns);
    expect(lease.spec?.holderIdentity).toBe('b');
    expect(lease.spec?.leaseTransitions).toBe(1); // a (created, 0) → b
  });

  it('steps down at once when another holder takes the Lease', async () => {
    const ns = await kube().createNamespace('lease');
    const log: string[] = [];
    const a = candidate(ns, 'a', log);
    a.elector.start();
    await until(() => a.elector.isLeader, 10_000, 'a to lead');
    const api = kube().client(CoordinationV1Api);
    const lease = await readLease(ns);
    await api.replaceNamespacedLease({
      namespace: ns,
      name: 'smc-leader',
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 30 } },
    });
    // Seeing the intruder is the only way down here: a can renew (no partition) and the intruder's
    // 30 s claim has not expired.
    await until(() => !a.elector.isLeader, 20_000, 'a to step down');
    expect(a.events).toEqual(['started', 'stopped']);
    expect(a.elector.leader).toBe('intruder');
    // The intruder's claim has not expired: a stays standby and does not overwrite it.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.elector.isLeader).toBe(false);
    expect((await readLease(ns)).spec?.holderIdentity).toBe('intruder');
  });

  it('a partitioned leader steps down before its Lease expires; the standby takes the expired Lease', async () => {
    const ns = await kube().createNamespace('lease');
    const log: string[] = [];
    const a = candidate(ns, 'a', log);
    a.elector.start();
    await until(() => a.elector.isLeader, 10_000, 'a to lead');
    const b = candidate(ns, 'b', log);
    b.elector.start();
    await new Promise((r) => setTimeout(r, 500));
    a.partition(true);
    await until(() => b.elector.isLeader, 10_000, 'b to take the expired lease');
    expect(a.elector.isLeader).toBe(false);
    // Never two leaders: a stopped (renew deadline 2 s) before b started (lease duration 3 s).
    expect(log).toEqual(['a started', 'a stopped', 'b started']);
    a.partition(false);
    await new Promise((r) => setTimeout(r, 800));
    expect(a.elector.isLeader).toBe(false);
    expect(b.elector.isLeader).toBe(true);
    expect((await readLease(ns)).spec?.holderIdentity).toBe('b');
  });

  it('an expired Lease left by a dead holder is taken over', async () => {
    const ns = await kube().createNamespace('lease');
    await kube()
      .client(CoordinationV1Api)
      .createNamespacedLease({
        namespace: ns,
        body: {
          metadata: { name: 'smc-leader', namespace: ns },
          spec: { holderIdentity: 'dead-replica', leaseDurationSeconds: 1, leaseTransitions: 4 },
        },
      });
    const log: string[] = [];
    const a = candidate(ns, 'a', log);
    a.elector.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(a.elector.isLeader).toBe(false);
    expect(a.elector.leader).toBe('dead-replica');
    await until(() => a.elector.isLeader, 5_000, 'a to take the expired lease');
    const lease = await readLease(ns);
    expect(lease.spec?.holderIdentity).toBe('a');
    expect(lease.spec?.leaseTransitions).toBe(5);
  });

  it('refuses timing options that would allow two leaders', () => {
    const client = leaseClient(kube().kubeConfig());
    expect(
      () =>
        new LeaderElector({
          client,
          namespace: 'x',
          name: 'y',
          leaseDurationMs: 2_000,
          renewDeadlineMs: 2_000,
        }),
    ).toThrow(/renewDeadlineMs/);
  });
});
