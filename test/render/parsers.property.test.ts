/**
 * Property-based tests (fast-check) for every parser and the SOPS tree walk: arbitrary input never
 * crashes with anything but our typed error, stays within the YAML bounds, and no value (a canary)
 * ever appears in an error message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { MAX_ALIAS_EXPANSION, MAX_YAML_DEPTH } from '../../src/limits/yaml.js';
import { parseEnv } from '../../src/render/env.js';
import { entriesFromBuildOutput } from '../../src/render/kustomize.js';
import { parseProperties } from '../../src/render/properties.js';
import { parseYaml } from '../../src/render/yaml.js';
import { loadDotenv } from '../../src/sops/dotenv.js';
import { loadIni } from '../../src/sops/ini.js';
import { loadJson } from '../../src/sops/json.js';
import { decryptBranches } from '../../src/sops/tree.js';
import { Branch, Comment, type TreeValue } from '../../src/sops/values.js';
import { loadYaml } from '../../src/sops/yaml.js';

const CANARY = 'Kanary7q';
const RUNS = { numRuns: 300 };

/** Text made of the characters that matter to these formats, plus canaries as values. */
const syntaxText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '\n',
        ' ',
        '  ',
        '\t',
        '#',
        ':',
        '=',
        '"',
        "'",
        '\\',
        '[',
        ']',
        '{',
        '}',
        ',',
        '-',
        '&a',
        '*a',
        '&b',
        '*b',
        '!!str',
        '<<',
        '---',
        '...',
        '|',
        '>',
        '?',
        ';',
        '`',
        '"""',
        'export ',
        'sops',
        'k',
        'key',
        '\r\n',
        '\u00e9',
      ),
      fc.constant(CANARY),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 80 },
  )
  .map((parts) => parts.join(''));

const anyText = fc.oneof(syntaxText, fc.string({ maxLength: 200, unit: 'binary' }));

/** Runs `parse`; the only failure allowed is an SmcError whose message holds no canary. */
function onlyTypedErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (e) {
    if (!isSmcError(e)) throw e;
    expect(e.message).not.toContain(CANARY);
  }
}

const textParsers: Array<[string, (text: string) => unknown]> = [
  ['render env', (t) => parseEnv(t, 'a.env')],
  ['render yaml', (t) => parseYaml(t, 'a.yaml')],
  ['render properties', (t) => parseProperties(t, 'a.properties')],
  ['kustomize output', (t) => entriesFromBuildOutput(t, 'overlay')],
  ['SOPS yaml', (t) => loadYaml(Buffer.from(t), 'a.yaml')],
  ['SOPS json', (t) => loadJson(Buffer.from(t), 'a.json')],
  ['SOPS dotenv', (t) => loadDotenv(Buffer.from(t), 'a.env')],
  ['SOPS ini', (t) => loadIni(Buffer.from(t), 'a.ini')],
];

describe.each(textParsers)('%s on arbitrary input', (_name, parse) => {
  it('returns or throws a typed error without the value in it', () => {
    fc.assert(
      fc.property(anyText, (t) => onlyTypedErrors(() => parse(t))),
      RUNS,
    );
  });
});

describe('YAML bounds', () => {
  /** `levels` anchors, each a list of `width` aliases of the one before: width^levels leaves. */
  const aliasTower = (levels: number, width: number) =>
    Array.from({ length: levels }, (_, i) =>
      i === 0
        ? `l0: &l0 [${Array(width).fill(`"${CANARY}"`).join(', ')}]`
        : `l${i}: &l${i} [${Array(width)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
    ).join('\n') + '\n';

  /** Nodes an expanding walk reaches through aliases in the tower. */
  const viaAliases = (levels: number, width: number) => {
    let size = width + 1; // l0's list and its scalars
    let total = 0;
    for (let i = 1; i < levels; i++) {
      total += width * size;
      size = width * size + 1;
    }
    return total;
  };

  it('every YAML reader accepts an alias tower within the limit and refuses one past it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 }), (levels, width) => {
        const text = aliasTower(levels, width);
        const within = viaAliases(levels, width) <= MAX_ALIAS_EXPANSION;
        for (const [, parse] of textParsers.filter(([n]) => /yaml|kustomize/.test(n))) {
          let err: unknown;
          try {
            parse(text);
          } catch (e) {
            err = e;
          }
          if (within) {
            expect(String(err ?? '')).not.toMatch(/alias/);
          } else {
            expect(isSmcError(err), String(err)).toBe(true);
            expect((err as Error).message).toMatch(/alias/);
            expect((err as Error).message).not.toContain(CANARY);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('every YAML reader refuses nesting past the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_YAML_DEPTH + 1, max: 5_000 }),
        fc.constantFrom('[', '{a: ', '- '),
        (depth, open) => {
          const text = 'k: ' + open.repeat(depth) + CANARY + '\n';
          for (const [, parse] of textParsers.filter(([n]) => /yaml|kustomize/.test(n))) {
            let err: unknown;
            try {
              parse(text);
            } catch (e) {
              err = e;
            }
            expect(isSmcError(err), String(err)).toBe(true);
            expect((err as Error).message).not.toContain(CANARY);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('SOPS tree walk', () => {
  const leaf: fc.Arbitrary<TreeValue> = fc.oneof(
    fc.constant(CANARY),
    fc.constant(`ENC[AES256_GCM,data:${CANARY},iv:x,tag:y,type:str]`),
    fc.string({ maxLength: 8 }),
    fc.boolean(),
    fc.constant(null),
  );
  const tree = fc.letrec<{ value: TreeValue; branch: Branch }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      leaf,
      tie('branch'),
      fc.array(
        fc.oneof(
          tie('value'),
          fc.string({ maxLength: 4 }).map((c) => new Comment(c)),
        ),
        { maxLength: 4 },
      ),
    ),
    branch: fc
      .array(
        fc.oneof(
          fc.record({ key: fc.string({ maxLength: 6 }), value: tie('value') }),
          fc.string({ maxLength: 6 }).map((c) => ({ key: new Comment(c), value: null as TreeValue })),
        ),
        { maxLength: 5 },
      )
      .map((items) => new Branch(items)),
  })).branch;

  it('decrypts or refuses with a typed error, never naming a value', () => {
    fc.assert(
      fc.property(tree, fc.boolean(), fc.constantFrom('', 'a', '_unencrypted'), (branch, macOnly, suffix) => {
        const rules = {
          unencryptedSuffix: suffix,
          encryptedSuffix: '',
          unencryptedRegex: '',
          encryptedRegex: '',
          unencryptedCommentRegex: '',
          encryptedCommentRegex: '',
          macOnlyEncrypted: macOnly,
        };
        onlyTypedErrors(() => decryptBranches([branch], rules, new Uint8Array(32), 'a.yaml'));
      }),
      RUNS,
    );
  });
});
