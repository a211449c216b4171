/**
 * Long key paths through the real sops: a document nested 120 levels deep with long keys and a
 * value at every level, encrypted under each key-path and comment rule, decrypts to exactly
 * what `sops -d` prints. The tree walk decides the rules once per level (src/sops/tree.ts), so
 * this checks that a rule met high up still governs every value below it, and stops at its
 * level's next value.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, decryptSops, type SopsKeyring } from '../../src/sops/index.js';
import { type Workspace, createWorkspace, sopsDecrypt, sopsEncrypt } from './helpers.js';

const DEPTH = 120;
const key = (d: number): string => `level_${String(d).padStart(3, '0')}_${'k'.repeat(50)}`;

/** A chain of mappings with values, a rule-bearing key or comment here and there, and a list. */
function deepYaml(): string {
  let out = '';
  for (let d = 0; d < DEPTH; d++) {
    const pad = '  '.repeat(d);
    if (d === 10) out += `${pad}# sops:enc (governs only v_10)\n`;
    out += `${pad}v_${d}: value-${d}\n`;
    out += `${pad}n_${d}: ${d}\n`;
    if (d === 40) out += `${pad}block_clear:\n${pad}  inner: cleartext-${d}\n`;
    if (d === 80) out += `${pad}block_enc:\n${pad}  inner: secret-${d}\n`;
    // These govern everything below them.
    if (d === 20) out += `${pad}# sops:enc\n`;
    if (d === 60) out += `${pad}# sops:nocrypt\n`;
    out += `${pad}${key(d)}:\n`;
    if (d % 30 === 29) out += `${pad}  # a comment at level ${d + 1}\n`;
  }
  const pad = '  '.repeat(DEPTH);
  return `${out}${pad}leaf:\n${pad}  - first\n${pad}  - 2\n${pad}  - v_last: true\n`;
}

let ws: Workspace;
let keyring: SopsKeyring;

beforeAll(async () => {
  ws = createWorkspace('sops-keypath-');
  keyring = await createKeyring({ age: [readFileSync(ws.age[0]!.file, 'utf8')] });
});

afterAll(() => ws?.cleanup());

describe('long key paths', () => {
  const rules: [string, string[]][] = [
    ['no rule (the default unencrypted_suffix)', []],
    ['encrypted_regex', ['--encrypted-regex', '^(v_|leaf)']],
    ['unencrypted_regex', ['--unencrypted-regex', '^level_04']],
    ['encrypted_suffix', ['--encrypted-suffix', '_enc']],
    ['unencrypted_suffix', ['--unencrypted-suffix', '_clear']],
    ['encrypted_comment_regex', ['--encrypted-comment-regex', 'sops:enc']],
    ['unencrypted_comment_regex', ['--unencrypted-comment-regex', 'sops:nocrypt']],
  ];
  for (const [label, flags] of rules) {
    it(`${DEPTH} levels of ${key(0).length}-character keys with ${label}`, async () => {
      const { path, content } = sopsEncrypt(ws, 'deep.yaml', deepYaml(), [
        '--age',
        ws.age[0]!.recipient,
        ...flags,
      ]);
      const expected = sopsDecrypt(ws, path, { ageKeyFile: ws.age[0]!.file });
      const actual = Buffer.from(
        await decryptSops(content, { format: 'yaml', keyring, fileName: 'deep.yaml' }),
      );
      if (!actual.equals(expected)) expect(actual.toString()).toBe(expected.toString());
      expect(actual.equals(expected)).toBe(true);
      expect(actual.toString()).toContain(`${'  '.repeat(DEPTH + 1)}- v_last: true`);
    });
  }
});
