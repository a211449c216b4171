import { describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { parseYaml } from '../../src/render/yaml.js';

const FILE = 'svc/application.secrets.yaml';
const parse = (text: string) => parseYaml(text, FILE);
const active = (text: string) =>
  Object.fromEntries(
    parse(text)
      .filter((e) => e.enabled)
      .map((e) => [e.key, e.value]),
  );
const disabled = (text: string) =>
  Object.fromEntries(
    parse(text)
      .filter((e) => !e.enabled)
      .map((e) => [e.key, e.value]),
  );

function expectError(text: string, code: 'ParseError' | 'DuplicateKey', message: RegExp) {
  try {
    parse(text);
    expect.unreachable(text);
  } catch (e) {
    expect(isSmcError(e, code), String(e)).toBe(true);
    expect((e as Error).message).toMatch(message);
  }
}

describe('parseYaml', () => {
  it('flattens nested mappings with dots and reports key lines', () => {
    expect(parse('db:\n  user: u\n  pool:\n    max: 5\napi_key: k\n')).toEqual([
      { key: 'db.user', value: 'u', enabled: true, line: 2 },
      { key: 'db.pool.max', value: '5', enabled: true, line: 4 },
      { key: 'api_key', value: 'k', enabled: true, line: 5 },
    ]);
  });

  it('keeps scalars as written', () => {
    expect(
      active(
        [
          'hex: 0x1F',
          'dec: 1.10',
          'oct: 0o14',
          'big: 12345678901234567890',
          'flag: true',
          'yes_: yes',
          'date: 2024-01-01',
          'nul: ~',
          'null2: null',
          'empty:',
          "sq: 'it''s'",
          'dq: "a\\tb"',
          'tagged: !!str 012',
          'block: |',
          '  line1',
          '  # not a comment',
          'folded: >-',
          '  a',
          '  b',
          'plain: multi',
          '  line',
          'flow: {x: 1, y: {z: 2}}',
        ].join('\n'),
      ),
    ).toEqual({
      hex: '0x1F',
      dec: '1.10',
      oct: '0o14',
      big: '12345678901234567890',
      flag: 'true',
      yes_: 'yes',
      date: '2024-01-01',
      nul: '',
      null2: '',
      empty: '',
      sq: "it's",
      dq: 'a\tb',
      tagged: '012',
      block: 'line1\n# not a comment\n',
      folded: 'a b',
      plain: 'multi line',
      'flow.x': '1',
      'flow.y.z': '2',
    });
  });

  it('stores a list as one JSON value', () => {
    expect(active('hosts:\n  - a\n  - b\nports: [80, 443]\nobjs:\n  - {n: 1}\nnone: []')).toEqual({
      hosts: '["a","b"]',
      ports: '[80,443]',
      objs: '[{"n":1}]',
      none: '[]',
    });
  });

  it('resolves aliases', () => {
    expect(active('base: &b\n  user: u\ncopy: *b\nv: &v val\nw: *v')).toEqual({
      'base.user': 'u',
      'copy.user': 'u',
      v: 'val',
      w: 'val',
    });
  });

  it('has no entries for an empty or comment-only file', () => {
    expect(parse('')).toEqual([]);
    expect(parse('# nothing here\n')).toEqual([]);
    expect(parse('---\n')).toEqual([]);
  });

  it('reads commented-out keys at mapping level as disabled', () => {
    const text = [
      '# api_key: old', // 1: root level
      'db:',
      '  host: h',
      '  # password: p1', // 4: db level
      '  port: 1',
      '# token: t', // 6: root level again
      'cache:',
      '  # url: redis://x', // 8
      'block: |',
      '  # inside: block', // content, not a comment
      'quoted: "a',
      '  # inside: quotes"',
      'flow: [',
      '  # inside: flow',
      '  1]',
      'list:',
      '  - name: n',
      '    # pw: in-a-list', // maps inside lists are not flattened
    ].join('\n');
    expect(parse(text).filter((e) => !e.enabled)).toEqual([
      { key: 'api_key', value: 'old', enabled: false, line: 1 },
      { key: 'db.password', value: 'p1', enabled: false, line: 4 },
      { key: 'token', value: 't', enabled: false, line: 6 },
      { key: 'cache.url', value: 'redis://x', enabled: false, line: 8 },
    ]);
    // `cache:` only has commented children: no empty `cache` entry
    expect(active(text)).not.toHaveProperty('cache');
  });

  it('reads a commented-out nested block', () => {
    const text = [
      'a: 1',
      '# legacy:',
      '#   nested:',
      '#     deep: 1',
      '#   other: "2"',
      '# next: 3',
      'b: 2',
    ].join('\n');
    expect(parse(text).filter((e) => !e.enabled)).toEqual([
      { key: 'legacy.nested.deep', value: '1', enabled: false, line: 4 },
      { key: 'legacy.other', value: '2', enabled: false, line: 5 },
      { key: 'next', value: '3', enabled: false, line: 6 },
    ]);
  });

  it('treats comments that are not `identifier: value` at a key column as prose', () => {
    const text = [
      '# Secrets for the payments service',
      '# Managed by: platform team', // key with a blank
      '## key: value', // doubled hash
      '#   indented: prose', // deeper than the run's least-indented line, with no key above it
      'a: 1',
      '  # b: 2', // column 2, but `a` has no mapping there
      'c:',
      '  d: 1',
      '    # e: 3', // column 4: no mapping at that column
      '# key:value', // no blank after the colon
      '# url: http://x: y', // not valid YAML
      'z: 1 # inline: comment',
    ].join('\n');
    expect(disabled(text)).toEqual({});
  });

  it('resolves active vs commented-out definitions of one key', () => {
    expect(parse('a: new\n# a: old')).toEqual([{ key: 'a', value: 'new', enabled: true, line: 1 }]);
    expect(parse('# a: old\na: new')).toEqual([{ key: 'a', value: 'new', enabled: true, line: 2 }]);
    expect(parse('# a: 1\nb: 0\n# a: 2')).toEqual([
      { key: 'b', value: '0', enabled: true, line: 2 },
      { key: 'a', value: '2', enabled: false, line: 3 },
    ]);
  });

  it('refuses what it cannot flatten, naming the line', () => {
    expectError(
      'a: 1\n---\nb: 2\n',
      'ParseError',
      /application\.secrets\.yaml:2: more than one YAML document/,
    );
    expectError('- a\n- b\n', 'ParseError', /:1: the document root must be a mapping/);
    expectError('just a string\n', 'ParseError', /:1: the document root must be a mapping/);
    expectError('a: 1\nb: [\n', 'ParseError', /:\d+: invalid YAML \([A-Z_]+\)$/);
    // The line of the fault, not line 1.
    expectError('a: 1\nb: 2\nc:\n  d: 1\n e: 2\n', 'ParseError', /:5: invalid YAML \(BAD_INDENT\)$/);
    expectError('? [a, b]\n: 1\n', 'ParseError', /:1: keys must be plain scalars/);
    expectError('base: &b {x: 1}\nother:\n  <<: *b\n', 'ParseError', /:3: YAML merge keys/);
    expectError('a: 1\nb: 2\na: 3\n', 'DuplicateKey', /key "a" is defined twice \(lines 1 and 3\)/);
    expectError('a.b: 1\na:\n  b: 2\n', 'DuplicateKey', /key "a\.b" is defined twice \(lines 1 and 3\)/);
  });
});
