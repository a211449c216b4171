import { describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { parseProperties } from '../../src/render/properties.js';

const parse = (text: string) => parseProperties(text, 'svc/application.properties');
const kv = (text: string) => Object.fromEntries(parse(text).map((e) => [e.key, e.value]));

describe('parseProperties (java.util.Properties semantics)', () => {
  it('accepts =, : and whitespace separators, with blanks around them', () => {
    expect(kv('a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t6\ng   =   7\nh =\ni\nj:=x\nk==y')).toEqual({
      a: '1',
      b: '2',
      c: '3',
      d: '4',
      e: '5',
      f: '6',
      g: '7',
      h: '',
      i: '',
      j: '=x',
      k: '=y',
    });
  });

  it('skips # and ! comments and blank lines, with leading whitespace', () => {
    expect(parse('# c\n! c\n   # indented\n\t! too\n\n  \nkey=v\n')).toEqual([
      { key: 'key', value: 'v', enabled: true, line: 7 },
    ]);
  });

  it("joins continuation lines, dropping the continuation lines' leading whitespace", () => {
    expect(parse('list = a, \\\n     b, \\\n\t\fc\nnext=1')).toEqual([
      { key: 'list', value: 'a, b, c', enabled: true, line: 1 },
      { key: 'next', value: '1', enabled: true, line: 4 },
    ]);
    // an even number of backslashes is an escaped backslash, not a continuation
    expect(kv('a=x\\\\\nb=y')).toEqual({ a: 'x\\', b: 'y' });
    // a continuation line starting with # is content; a comment never continues
    expect(kv('a=x\\\n  # y\n# c \\\nb=2')).toEqual({ a: 'x# y', b: '2' });
    // a backslash at the end of the file is dropped
    expect(kv('a=x\\')).toEqual({ a: 'x' });
  });

  it('handles \\r\\n, \\r and \\n line ends', () => {
    expect(kv('a=1\r\nb=2\rc=3\nd=4 \\\r\n  5')).toEqual({ a: '1', b: '2', c: '3', d: '4 5' });
  });

  it('unescapes keys and values', () => {
    expect(
      kv(
        'my\\ key\\=x\\:y = v\nt=a\\tb\\nc\\rd\\fe\nu=\\u00e9\\u20AC\\uD83D\\uDE00\nbs=\\\\\nother=\\q\\#\\!',
      ),
    ).toEqual({
      'my key=x:y': 'v',
      t: 'a\tb\nc\rd\fe',
      u: 'é€😀',
      bs: '\\',
      other: 'q#!',
    });
  });

  it('keeps trailing whitespace of values, as Java does', () => {
    expect(kv('a=x  \nb=  y\t')).toEqual({ a: 'x  ', b: 'y\t' });
  });

  it('lets the last definition win, as Java does', () => {
    expect(parse('a=1\nb=2\na=3')).toEqual([
      { key: 'b', value: '2', enabled: true, line: 2 },
      { key: 'a', value: '3', enabled: true, line: 3 },
    ]);
  });

  it('refuses a malformed \\u escape and an empty key, naming the line only', () => {
    for (const [text, re] of [
      ['a=1\nb=\\u12G4', /application\.properties:2: malformed \\uXXXX escape$/],
      ['a=1\n\n=secret-value', /application\.properties:3: empty property key$/],
      ['x=\\u12', /:1: malformed/],
    ] as const) {
      try {
        parse(text);
        expect.unreachable(text);
      } catch (e) {
        expect(isSmcError(e, 'ParseError')).toBe(true);
        expect((e as Error).message).toMatch(re);
      }
    }
  });
});
