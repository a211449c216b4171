/**
 * Files encrypted at test time with the real sops (fresh age and PGP keys) must decrypt to exactly
 * what the real `sops -d` prints: every format, the encryption-rule options, several recipients,
 * a multi-identity keyring and Shamir key groups.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import {
  createKeyring,
  decryptSops,
  formatFromPath,
  isSopsEncrypted,
  type SopsKeyring,
} from '../../src/sops/index.js';
import {
  APP_ENV,
  APP_INI,
  BLOB,
  COMMENTS_YAML,
  EDGE_YAML,
  LIST_COMMENTS_YAML,
  MULTI_DOC_YAML,
  RICH_JSON,
  RICH_YAML,
  RULES_YAML,
} from './fixtures.js';
import { type Workspace, createWorkspace, gpgBatchKey, sopsDecrypt, sopsEncrypt } from './helpers.js';

let ws: Workspace;
let ageAll: SopsKeyring;
let pgpOnly: SopsKeyring;

beforeAll(async () => {
  ws = createWorkspace();
  ageAll = await createKeyring({ age: ws.age.map((a) => readFileSync(a.file, 'utf8')) });
  pgpOnly = await createKeyring({ pgp: [ws.pgpArmored] });
});

afterAll(() => ws?.cleanup());

/** Encrypts with sops, then checks our decryption against `sops -d` byte for byte. */
async function check(
  name: string,
  plain: string | Uint8Array,
  args: (w: Workspace) => string[],
  keyring: () => SopsKeyring,
  opts: { config?: (w: Workspace) => string; ageKeyFile?: number } = {},
): Promise<Buffer> {
  const { path, content } = sopsEncrypt(ws, name, plain, args(ws), opts.config?.(ws));
  const format = formatFromPath(name);
  expect(isSopsEncrypted(content, format)).toBe(true);
  const expected = sopsDecrypt(ws, path, { ageKeyFile: ws.age[opts.ageKeyFile ?? 0]?.file });
  const actual = Buffer.from(await decryptSops(content, { format, keyring: keyring(), fileName: name }));
  if (!actual.equals(expected)) {
    // Show a readable diff on failure.
    expect(actual.toString('utf8')).toBe(expected.toString('utf8'));
  }
  expect(actual.equals(expected)).toBe(true);
  return actual;
}

const age1 = (w: Workspace): string[] => ['--age', w.age[0]!.recipient];
const pgp = (w: Workspace): string[] => ['--pgp', w.pgpFingerprint];

describe('round trip through the real sops: YAML', () => {
  it('rich document (nested maps, lists, numbers, bools, nulls, comments, unicode, block scalars) with age', async () => {
    const out = await check('rich.yaml', RICH_YAML, age1, () => ageAll);
    const text = out.toString('utf8');
    // Sanity: real plaintext came back, in sops' normalised form.
    expect(text).toContain('unicode: "héllo wörld ✓ 日本語 \\U0001F389"');
    expect(text).toContain('int_float: 1.234567e+06');
    expect(text).toContain('date: 2024-01-02T00:00:00Z');
    expect(text).toContain('!!merge <<:');
    expect(text).toContain('password_unencrypted: clear text');
  });

  it('rich document with PGP', async () => {
    await check('rich-pgp.yaml', RICH_YAML, pgp, () => pgpOnly);
  });

  it('comments in every position', async () => {
    await check('comments.yaml', COMMENTS_YAML, age1, () => ageAll);
  });

  it('several documents', async () => {
    await check('multi.yaml', MULTI_DOC_YAML, age1, () => ageAll);
  });

  it('strings that need quoting or escaping, odd keys', async () => {
    await check('edge.yml', EDGE_YAML, age1, () => ageAll);
  });

  const rules: [string, string[]][] = [
    ['encrypted_regex', ['--encrypted-regex', '^(data|stringData)']],
    ['encrypted_regex with a (?i) flag', ['--encrypted-regex', '(?i)^DATA$']],
    ['unencrypted_regex', ['--unencrypted-regex', '^(metadata|count)$']],
    ['encrypted_suffix', ['--encrypted-suffix', '_enc']],
    ['unencrypted_suffix', ['--unencrypted-suffix', '_clear']],
    ['encrypted_comment_regex', ['--encrypted-comment-regex', 'sops:enc']],
    ['unencrypted_comment_regex', ['--unencrypted-comment-regex', 'sops:nocrypt']],
    ['mac_only_encrypted', ['--encrypted-regex', '^data$', '--mac-only-encrypted']],
  ];
  for (const [label, flags] of rules) {
    it(`respects ${label}`, async () => {
      const out = await check(
        `rules-${label.replace(/\W+/g, '_')}.yaml`,
        RULES_YAML,
        (w) => [...age1(w), ...flags],
        () => ageAll,
      );
      expect(out.toString()).toContain('password: secret1');
    });
  }

  it('a file sops itself cannot verify (comments inside a list) is refused the same way, and matches with ignoreMac', async () => {
    const { path, content } = sopsEncrypt(ws, 'list-comments.yaml', LIST_COMMENTS_YAML, age1(ws));
    expect(() => sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file })).toThrow();
    const err = await decryptSops(content, {
      format: 'yaml',
      keyring: ageAll,
      fileName: 'list-comments.yaml',
    }).catch((e: unknown) => e);
    expect(isSmcError(err, 'SopsMacMismatch')).toBe(true);
    const expected = sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file, ignoreMac: true });
    const actual = await decryptSops(content, {
      format: 'yaml',
      keyring: ageAll,
      fileName: 'list-comments.yaml',
      ignoreMac: true,
    });
    expect(Buffer.from(actual).equals(expected)).toBe(true);
  });
});

describe('round trip through the real sops: other formats', () => {
  it('JSON with age', async () => {
    const out = await check('rich.json', RICH_JSON, age1, () => ageAll);
    expect(out.toString()).toContain('"html": "\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e"');
  });

  it('JSON with PGP and encrypted_regex', async () => {
    await check(
      'rich-pgp.json',
      RICH_JSON,
      (w) => [...pgp(w), '--encrypted-regex', '^(nested|list)$'],
      () => pgpOnly,
    );
  });

  it('dotenv with age', async () => {
    const out = await check('app.env', APP_ENV, age1, () => ageAll);
    expect(out.toString()).toContain('C=multi\\nline\n');
  });

  it('dotenv with PGP and unencrypted_suffix', async () => {
    await check(
      'app-pgp.env',
      APP_ENV,
      (w) => [...pgp(w), '--unencrypted-suffix', '_unencrypted'],
      () => pgpOnly,
    );
  });

  it('INI with age', async () => {
    const out = await check('app.ini', APP_INI, age1, () => ageAll);
    expect(out.toString()).toContain('[section one]\nkey     = value\n');
  });

  it('INI with PGP and encrypted_regex', async () => {
    await check(
      'app-pgp.ini',
      APP_INI,
      (w) => [...pgp(w), '--encrypted-regex', '^key'],
      () => pgpOnly,
    );
  });

  it('binary (not UTF-8) with age', async () => {
    const out = await check('blob.bin', BLOB, age1, () => ageAll);
    expect(out.equals(BLOB)).toBe(true);
  });

  it('INI and YAML with an ECC PGP key (ed25519/cv25519)', async () => {
    const ecc = gpgBatchKey(ws.gnupgHome, 'sops-ecc', 'ecc');
    const kr = await createKeyring({ pgp: [ecc.armored] });
    await check(
      'ecc.ini',
      APP_INI,
      () => ['--pgp', ecc.fingerprint],
      () => kr,
    );
    await check(
      'ecc.yaml',
      RULES_YAML,
      () => ['--pgp', ecc.fingerprint],
      () => kr,
    );
  });

  it('binary text file with PGP', async () => {
    const out = await check('notes.txt', RICH_YAML, pgp, () => pgpOnly);
    expect(out.toString('utf8')).toBe(RICH_YAML);
  });
});

describe('recipients, keyrings and key groups', () => {
  it('a file for several recipients decrypts with any one of them', async () => {
    const args = (w: Workspace): string[] => [
      '--age',
      `${w.age[0]!.recipient},${w.age[1]!.recipient}`,
      ...pgp(w),
    ];
    const onlySecond = async (): Promise<SopsKeyring> =>
      createKeyring({ age: [readFileSync(ws.age[1]!.file, 'utf8')] });
    const second = await onlySecond();
    const { path, content } = sopsEncrypt(ws, 'multi-recipient.yaml', RICH_YAML, args(ws));
    const expected = sopsDecrypt(ws, path, { ageKeyFile: ws.age[1]!.file });
    for (const kr of [second, pgpOnly]) {
      const actual = await decryptSops(content, {
        format: 'yaml',
        keyring: kr,
        fileName: 'multi-recipient.yaml',
      });
      expect(Buffer.from(actual).equals(expected)).toBe(true);
    }
  });

  it('a keyring with several identities (one age file holding two keys, plus PGP) finds the right one', async () => {
    const twoInOne = readFileSync(ws.age[0]!.file, 'utf8') + '\n' + readFileSync(ws.age[2]!.file, 'utf8');
    const kr = await createKeyring({ age: [twoInOne], pgp: [ws.pgpArmored] });
    expect(kr.age).toHaveLength(2);
    await check(
      'third.env',
      APP_ENV,
      (w) => ['--age', w.age[2]!.recipient],
      () => kr,
      { ageKeyFile: 2 },
    );
  });

  it('Shamir key groups: any 2 of 3 groups decrypt, 1 is refused', async () => {
    const config = (w: Workspace): string =>
      [
        'creation_rules:',
        '  - shamir_threshold: 2',
        '    key_groups:',
        `      - age: [${w.age[0]!.recipient}]`,
        `      - age: [${w.age[1]!.recipient}]`,
        `      - pgp: [${w.pgpFingerprint}]`,
        '',
      ].join('\n');
    const { path, content } = sopsEncrypt(ws, 'shamir.yaml', RULES_YAML, [], config(ws));
    const expected = sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file });
    const a0 = readFileSync(ws.age[0]!.file, 'utf8');
    const a1 = readFileSync(ws.age[1]!.file, 'utf8');
    for (const kr of [
      await createKeyring({ age: [a0, a1] }),
      await createKeyring({ age: [a1], pgp: [ws.pgpArmored] }),
    ]) {
      const actual = await decryptSops(content, { format: 'yaml', keyring: kr, fileName: 'shamir.yaml' });
      expect(Buffer.from(actual).equals(expected)).toBe(true);
    }
    const err = await decryptSops(content, {
      format: 'yaml',
      keyring: await createKeyring({ age: [a1] }),
      fileName: 'shamir.yaml',
    }).catch((e: unknown) => e);
    expect(isSmcError(err, 'SopsNoMatchingKey')).toBe(true);
    expect((err as Error).message).toMatch(/1 opened, 2 of 3 needed/);
  });
});
