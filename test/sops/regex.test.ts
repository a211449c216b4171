/**
 * sops' encrypted_regex & co. are Go regular expressions (`regexp.Match`: RE2 syntax, an unanchored
 * search, linear time). Ours must agree with Go on every (pattern, input) pair — checked against Go
 * itself (test/sops/goregexp, built by `scripts/peers install goregexp`) on known probes and on a
 * generated set — and must never backtrack: a hostile pattern in a file's metadata cannot stall the
 * event loop.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { createKeyring, decryptSops, type SopsKeyring } from '../../src/sops/index.js';
import { goRegexMatch } from '../../src/sops/regex.js';
import { peerPath } from '../peers.js';
import { type Workspace, createWorkspace, sopsDecrypt, sopsEncrypt } from './helpers.js';

interface Case {
  pattern: string;
  input: string;
}

/** Go's verdict per case: `true`/`false`, or `'error'` for a pattern Go refuses. */
type Verdict = boolean | 'error';

function goVerdicts(cases: readonly Case[]): Verdict[] {
  const out = execFileSync(peerPath('goregexp'), {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(out) as { match?: boolean; error?: string }[]).map((r) =>
    r.error !== undefined ? 'error' : r.match === true,
  );
}

function ourVerdict(c: Case): Verdict {
  try {
    return goRegexMatch(c.pattern, c.input);
  } catch {
    return 'error';
  }
}

/** The cases where we and Go disagree, shown with both verdicts (JSON, so control characters are visible). */
function disagreements(cases: readonly Case[]): string[] {
  const go = goVerdicts(cases);
  return cases.flatMap((c, i) => {
    const ours = ourVerdict(c);
    return ours === go[i] ? [] : [`${JSON.stringify(c)}: go ${go[i]}, ours ${ours}`];
  });
}

describe('Go regular expressions: agreement with Go', () => {
  it('agrees on the probes where a JavaScript emulation differs', () => {
    const probes: Case[] = [
      { pattern: '\\pL', input: 'é' },
      { pattern: '^\\pL+$', input: 'Straße' },
      { pattern: '\\p{Greek}', input: 'λ' },
      { pattern: '\\PL', input: 'é' },
      // Go 1.25+: \p names ignore case and separators, long category names, ASCII.
      { pattern: '\\p{greek}', input: 'λ' },
      { pattern: '\\pl', input: 'x' },
      { pattern: '\\p{Letter}', input: 'x' },
      { pattern: '\\p{uppercase letter}', input: 'X' },
      { pattern: '\\p{ascii}', input: 'é' },
      { pattern: '(?i)\\p{ASCII}', input: '\u212a' },
      { pattern: '[\\P{ascii}x]', input: 'é' },
      { pattern: '\\P{^Greek}', input: 'λ' },
      { pattern: '\\p{^Ll}', input: 'A' },
      { pattern: '\\p{Old_Italic}', input: 'a' },
      { pattern: '\\p{Any}', input: '\n' },
      { pattern: '\\p{Assigned}', input: 'a' },
      { pattern: '\\p{lc}', input: 'a' },
      { pattern: '\\p{cntrl}', input: '\t' },
      { pattern: '\\p{Nope}', input: 'a' },
      { pattern: '\\\\p{L}', input: '\\p{L}' },
      { pattern: '\\s', input: '\v' },
      { pattern: '\\s', input: '\u00a0' },
      { pattern: '\\s', input: '\f' },
      { pattern: '^.$', input: '\r' },
      { pattern: '^.$', input: '\n' },
      { pattern: '(?s)^.$', input: '\n' },
      { pattern: '^.$', input: '😀' },
      { pattern: '(?U)^a+$', input: 'aa' },
      { pattern: '(?U)a+?b', input: 'aab' },
      { pattern: '\\d', input: '٣' },
      { pattern: '\\w', input: 'é' },
      { pattern: '\\b', input: 'é' },
      { pattern: '(?i)k', input: '\u212a' },
      { pattern: '(?i)σ', input: 'ς' },
      { pattern: '(?i)ß', input: 'ẞ' },
      { pattern: '[[:word:]]', input: '_' },
      { pattern: '[[:^alpha:]]', input: 'a' },
      { pattern: '\\Qa.b\\E', input: 'axb' },
      { pattern: '^pass\\z', input: 'password' },
      { pattern: '\\Apass', input: 'password' },
      { pattern: '(?m)^b$', input: 'a\nb' },
      { pattern: '$', input: 'a\n' },
      { pattern: '(?P<n>x)', input: 'x' },
      { pattern: '(?<n>x)', input: 'x' },
      { pattern: '(?P<n>a)|(?P<n>b)', input: 'b' },
      { pattern: '[(?P<n>]|(?P<n>b)(?P<n>c)', input: 'bc' },
      { pattern: '\\Q(?P<n>\\E(?P<n>x)(?P<n>y)', input: '(?P<n>xy' },
      { pattern: '(?P<n>a)(?P<n-x>b)', input: 'ab' },
      { pattern: '\\x{1F600}', input: '😀' },
      { pattern: '[\\x{1F600}-\\x{1F64F}]', input: '🙂' },
      // Refused by Go: lookaround, backreferences, possessive quantifiers, \C, \Z, huge counts.
      { pattern: '(?=a)', input: 'a' },
      { pattern: '(a)\\1', input: 'aa' },
      { pattern: 'a++', input: 'a' },
      { pattern: '\\C', input: 'a' },
      { pattern: 'a\\Z', input: 'a' },
      { pattern: 'a{1001}', input: 'a' },
      { pattern: '(', input: '' },
      { pattern: '[z-a]', input: '' },
      { pattern: '\\8', input: '8' },
      { pattern: '[[:nope:]]', input: '' },
      { pattern: '(?x)a b', input: 'ab' },
    ];
    expect(disagreements(probes)).toEqual([]);
  });

  it('agrees on a generated set of patterns and inputs', () => {
    const atom = fc.constantFrom(
      'a',
      'b',
      'A',
      'é',
      'ß',
      'k',
      'σ',
      '.',
      '\\.',
      '\\d',
      '\\D',
      '\\w',
      '\\W',
      '\\s',
      '\\S',
      '\\pL',
      '\\PL',
      '\\p{Lu}',
      '\\p{Greek}',
      '\\pN',
      '\\b',
      '\\B',
      '^',
      '$',
      '\\A',
      '\\z',
      '[a-c]',
      '[^a]',
      '[[:alpha:]]',
      '[[:^space:]]',
      '[[:punct:]]',
      '[\\s\\d]',
      '\\x41',
      '\\x{e9}',
      '\\t',
      '\\n',
      '\\r',
      '\\v',
      '\\Qa.\\E',
      '_',
      '-',
    );
    const quantifier = fc.constantFrom('', '', '', '*', '+', '?', '*?', '+?', '??', '{2}', '{1,3}', '{2,}');
    const flags = fc.constantFrom('', '', '', '(?i)', '(?s)', '(?m)', '(?U)', '(?is)', '(?iU)', '(?-s)');
    const pattern: fc.Arbitrary<string> = fc.letrec<{ re: string }>((tie) => ({
      re: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.tuple(atom, quantifier).map(([a, q]) => a + q),
        fc.array(tie('re'), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')),
        fc.tuple(tie('re'), tie('re')).map(([a, b]) => `${a}|${b}`),
        fc
          .tuple(fc.constantFrom('(', '(?:', '(?P<g>', '(?i:', '(?U:'), tie('re'), quantifier)
          .map(([open, inner, q]) => `${open}${inner})${q}`),
      ),
    })).re;
    const input = fc
      .array(
        fc.constantFrom(
          'a',
          'b',
          'A',
          'B',
          'é',
          'É',
          'ß',
          'ẞ',
          'k',
          'K',
          '\u212a',
          'σ',
          'ς',
          'Σ',
          'λ',
          '😀',
          '٣',
          '1',
          '_',
          '.',
          '-',
          ' ',
          '\t',
          '\n',
          '\r',
          '\v',
          '\f',
          '\u00a0',
          '\u2028',
        ),
        { maxLength: 8 },
      )
      .map((cs) => cs.join(''));
    // Arbitrary pattern text too: Go and we must refuse the same ones.
    const rawPattern = fc
      .array(fc.constantFrom(...'ab()[]{}|*+?.^$\\-:,0123456789PpLdswzQEx<>=!?iUms'.split('')), {
        maxLength: 10,
      })
      .map((cs) => cs.join(''));
    const caseArb = fc.record({
      pattern: fc.oneof(
        { weight: 4, arbitrary: fc.tuple(flags, pattern).map(([f, p]) => f + p) },
        { weight: 1, arbitrary: rawPattern },
      ),
      input,
    });
    const seed = Date.now();
    const cases = fc.sample(caseArb, { numRuns: Number(process.env.REGEX_CASES ?? 4000), seed });
    expect(disagreements(cases), `fast-check seed ${seed}`).toEqual([]);
  });
});

describe('Go regular expressions: linear time', () => {
  it('a catastrophic-backtracking pattern on a long key finishes', () => {
    expect(goRegexMatch('(a+)+$', 'a'.repeat(100_000) + 'b')).toBe(false);
    expect(goRegexMatch('^(a|a?)+$', 'a'.repeat(100_000) + 'b')).toBe(false);
    expect(goRegexMatch('(x+x+)+y', 'x'.repeat(100_000))).toBe(false);
  });
});

describe('sops files whose metadata carries a hostile or invalid regular expression', () => {
  let ws: Workspace;
  let keyring: SopsKeyring;
  const CANARY = 'CANARY-4d1e-regex-VALUE';

  beforeAll(async () => {
    ws = createWorkspace('sops-regex-');
    keyring = await createKeyring({ age: [readFileSync(ws.age[0]!.file, 'utf8')] });
  });
  afterAll(() => ws?.cleanup());

  it('(a+)+$ with a key of 28 a and a b: decrypts as sops does, without stalling', async () => {
    const hostileKey = 'a'.repeat(28) + 'b';
    const plain = `${hostileKey}: clear\npassword_aaa: ${CANARY}\n`;
    const { path, content } = sopsEncrypt(ws, 'hostile.yaml', plain, [
      '--age',
      ws.age[0]!.recipient,
      '--encrypted-regex',
      '(a+)+$',
    ]);
    expect(content.toString()).not.toContain(CANARY);
    const ours = await decryptSops(content, { format: 'yaml', keyring, fileName: 'hostile.yaml' });
    expect(Buffer.from(ours).equals(sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file }))).toBe(true);
  });

  for (const field of ['encrypted_regex', 'unencrypted_regex']) {
    it(`an invalid ${field} is refused naming the file and the field`, async () => {
      const { content } = sopsEncrypt(ws, 'invalid.yaml', `user: u\npassword: ${CANARY}\n`, [
        '--age',
        ws.age[0]!.recipient,
        '--encrypted-regex',
        '^password$',
      ]);
      const tampered = content.toString().replace(/encrypted_regex: .*/, `${field}: (?P<x`);
      expect(tampered).toContain(`${field}: (?P<x`);
      const err = await decryptSops(Buffer.from(tampered), {
        format: 'yaml',
        keyring,
        fileName: 'team-a/invalid.yaml',
      }).catch((e: unknown) => e);
      expect(isSmcError(err, 'SopsInvalidFile'), String(err)).toBe(true);
      const message = (err as Error).message;
      expect(message).toContain('team-a/invalid.yaml');
      expect(message).toContain(field);
      expect(message).toContain('(?P<x');
      expect(message).not.toContain(CANARY);
    });
  }
});
