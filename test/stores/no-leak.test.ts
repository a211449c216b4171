import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, NamedEntry } from '../../src/entry.js';
import { checkLimits, rejectionResult } from '../../src/naming/limits.js';
import { nameEntries } from '../../src/naming/name.js';
import { azureKeyVaultNaming } from '../../src/stores/azure/naming.js';
import { gcpNaming } from '../../src/stores/gcp/naming.js';
import type { Action, ActionResult } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { Owner, StoredEntry } from '../../src/stores/store.js';
import { syncTo, tempDir } from './local-helpers.js';

/**
 * Canary: secret values go through naming errors, limit rejections, plan reasons and local-store
 * results (success and every failure path); no message may carry the value, a piece of it, or a hash.
 */
const CANARY = `canary-${randomBytes(12).toString('hex')}-value`;
const CANARY2 = `other-${randomBytes(12).toString('hex')}-value`;

function fingerprints(v: string): string[] {
  const hashes = ['sha256', 'sha1', 'md5'].flatMap((alg) => {
    const h = createHash(alg).update(v);
    const d = h.digest();
    return [d.toString('hex'), d.toString('base64'), d.toString('base64url')];
  });
  // Every 10-character window, so any piece of the value (start, middle or end) is caught.
  const pieces = Array.from({ length: v.length - 9 }, (_, i) => v.slice(i, i + 10));
  return [...pieces, Buffer.from(v).toString('base64').slice(0, 16), ...hashes];
}
const FORBIDDEN = [...fingerprints(CANARY), ...fingerprints(CANARY2)];

/** Everything user-visible in a value: actions lose their (legitimate) `value` field first. */
function visible(x: unknown): string {
  return JSON.stringify(x, (k, v: unknown) =>
    k === 'value' ? undefined : v instanceof Error ? `${v.name}: ${v.message}` : v,
  );
}
function expectNoLeak(label: string, x: unknown): void {
  const text = visible(x);
  for (const f of FORBIDDEN)
    expect(text.includes(f), `${label} leaks a fragment of the value: ${text.slice(0, 300)}`).toBe(false);
}
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

const me: Owner = { namespace: 'ns', name: 'smc' };
const other: Owner = { namespace: 'ns2', name: 'smc2' };
const src = (key: string, value = CANARY, enabled = true): Entry => ({
  key,
  value,
  kind: 'secret',
  enabled,
  origin: 'a/secrets.env',
});
const named = (key: string, value = CANARY, enabled = true): NamedEntry => ({
  ...src(key, value, enabled),
  storeName: key,
});

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('smc-leak-'));
});
afterEach(async () => {
  await cleanup();
});

describe('no secret value in any message', () => {
  it('naming errors', () => {
    expectNoLeak(
      'collision',
      caught(() => nameEntries([src('a.b'), src('a_b', CANARY2)], { rule: gcpNaming })),
    );
    expectNoLeak(
      'case collision',
      caught(() => nameEntries([src('A'), src('a')], { rule: azureKeyVaultNaming })),
    );
    expectNoLeak(
      'invalid',
      caught(() => nameEntries([src('x'.repeat(300))], { rule: gcpNaming })),
    );
  });

  it('limit rejections and TooMany', () => {
    const big = named('BIG', CANARY.repeat(100));
    const { rejected } = checkLimits([big, named('ok')], { maxValueBytes: 100 }, { store: 'gcp' });
    expectNoLeak(
      'rejection',
      rejected.map((r) => r.message),
    );
    expectNoLeak('rejection result', rejected.map(rejectionResult));
    expectNoLeak(
      'TooMany',
      caught(() =>
        checkLimits([named('a'), named('b')], { maxValueBytes: 1e6 }, { maxSecretsPerResource: 1 }),
      ),
    );
    expectNoLeak(
      'TooLarge',
      caught(() => checkLimits([named('a'), named('b')], { maxValueBytes: 1e6 }, { maxTotalBytes: 10 })),
    );
  });

  it('plan reasons on every branch', () => {
    const desired = [
      named('create'),
      named('update', CANARY2),
      named('disable', CANARY, false),
      named('enable', CANARY2),
      named('conflict'),
      named('foreign'),
      named('same'),
    ];
    const actual: StoredEntry[] = [
      { storeName: 'update', value: CANARY, enabled: true, owner: me },
      { storeName: 'disable', value: CANARY2, enabled: true, owner: me },
      { storeName: 'enable', value: CANARY, enabled: false, owner: me },
      { storeName: 'conflict', value: CANARY2, enabled: true },
      { storeName: 'foreign', value: CANARY2, enabled: true, owner: other },
      { storeName: 'same', value: CANARY, enabled: true, owner: me },
      { storeName: 'gone', value: CANARY, enabled: true, owner: me, key: 'gone' },
    ];
    for (const deletionPolicy of ['Retain', 'Disable', 'Delete'] as const) {
      for (const triggerUpdate of [true, false]) {
        for (const adopt of [true, false]) {
          expectNoLeak(
            'plan',
            planActions({ desired, actual, owner: me, deletionPolicy, triggerUpdate, adopt }),
          );
        }
      }
    }
  });

  it('local store results, failures and errors', async () => {
    const store = new LocalDirStore(dir, { lockTimeoutMs: 200 });
    const all: ActionResult[] = [];
    all.push(...(await syncTo(store, me, [src('A'), src('B', CANARY2, false)])).results);
    all.push(...(await syncTo(store, me, [src('A', CANARY2), src('B', CANARY2)])).results);
    all.push(...(await syncTo(store, other, [src('A', CANARY2)])).results); // conflict with our entry
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'HANDMADE'), CANARY);
    all.push(...(await syncTo(store, me, [src('A'), src('HANDMADE')])).results); // conflict with a file
    const bad: Action[] = [
      { type: 'create', cause: 'missing', storeName: '../x', kind: 'secret', value: CANARY, reason: 'r' },
      {
        type: 'create',
        cause: 'missing',
        storeName: 'HUGE',
        key: 'HUGE',
        kind: 'secret',
        value: CANARY.repeat(40_000),
        reason: 'r',
      },
      { type: 'enable', cause: 'disabled', storeName: 'NONE', kind: 'secret', value: CANARY, reason: 'r' },
      { type: 'create', cause: 'missing', storeName: 'A', kind: 'secret', value: CANARY, reason: 'r' },
    ];
    all.push(...(await store.apply(other, bad)));
    // A live lock holder (ourselves, seen as another host) makes the writes fail.
    await writeFile(join(dir, '..smc_lock'), JSON.stringify({ pid: process.pid, host: `not-${hostname()}` }));
    all.push(
      ...(await store.apply(me, [
        { type: 'update', cause: 'changed', storeName: 'A', kind: 'secret', value: CANARY2, reason: 'r' },
      ])),
    );
    await writeFile(join(dir, '..smc_lock'), '');
    expect(all.some((r) => !r.ok)).toBe(true);
    expectNoLeak('apply results', all);
    expectNoLeak('read', await store.read(me, []).then((rs) => rs.map(({ value: _v, ...rest }) => rest)));

    // The manifest holds no values, and a damaged manifest's error does not quote it.
    const manifest = join(dir, await readlink(join(dir, '..data')), '.smc', 'manifest.json');
    expectNoLeak('manifest', await readFile(manifest, 'utf8'));
    await writeFile(manifest, `{"entries": "${CANARY}`);
    const err = await store.read(me, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expectNoLeak('damaged manifest (read)', err);
    expectNoLeak(
      'damaged manifest (apply)',
      await store.apply(me, [
        { type: 'update', cause: 'changed', storeName: 'A', kind: 'secret', value: CANARY, reason: 'r' },
      ]),
    );
  });

  it('the canary check itself catches a leak', () => {
    expect(() => expectNoLeak('self-test', { message: `oops ${CANARY.slice(3, 30)}` })).toThrow();
    expect(() =>
      expectNoLeak('self-test', { message: createHash('sha256').update(CANARY).digest('hex') }),
    ).toThrow();
  });
});
