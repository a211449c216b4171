import { describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { parseEnv } from '../../src/render/env.js';

const parse = (text: string) => parseEnv(text, 'svc/application.secrets.env');
const kv = (text: string) => Object.fromEntries(parse(text).map((e) => [e.key, e.value]));

describe('parseEnv', () => {
  it('reads KEY=value lines with line numbers, skipping blanks and comments', () => {
    expect(parse('# header\n\nA=1\n  B=two words\r\n')).toEqual([
      { key: 'A', value: '1', enabled: true, line: 3 },
      { key: 'B', value: 'two words', enabled: true, line: 4 },
    ]);
  });

  it('accepts an export prefix, blanks around =, and keys with dots and dashes', () => {
    expect(kv('export A=1\nexport\tB = 2\nexport=3\nexportC=4\na.b-c_d=5\n_x=6')).toEqual({
      A: '1',
      B: '2',
      export: '3',
      exportC: '4',
      'a.b-c_d': '5',
      _x: '6',
    });
  });

  it('strips quotes: double quotes take escapes, single quotes are literal', () => {
    expect(kv(`D="a\\nb\\t\\"q\\" \\\\ \\x"\nS='a\\nb "x" #no'\nE=""\nF=''`)).toEqual({
      D: 'a\nb\t"q" \\ \\x',
      S: 'a\\nb "x" #no',
      E: '',
      F: '',
    });
  });

  it('keeps unquoted values literal and treats blank-then-# as an inline comment', () => {
    expect(
      kv('A=pa#ss\nB=val # note\nC=val\t# note\nD= #only comment\nE=\nF=a\\nb\nG=  spaced  \nH=x=y'),
    ).toEqual({
      A: 'pa#ss',
      B: 'val',
      C: 'val',
      D: '',
      E: '',
      F: 'a\\nb',
      G: 'spaced',
      H: 'x=y',
    });
  });

  it('allows a comment after a closing quote but nothing else', () => {
    expect(kv('A="v" # c\nB=\'w\'   ')).toEqual({ A: 'v', B: 'w' });
    expect(() => parse('A="v" trailing')).toThrowError(/:1: unexpected characters after the closing quote/);
  });

  it('reads #KEY=value and # KEY=value as disabled keys', () => {
    expect(parse('#A=1\n# B="x y" # why\n#  export C=3\n')).toEqual([
      { key: 'A', value: '1', enabled: false, line: 1 },
      { key: 'B', value: 'x y', enabled: false, line: 2 },
      { key: 'C', value: '3', enabled: false, line: 3 },
    ]);
  });

  it('treats other comments as prose', () => {
    const prose = [
      '# Timeout = 30s', // blank before =
      '# see https://example.com/?a=b', // no identifier directly before =
      '## A=1', // doubled hash
      '# 1A=2', // not an identifier
      '# NOTE="unterminated', // value does not parse
      '#',
      '# plain words',
    ];
    expect(parse(prose.join('\n'))).toEqual([]);
  });

  it('resolves repeated keys: active beats commented, later commented wins, two active is an error', () => {
    expect(parse('A=new\n#A=old')).toEqual([{ key: 'A', value: 'new', enabled: true, line: 1 }]);
    expect(parse('#A=old\nA=new')).toEqual([{ key: 'A', value: 'new', enabled: true, line: 2 }]);
    expect(parse('#A=1\n#A=2')).toEqual([{ key: 'A', value: '2', enabled: false, line: 2 }]);
    try {
      parse('A=1\nB=2\nA=3');
      expect.unreachable();
    } catch (e) {
      expect(isSmcError(e, 'DuplicateKey')).toBe(true);
      expect((e as Error).message).toContain('lines 1 and 3');
    }
  });

  it('refuses malformed lines with file and line number only', () => {
    const cases: Array<[string, RegExp]> = [
      ['A=1\njust-a-value', /application\.secrets\.env:2: expected KEY=value$/],
      ['1BAD=x', /:1: invalid key name$/],
      ['A B=x', /:1: invalid key name$/],
      ['A="open', /:1: unterminated double-quoted value$/],
      ["A='open", /:1: unterminated single-quoted value$/],
    ];
    for (const [text, re] of cases) {
      try {
        parse(text);
        expect.unreachable(text);
      } catch (e) {
        expect(isSmcError(e, 'ParseError')).toBe(true);
        expect((e as Error).message).toMatch(re);
      }
    }
  });

  it('ignores a byte order mark and handles a missing final newline', () => {
    expect(kv('\uFEFFA=1\nB=2')).toEqual({ A: '1', B: '2' });
  });
});
