import { describe, expect, it } from 'vitest';
import type { NamedEntry } from '../../src/entry.js';
import { isSmcError } from '../../src/errors.js';
import { checkLimits, rejectionResult } from '../../src/naming/limits.js';
import { STORE_LIMITS } from '../../src/stores/registry.js';

function named(key: string, value: string): NamedEntry {
  return { key, value, kind: 'secret', enabled: true, origin: 'app/secrets.env', storeName: `p-${key}` };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('checkLimits', () => {
  it('accepts entries within the limit, counting UTF-8 bytes', () => {
    const atLimit = named('a', 'é'.repeat(5)); // 10 bytes
    const { accepted, rejected } = checkLimits([atLimit], { maxValueBytes: 10 });
    expect(accepted).toEqual([atLimit]);
    expect(rejected).toEqual([]);
    expect(checkLimits([named('a', 'é'.repeat(6))], { maxValueBytes: 11 }).rejected).toHaveLength(1);
  });

  it('rejects only the oversize entry, with a message naming key, file and limit', () => {
    const big = named('BIG', 'x'.repeat(65_537));
    const small = named('SMALL', 'ok');
    const { accepted, rejected } = checkLimits([big, small], STORE_LIMITS.gcp!, { store: 'gcp' });
    expect(accepted).toEqual([small]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.entry).toBe(big);
    expect(rejected[0]?.message).toContain('key "BIG" (app/secrets.env)');
    expect(rejected[0]?.message).toContain('the gcp limit of 65536 bytes per value');
    expect(rejected[0]?.message).not.toContain('xxxx');
  });

  it('applies max_secret_size_bytes when it is tighter than the store', () => {
    const { rejected } = checkLimits([named('K', 'x'.repeat(200))], STORE_LIMITS.aws!, {
      maxSecretSizeBytes: 100,
    });
    expect(rejected[0]?.message).toContain('max_secret_size_bytes (100)');
    expect(
      checkLimits([named('K', 'x'.repeat(200))], { maxValueBytes: 100 }, { maxSecretSizeBytes: 1000 })
        .rejected[0]?.message,
    ).toContain('limit of 100');
  });

  it('counts the name too where the store does (App Configuration)', () => {
    const e = named('k', 'x'.repeat(10)); // name p-k = 3 bytes
    expect(checkLimits([e], { maxValueBytes: 12 }, { countNameBytes: true }).rejected).toHaveLength(1);
    expect(checkLimits([e], { maxValueBytes: 13 }, { countNameBytes: true }).rejected).toHaveLength(0);
  });

  it('fails the resource with TooMany over maxSecretsPerResource', () => {
    const entries = [named('a', '1'), named('b', '2'), named('c', '3')];
    expect(checkLimits(entries, STORE_LIMITS.gcp!, { maxSecretsPerResource: 3 }).accepted).toHaveLength(3);
    const err = caught(() => checkLimits(entries, STORE_LIMITS.gcp!, { maxSecretsPerResource: 2 }));
    expect(isSmcError(err, 'TooMany')).toBe(true);
    expect((err as Error).message).toMatch(/3 entries .* max_secrets_per_resource \(2\)/);
  });

  it('fails the resource with TooLarge over a total limit (a Kubernetes Secret object)', () => {
    const entries = [named('a', 'x'.repeat(60)), named('b', 'y'.repeat(60))];
    expect(
      isSmcError(
        caught(() => checkLimits(entries, STORE_LIMITS.k8s!, { maxTotalBytes: 100 })),
        'TooLarge',
      ),
    ).toBe(true);
  });

  it('turns a rejection into a failed, write-free result', () => {
    const { rejected } = checkLimits([named('BIG', 'x'.repeat(20))], { maxValueBytes: 10 });
    const r = rejectionResult(rejected[0]!);
    expect(r).toMatchObject({
      ok: false,
      wrote: false,
      action: { type: 'noop', storeName: 'p-BIG', key: 'BIG' },
    });
    expect(r.message).toContain('key "BIG"');
    expect(r.action.value).toBeUndefined();
  });
});
