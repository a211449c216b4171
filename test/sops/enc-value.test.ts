/**
 * Reading `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` values: the same fields as sops' Go regular
 * expression `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` picks (greedy groups,
 * "." not matching a newline), in time linear in the value. A backtracking regular expression
 * takes exponential-looking time on a value with many `,iv:` / `,tag:` / `,type:` and no `]`:
 * a few kilobytes in one file of the Git source stalled the process for minutes.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { CipherError, decryptValue, parseEncValue } from '../../src/sops/cipher.js';
import { createKeyring, decryptSops } from '../../src/sops/index.js';
import { type Workspace, createWorkspace, sopsEncrypt } from './helpers.js';

const PREFIX = 'ENC[AES256_GCM,data:';
const hostile = (n: number): string => PREFIX + ',iv:,tag:,type:'.repeat(n);

/** What Go's regexp (leftmost-first, greedy) captures, via JavaScript's backtracking engine. */
function goCaptures(v: string): string[] | null {
  // JavaScript's "." also refuses \r, U+2028 and U+2029; the generated inputs hold none of them.
  const m = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/.exec(v);
  return m ? m.slice(1, 5) : null;
}

describe('ENC value syntax', () => {
  it('picks the same fields as the Go regular expression', () => {
    const piece = fc.constantFrom(',iv:', ',tag:', ',type:', ']', 'a', 'Zm9v', '=', ',', ':', '\n', 'é');
    const text = fc.array(piece, { maxLength: 4 }).map((p) => p.join(''));
    // Mostly well-formed shapes whose fields hold delimiters of their own, some scrambled.
    const shaped = fc
      .tuple(text, text, text, text, text, fc.boolean())
      .map(
        ([a, b, c, d, tail, close]) => `${PREFIX}${a},iv:${b},tag:${c},type:${d}${close ? ']' : ''}${tail}`,
      );
    const scrambled = fc.array(piece, { maxLength: 14 }).map((p) => PREFIX + p.join(''));
    let matched = 0;
    fc.assert(
      fc.property(fc.oneof(shaped, shaped, scrambled), (v) => {
        const got = parseEncValue(v);
        const want = goCaptures(v);
        if (want !== null) matched++;
        expect(got === null ? null : [got.data, got.iv, got.tag, got.type]).toEqual(want);
      }),
      { numRuns: 5000, seed: 20261207 },
    );
    expect(matched).toBeGreaterThan(300); // the property is not only about refusals
    expect(parseEncValue('ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]')).toEqual({
      data: 'a',
      iv: 'b',
      tag: 'c',
      type: 'str',
    });
  });

  it('refuses a hostile value of 30 KB as malformed', () => {
    const v = hostile(2000);
    expect(parseEncValue(v)).toBeNull();
    expect(() => decryptValue(v, Buffer.alloc(32), 'a:')).toThrow(CipherError);
    // With a closing bracket it is well-formed (the fields then fail as base64).
    expect(parseEncValue(`${v}]`)?.type).toBe(',iv:,tag:,type:');
    expect(() => decryptValue(`${v}]`, Buffer.alloc(32), 'a:')).toThrow(CipherError);
  });
});

describe('a hostile value in a sops file', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = createWorkspace('sops-enc-');
  });
  afterAll(() => ws?.cleanup());

  it('is refused as SopsCorruptValue naming its key', async () => {
    const { content } = sopsEncrypt(ws, 'app.json', '{"db": {"password": "canary-value"}}', [
      '--age',
      ws.age[0]!.recipient,
    ]);
    const text = content.toString().replace(/"password": "ENC\[[^"]*"/, `"password": "${hostile(2000)}"`);
    expect(text).toContain(hostile(2000));
    const keyring = await createKeyring({ age: [readFileSync(ws.age[0]!.file, 'utf8')] });
    const err = await decryptSops(text, { format: 'json', keyring, fileName: 'app.json' }).catch(
      (e: unknown) => e,
    );
    expect(isSmcError(err, 'SopsCorruptValue')).toBe(true);
    expect((err as Error).message).toContain('app.json');
    expect((err as Error).message).toContain('db:password');
  });
});
