import { describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { nameProblem } from '../../src/naming/name.js';
import { joinNameParts, type StoreNamingRule } from '../../src/naming/store-rules.js';
import { awsNaming, ssmNaming } from '../../src/stores/aws/naming.js';
import { appConfigNaming, azureKeyVaultNaming } from '../../src/stores/azure/naming.js';
import { gcpNaming } from '../../src/stores/gcp/naming.js';
import { k8sNaming } from '../../src/stores/kubernetes/naming.js';
import { localNaming } from '../../src/stores/local/naming.js';
import { namingRuleFor } from '../../src/stores/registry.js';

function finalName(rule: StoreNamingRule, key: string, prefix?: string, suffix?: string): string {
  const parts = { key, prefix, suffix };
  return rule.compose ? rule.compose(parts) : rule.sanitize(joinNameParts(parts));
}

describe('joinNameParts', () => {
  it('joins prefix-key-suffix and omits empty parts', () => {
    expect(joinNameParts({ prefix: 'app', key: 'DB_URL', suffix: 'prod' })).toBe('app-DB_URL-prod');
    expect(joinNameParts({ key: 'DB_URL' })).toBe('DB_URL');
    expect(joinNameParts({ prefix: '', key: 'k', suffix: '' })).toBe('k');
    expect(joinNameParts({ key: 'k', suffix: '-v2' })).toBe('k-v2');
    expect(joinNameParts({ prefix: 'app-', key: 'k' })).toBe('app-k');
  });
});

describe('local', () => {
  it('keeps file-name characters and maps the rest to _', () => {
    expect(localNaming.sanitize('db.password')).toBe('db.password');
    expect(localNaming.sanitize('a/b c:d')).toBe('a_b_c_d');
    expect(localNaming.sanitize('café')).toBe('caf_');
  });
  it('never yields a name starting with a dot (kubelet reserves ..data)', () => {
    expect(localNaming.sanitize('..data')).toBe('__data');
    expect(localNaming.sanitize('.env')).toBe('_env');
    expect(nameProblem(localNaming, '.env')).toBeDefined();
    expect(nameProblem(localNaming, '..data')).toBeDefined();
    expect(nameProblem(localNaming, 'a.b')).toBeUndefined();
  });
  it('caps length at 253', () => {
    expect(nameProblem(localNaming, 'a'.repeat(253))).toBeUndefined();
    expect(nameProblem(localNaming, 'a'.repeat(254))).toMatch(/over the limit of 253/);
  });
});

describe('gcp', () => {
  it('maps . and / to _', () => {
    expect(finalName(gcpNaming, 'db.password', 'app')).toBe('app-db_password');
    expect(gcpNaming.sanitize('a/b')).toBe('a_b');
  });
  it('accepts 255 and refuses 256 characters', () => {
    expect(nameProblem(gcpNaming, 'x'.repeat(255))).toBeUndefined();
    expect(nameProblem(gcpNaming, 'x'.repeat(256))).toBeDefined();
  });
});

describe('aws', () => {
  it('keeps / . + = @ so hierarchical names survive', () => {
    expect(finalName(awsNaming, 'db/pass.word+x=y@z')).toBe('db/pass.word+x=y@z');
    expect(awsNaming.sanitize('a b#c')).toBe('a_b_c');
    expect(nameProblem(awsNaming, 'x'.repeat(512))).toBeUndefined();
    expect(nameProblem(awsNaming, 'x'.repeat(513))).toBeDefined();
  });
});

describe('azure-keyvault', () => {
  it('turns _ and . into -', () => {
    expect(finalName(azureKeyVaultNaming, 'DATABASE_URL', 'app')).toBe('app-DATABASE-URL');
    expect(azureKeyVaultNaming.sanitize('db.pass_word')).toBe('db-pass-word');
    expect(nameProblem(azureKeyVaultNaming, 'app-DATABASE-URL')).toBeUndefined();
  });
  it('caps at 127 and is case-insensitive', () => {
    expect(nameProblem(azureKeyVaultNaming, 'a'.repeat(127))).toBeUndefined();
    expect(nameProblem(azureKeyVaultNaming, 'a'.repeat(128))).toBeDefined();
    expect(azureKeyVaultNaming.caseInsensitive).toBe(true);
  });
});

describe('k8s', () => {
  it('keeps [-._a-zA-Z0-9] and refuses reserved dot names', () => {
    expect(k8sNaming.sanitize('tls.crt')).toBe('tls.crt');
    expect(k8sNaming.sanitize('a/b')).toBe('a_b');
    expect(k8sNaming.sanitize('..data')).toBe('_.data');
    expect(k8sNaming.sanitize('.')).toBe('_');
    expect(nameProblem(k8sNaming, '..x')).toMatch(/reserved/);
    expect(nameProblem(k8sNaming, '.hidden')).toBeUndefined();
    expect(nameProblem(k8sNaming, 'a'.repeat(254))).toBeDefined();
  });
});

describe('ssm', () => {
  it('puts the key under the parameter path as one leaf', () => {
    const rule = ssmNaming('/myapp/dev');
    expect(finalName(rule, 'api.timeout')).toBe('/myapp/dev/api.timeout');
    expect(finalName(rule, 'a/b c')).toBe('/myapp/dev/a_b_c');
    expect(nameProblem(rule, '/myapp/dev/api.timeout')).toBeUndefined();
  });
  it('normalises the path and allows flat names', () => {
    expect(finalName(ssmNaming('myapp/dev/'), 'k')).toBe('/myapp/dev/k');
    expect(finalName(ssmNaming(''), 'k', 'p')).toBe('p-k');
  });
  it('refuses bad paths as InvalidSpec', () => {
    for (const bad of [
      '/aws/x',
      '/SSM',
      '/a b',
      `/${Array.from({ length: 15 }, (_, i) => `l${i}`).join('/')}`,
    ]) {
      let err: unknown;
      try {
        ssmNaming(bad);
      } catch (e) {
        err = e;
      }
      expect(isSmcError(err, 'InvalidSpec'), bad).toBe(true);
    }
    expect(() => ssmNaming(`/${Array.from({ length: 14 }, (_, i) => `l${i}`).join('/')}`)).not.toThrow();
  });
  it('caps the full name at 1011 characters including the path', () => {
    const rule = ssmNaming('/p');
    expect(nameProblem(rule, `/p/${'x'.repeat(1008)}`)).toBeUndefined();
    expect(nameProblem(rule, `/p/${'x'.repeat(1009)}`)).toMatch(/1011/);
  });
  it('refuses leaf names starting with aws/ssm when there is no path', () => {
    expect(nameProblem(ssmNaming(''), 'awsKey')).toMatch(/aws/);
  });
});

describe('appconfig', () => {
  it('builds prefix:environment:key', () => {
    const rule = appConfigNaming({ environment: 'dev' });
    expect(finalName(rule, 'server.port', 'myapp')).toBe('myapp:dev:server.port');
    expect(finalName(rule, 'server.port', 'myapp', 'v2')).toBe('myapp:dev:server.port-v2');
    expect(finalName(rule, 'k')).toBe('dev:k');
  });
  it('replaces % and reserves . and ..', () => {
    const rule = appConfigNaming({ environment: 'dev' });
    expect(finalName(rule, '100%', 'p')).toBe('p:dev:100_');
    expect(nameProblem(rule, 'a%b')).toBeDefined();
    expect(nameProblem(rule, '.')).toMatch(/reserved/);
    expect(nameProblem(rule, '..')).toMatch(/reserved/);
    expect(nameProblem(rule, 'ключ:ü')).toBeUndefined();
  });
});

describe('namingRuleFor', () => {
  it('returns the rule for each store type', () => {
    expect(namingRuleFor('gcp')).toBe(gcpNaming);
    expect(namingRuleFor('local').store).toBe('local');
    expect(namingRuleFor('ssm', { parameterPath: '/a' }).store).toBe('ssm');
    expect(namingRuleFor('appconfig', { environment: 'dev' }).store).toBe('appconfig');
    expect(() => namingRuleFor('appconfig')).toThrow(/environment/);
  });
  it('every final name satisfies its own pattern', () => {
    const keys = ['DATABASE_URL', 'db.password', 'a/b', 'weird key!', 'ünïcödé', '..data', '.', '-x-'];
    const rules = [
      localNaming,
      gcpNaming,
      awsNaming,
      azureKeyVaultNaming,
      k8sNaming,
      ssmNaming('/a/b'),
      appConfigNaming({ environment: 'e' }),
    ];
    for (const rule of rules) {
      for (const key of keys) {
        const name = finalName(rule, key, 'pre', 'suf');
        expect(nameProblem(rule, name), `${rule.store} ${key} → ${name}`).toBeUndefined();
      }
    }
  });
});
