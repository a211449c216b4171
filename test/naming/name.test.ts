import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry.js';
import { SmcError } from '../../src/errors.js';
import { nameEntries } from '../../src/naming/name.js';
import type { NamingRule } from '../../src/naming/rules.js';
import { ssmNaming } from '../../src/stores/aws/naming.js';
import { azureKeyVaultNaming } from '../../src/stores/azure/naming.js';
import { gcpNaming } from '../../src/stores/gcp/naming.js';
import { localNaming } from '../../src/stores/local/naming.js';

function entry(
  key: string,
  origin = 'svc/deployment-configuration/profiles/dev/application.secrets.env',
): Entry {
  return { key, value: `value-of-${key}`, kind: 'secret', enabled: true, origin };
}

function thrown(fn: () => unknown): SmcError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SmcError) return e;
    throw e;
  }
  throw new Error('expected an SmcError');
}

describe('nameEntries', () => {
  it('names prefix-key-suffix through the rule and keeps the entry fields', () => {
    const named = nameEntries([entry('db.password')], { rule: gcpNaming, prefix: 'app', suffix: 'prod' });
    expect(named).toEqual([{ ...entry('db.password'), storeName: 'app-db_password-prod' }]);
  });

  it('omits empty prefix and suffix', () => {
    expect(nameEntries([entry('K')], { rule: gcpNaming, prefix: '', suffix: '' })[0]?.storeName).toBe('K');
  });

  it('uses a rule that composes its own structure (ssm)', () => {
    const named = nameEntries([entry('api.timeout')], { rule: ssmNaming('/app/dev') });
    expect(named[0]?.storeName).toBe('/app/dev/api.timeout');
  });

  it('works with a plain NamingRule that has no hooks', () => {
    const plain: NamingRule = {
      store: 'plain',
      maxLength: 10,
      pattern: /[a-z]+/,
      sanitize: (s) => s.toLowerCase(),
    };
    expect(nameEntries([entry('ABC')], { rule: plain })[0]?.storeName).toBe('abc');
    // The pattern is applied as a full match even though it is not anchored.
    const err = thrown(() => nameEntries([entry('a-b')], { rule: plain }));
    expect(err.code).toBe('InvalidName');
  });

  it('reports every invalid name in one InvalidName error naming the keys', () => {
    const err = thrown(() =>
      nameEntries([entry('x'.repeat(300), 'a.env'), entry('ok'), entry('y'.repeat(260), 'b.env')], {
        rule: gcpNaming,
      }),
    );
    expect(err.code).toBe('InvalidName');
    expect(err.message).toContain(`key "${'x'.repeat(300)}" (a.env)`);
    expect(err.message).toContain('(b.env)');
    expect(err.message).toContain('over the limit of 255');
  });

  it('refuses an empty key', () => {
    expect(thrown(() => nameEntries([entry('')], { rule: gcpNaming })).code).toBe('InvalidName');
  });

  it('reports a collision naming both keys and their files', () => {
    const err = thrown(() =>
      nameEntries([entry('db.url', 'svc-a/app.env'), entry('db_url', 'svc-b/app.yaml')], {
        rule: gcpNaming,
        prefix: 'p',
      }),
    );
    expect(err.code).toBe('NameCollision');
    expect(err.message).toContain('key "db.url" (svc-a/app.env)');
    expect(err.message).toContain('key "db_url" (svc-b/app.yaml)');
    expect(err.message).toContain('"p-db_url"');
  });

  it('collects all collisions into one error', () => {
    const err = thrown(() =>
      nameEntries([entry('a.b'), entry('a_b'), entry('c.d'), entry('c_d'), entry('c/d'), entry('fine')], {
        rule: gcpNaming,
      }),
    );
    expect(err.code).toBe('NameCollision');
    expect(err.message).toMatch(/^2 name collision/);
    expect(err.message).toContain('"a_b"');
    expect(err.message).toContain('key "c.d"');
    expect(err.message).toContain('key "c/d"');
    expect(err.message).toContain('all map to "c_d"');
  });

  it('flags the same key from two files (shared prefix) as a collision', () => {
    const err = thrown(() =>
      nameEntries([entry('K', 'svc-a/x.env'), entry('K', 'svc-b/x.env')], { rule: gcpNaming, prefix: 'p' }),
    );
    expect(err.message).toContain('svc-a/x.env');
    expect(err.message).toContain('svc-b/x.env');
  });

  it('treats case-only differences as a collision where the store is case-insensitive', () => {
    expect(() => nameEntries([entry('Db_Url'), entry('db_url')], { rule: gcpNaming })).not.toThrow();
    const err = thrown(() => nameEntries([entry('Db_Url'), entry('db.url')], { rule: azureKeyVaultNaming }));
    expect(err.code).toBe('NameCollision');
    expect(err.message).toContain('case-insensitive');
    expect(thrown(() => nameEntries([entry('A'), entry('a')], { rule: localNaming })).code).toBe(
      'NameCollision',
    );
  });
});
