/**
 * LeaderElector logic with an in-memory Lease store (resourceVersion checked like the apiserver):
 * create races, hanging requests, and release. The real-apiserver behaviour is in
 * leader-election.kube.test.ts.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LeaderElector,
  type LeaseClient,
  leaseNameFor,
} from '../../src/controller/runtime/leader-election.js';

class MemoryLeases {
  lease: V1Lease | undefined;
  rv = 0;
  hang = false;
  calls = 0;
  /** `hangs`: when this client's requests hang (default: `this.hang`, every client's). */
  client(hangs: () => boolean = () => this.hang): LeaseClient {
    const gate = <T>(fn: () => T): Promise<T> => {
      this.calls++;
      return hangs() ? new Promise<T>(() => {}) : Promise.resolve().then(fn);
    };
    const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
    return {
      read: () => gate(() => (this.lease ? structuredClone(this.lease) : undefined)),
      create: (_ns, l) =>
        gate(() => {
          if (this.lease) throw conflict();
          this.lease = {
            ...structuredClone(l),
            metadata: { ...l.metadata, resourceVersion: String(++this.rv) },
          };
          return structuredClone(this.lease);
        }),
      replace: (_ns, _name, l) =>
        gate(() => {
          if (l.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw conflict();
          this.lease = {
            ...structuredClone(l),
            metadata: { ...l.metadata, resourceVersion: String(++this.rv) },
          };
          return structuredClone(this.lease);
        }),
    };
  }
}

const FAST = { leaseDurationMs: 1_000, renewDeadlineMs: 300, retryPeriodMs: 50 };
const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

function elector(
  store: MemoryLeases,
  identity: string,
  events: string[],
  client: LeaseClient = store.client(),
): LeaderElector {
  const e = new LeaderElector({
    client,
    namespace: 'ns',
    name: 'lease',
    identity,
    ...FAST,
    onStartedLeading: () => events.push(`${identity} started`),
    onStoppedLeading: () => events.push(`${identity} stopped`),
  });
  electors.push(e);
  return e;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await wait(5);
  }
}

describe('LeaderElector (in-memory Lease)', () => {
  it('two candidates racing to create the Lease: one wins, the other stands by', async () => {
    const store = new MemoryLeases();
    const events: string[] = [];
    const a = elector(store, 'a', events);
    const b = elector(store, 'b', events);
    a.start();
    b.start();
    await until(() => a.isLeader || b.isLeader, 1_000);
    await wait(200);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(store.lease?.spec?.holderIdentity).toBe(a.isLeader ? 'a' : 'b');
  });

  it('steps down when a renew request hangs past the renew deadline, before a standby takes the Lease', async () => {
    const store = new MemoryLeases();
    const events: string[] = [];
    let aHangs = false;
    const a = elector(
      store,
      'a',
      events,
      store.client(() => aHangs),
    );
    a.start();
    await until(() => a.isLeader, 10_000);
    const b = elector(store, 'b', events);
    b.start();
    aHangs = true; // a's renewals hang; b still reaches the Lease and waits for it to expire
    await until(() => b.isLeader, 10_000);
    // a stopped on its renew deadline, while its request still hung, before b's lease expiry let
    // b start: never two leaders.
    expect(a.isLeader).toBe(false);
    expect(events).toEqual(['a started', 'a stopped', 'b started']);
    await b.stop();
    aHangs = false;
    await until(() => a.isLeader, 10_000);
    expect(events).toEqual(['a started', 'a stopped', 'b started', 'b stopped', 'a started']);
  });

  it('renews while leading and releases on stop; the leading signal aborts', async () => {
    const store = new MemoryLeases();
    let signal: AbortSignal | undefined;
    const a = new LeaderElector({
      client: store.client(),
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      ...FAST,
      onStartedLeading: (s) => (signal = s),
    });
    a.start();
    await until(() => a.isLeader, 1_000);
    const rv = store.rv;
    await wait(200);
    expect(store.rv).toBeGreaterThan(rv); // renewed
    expect(store.lease?.spec?.acquireTime).toBeDefined();
    await a.stop();
    expect(signal?.aborted).toBe(true);
    expect(a.state).toBe('stopped');
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    const calls = store.calls;
    await wait(150);
    expect(store.calls).toBe(calls); // the loop is over
    a.start(); // a stopped elector does not restart
    await wait(100);
    expect(store.calls).toBe(calls);
  });

  it('a callback that throws does not break the election loop', async () => {
    const store = new MemoryLeases();
    const a = new LeaderElector({
      client: store.client(),
      namespace: 'ns',
      name: 'lease',
      ...FAST,
      onStartedLeading: () => {
        throw new Error('callback failed');
      },
    });
    electors.push(a);
    a.start();
    await until(() => a.isLeader, 1_000);
    expect(a.identity).toMatch(/_[0-9a-f-]{36}$/);
    const rv = store.rv;
    await wait(200);
    expect(store.rv).toBeGreaterThan(rv);
  });
});

describe('leaseNameFor: one Lease per shard', () => {
  it('keeps the default Lease for the default shard and suffixes the others', () => {
    expect(leaseNameFor('')).toBe('secret-manager-controller-leader');
    expect(leaseNameFor('a')).toBe('secret-manager-controller-leader-a');
    expect(leaseNameFor('team-1')).toBe('secret-manager-controller-leader-team-1');
  });

  it('refuses a shard key that cannot be part of a Lease name (no mangling into a shared Lease)', () => {
    for (const bad of ['A', 'team_a', 'team.a', '-a', 'a-']) {
      expect(() => leaseNameFor(bad)).toThrow(`shard_key "${bad}" cannot name the leader-election Lease`);
    }
  });
});
