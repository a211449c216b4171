/**
 * The YAML store's rules, each checked on a small case (the facts were taken from the real sops;
 * yaml-differential.test.ts checks them all together against it).
 */
import { describe, expect, it } from 'vitest';
import { Branch, Comment, GoFloat, GoInt, type TreeValue } from '../../src/sops/values.js';
import { emitYaml, loadYaml } from '../../src/sops/yaml.js';
import { resolvePlain } from '../../src/sops/yaml/resolve.js';
import { valueStyle } from '../../src/sops/yaml/scalar-style.js';

const load = (s: string): Branch[] => loadYaml(Buffer.from(s), 't.yaml');
const print = (b: Branch[]): string => Buffer.from(emitYaml(b)).toString('utf8');
const roundTrip = (s: string): string => print(load(s));
const doc = (items: [string | Comment, TreeValue][]): Branch =>
  new Branch(items.map(([key, value]) => ({ key, value })));

describe('plain scalars are typed like go-yaml decoding into interface{}', () => {
  it.each([
    ['~', 'null'],
    ['Null', 'null'],
    ['yes', 'str'],
    ['True', 'bool'],
    ['tRue', 'str'],
    ['0755', 'int'],
    ['0o17', 'int'],
    ['1__0', 'int'],
    ['-_1', 'int'],
    ['09', 'float'],
    ['1e400', 'str'],
    ['0x1p3', 'str'],
    ['.Inf', 'float'],
    ['.iNf', 'str'],
    ['9223372036854775808', 'uint'],
    ['-9223372036854775809', 'float'],
    ['2024-1-2', 'timestamp'],
    ['2001-12-14 21:59:43.10 -5', 'str'],
    ['<<', 'merge'],
  ])('%s is a %s', (text, kind) => {
    expect(resolvePlain(text).kind).toBe(kind);
  });

  it('keeps numbers typed and re-prints them the Go way', () => {
    const [b] = load('a: 0x1F\nb: 1234567.0\nc: .5\n');
    expect(b?.items.map((i) => i.value)).toEqual([new GoInt(31n), new GoFloat(1234567), new GoFloat(0.5)]);
    expect(print(load('a: 0x1F\nb: 1234567.0\nc: .5\n'))).toBe('a: 31\nb: 1.234567e+06\nc: 0.5\n');
  });
});

describe('strings are printed in the style go-yaml picks', () => {
  it.each([
    ['plain words', 'plain'],
    ['yes', 'double'],
    ['12:30', 'double'],
    ['1.2.3', 'plain'],
    ['a\tb', 'double'],
    ['a: b', 'single'],
    ['---x', 'single'],
    [' lead', 'single'],
    ['x\u2028y', 'single'],
    ['a\u0085b', 'double'],
    ['emoji 🎉', 'double'],
    ['two\nlines', 'literal'],
    ['trailing \nspace', 'double'],
    ['\tx\ny', 'null-literal'],
  ])('%j is %s', (s, style) => {
    expect(valueStyle(s).style).toBe(style);
  });

  it('escapes, chomps and indents like go-yaml', () => {
    const out = print([
      doc([
        ['bom', '\ufeffbom'],
        ['nl', '\n\nlead'],
        ['keep', 'x\n\n'],
        ['merge', '<<'],
        ['k'.repeat(129), new GoInt(1n)],
      ]),
    ]);
    expect(out.split('\n')).toEqual([
      'bom: "\\uFEFF\\x62\\x6F\\x6D"',
      'nl: |4-',
      '',
      '',
      '    lead',
      'keep: |+',
      '    x',
      '',
      'merge: !!merge <<',
      '? ' + 'k'.repeat(129),
      ': 1',
      '',
    ]);
  });
});

describe('layout and comments', () => {
  it('indents lists by 4 under keys and 2 inside list items', () => {
    expect(roundTrip('a: [[1, [2]], {b: {c: [4]}}]\n')).toBe(
      'a:\n    - - 1\n      - - 2\n    - b:\n        c:\n            - 4\n',
    );
  });

  it('keeps comments where sops keeps them', () => {
    const src = '# top\na: 1 # inline\nb:\n    # head\n    c: 2\n    # foot\n# before d\nd: []\n';
    expect(roundTrip(src)).toBe(src);
  });

  it('closes collections with the comments that follow them by column', () => {
    const src = 'k0:\n    k1:\n        k2: v\n        # in k1\n    # in k0\n# top\nz: 1\n';
    expect(roundTrip(src)).toBe(src);
    // A single comment line that is not at the next key's column stays in the deepest mapping.
    expect(roundTrip('k0:\n    k1:\n        k2: v\n    # c\nz: 1\n')).toBe(
      'k0:\n    k1:\n        k2: v\n        # c\nz: 1\n',
    );
  });

  it('prints an empty mapping with comments the go-yaml way and reads it back as {}', () => {
    const out = print([doc([['a', new Branch([{ key: new Comment(' c'), value: null }])]])]);
    expect(out).toBe('a: {\n    # c\n}\n');
    expect(roundTrip('x:\n    a: {\n        # c\n}\n    b: 1\n')).toBe('x:\n    a: {}\n    b: 1\n');
  });

  it('separates documents with ---', () => {
    expect(roundTrip('a: 1\n---\nb: 2\n...\n---\n# c\nd: 3\n')).toBe('a: 1\n---\nb: 2\n---\n# c\nd: 3\n');
  });

  it('refuses what sops refuses', () => {
    expect(() => load('a: 1\na: 2\n')).toThrow(/defined twice/);
    expect(() => load('<<: x\n')).toThrow(/map merge/);
    expect(() => load('1: a\n')).toThrow(/not a string/);
    expect(() => load('- a\n')).toThrow(/sequences/);
    expect(() => load('a: !!int x\n')).toThrow(/cannot decode/);
  });
});
