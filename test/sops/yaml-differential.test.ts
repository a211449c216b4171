/**
 * Randomized differential test of the YAML store: random documents (yaml-gen.ts) are encrypted
 * with the real sops, then decrypted by the real sops and by decryptSops; the outputs must be
 * byte-identical. When sops refuses its own file (comments inside lists break its MAC), we must
 * refuse it too, and match `sops -d --ignore-mac`.
 *
 * SOPS_YAML_DIFF_SEED and SOPS_YAML_DIFF_COUNT change the seed and the number of documents (a
 * bigger batch is worth running by hand after changing src/sops/yaml); SOPS_YAML_DIFF_DUMP names
 * a file that receives the summary and the mismatches.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { type SopsKeyring, createKeyring, decryptSops } from '../../src/sops/index.js';
import { childEnv, peerPath } from './helpers.js';
import { genYaml, seeded } from './yaml-gen.js';

const SEED = Number(process.env['SOPS_YAML_DIFF_SEED'] ?? 20240611);
const COUNT = Number(process.env['SOPS_YAML_DIFF_COUNT'] ?? 150);
const CONCURRENCY = 8;

/** Encryption rules, so that some values stay in clear text (their types count in the MAC). */
const RULES: string[][] = [
  [],
  ['--unencrypted-suffix', '_unencrypted'],
  ['--encrypted-regex', '^(data|stringData|a)$'],
  ['--encrypted-suffix', '_enc'],
  ['--unencrypted-regex', '^(name|label|key)$'],
  ['--encrypted-regex', '^data$', '--mac-only-encrypted'],
  ['--unencrypted-comment-regex', 'hash'],
];

let dir: string;
let sops: string;
let keyFile: string;
let recipient: string;
let keyring: SopsKeyring;

beforeAll(async () => {
  sops = peerPath('sops');
  dir = mkdtempSync(join(tmpdir(), 'sops-yaml-diff-'));
  keyFile = join(dir, 'age.txt');
  execFileSync(peerPath('age'), ['-o', keyFile], { stdio: 'ignore' });
  const key = readFileSync(keyFile, 'utf8');
  recipient = /public key: (age1[0-9a-z]+)/.exec(key)?.[1] ?? '';
  keyring = await createKeyring({ age: [key] });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  ok: boolean;
  out: Buffer;
}

function runSops(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      sops,
      args,
      {
        env: childEnv({ SOPS_AGE_KEY_FILE: keyFile, SOPS_DISABLE_VERSION_CHECK: '1' }),
        encoding: 'buffer',
        maxBuffer: 1 << 26,
      },
      (err, stdout) => resolve({ ok: !err, out: stdout }),
    );
  });
}

async function ours(
  content: Buffer,
  ignoreMac: boolean,
): Promise<{ ok: boolean; out: Buffer; err?: unknown }> {
  try {
    const out = await decryptSops(content, { format: 'yaml', keyring, fileName: 'diff.yaml', ignoreMac });
    return { ok: true, out: Buffer.from(out) };
  } catch (err) {
    return { ok: false, out: Buffer.alloc(0), err };
  }
}

type Outcome = 'equal' | 'refused-like-sops' | 'not-encryptable' | { mismatch: string };

async function check(seed: number): Promise<Outcome> {
  const r = seeded(seed);
  const plain = genYaml(r, { comments: 0.25, listComments: r() < 0.2 });
  const rules = RULES[seed % RULES.length] as string[];
  const path = join(dir, `case-${seed}.yaml`);
  writeFileSync(path, plain);
  const enc = await runSops(['-e', '--age', recipient, ...rules, path]);
  if (!enc.ok) return 'not-encryptable';
  writeFileSync(path, enc.out);
  const theirs = await runSops(['-d', path]);
  const mine = await ours(enc.out, false);
  const describe = (what: string): { mismatch: string } => ({
    mismatch: `seed ${seed} (rules: ${rules.join(' ') || 'none'}): ${what}\n--- plaintext:\n${plain}`,
  });
  if (theirs.ok) {
    if (!mine.ok) return describe(`we failed: ${String(mine.err)}`);
    if (!mine.out.equals(theirs.out)) {
      return describe(`outputs differ\n--- sops:\n${theirs.out}\n--- ours:\n${mine.out}`);
    }
    return 'equal';
  }
  // sops refuses its own file: we must refuse it too, and agree with --ignore-mac.
  if (mine.ok) return describe('sops refused the file, we did not');
  const theirsIgnoring = await runSops(['-d', '--ignore-mac', path]);
  const mineIgnoring = await ours(enc.out, true);
  if (theirsIgnoring.ok !== mineIgnoring.ok) return describe('with --ignore-mac, only one side decrypted');
  if (theirsIgnoring.ok && !theirsIgnoring.out.equals(mineIgnoring.out)) {
    return describe(
      `--ignore-mac outputs differ\n--- sops:\n${theirsIgnoring.out}\n--- ours:\n${mineIgnoring.out}`,
    );
  }
  if (!isSmcError(mine.err)) return describe(`we failed with a non-SmcError: ${String(mine.err)}`);
  return 'refused-like-sops';
}

describe('YAML: random documents through the real sops', () => {
  it(`decrypts ${COUNT} random documents (seed ${SEED}) exactly like sops -d`, async () => {
    const seeds = Array.from({ length: COUNT }, (_, i) => SEED + i);
    const outcomes: Outcome[] = new Array<Outcome>(seeds.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < seeds.length) {
          const i = next++;
          outcomes[i] = await check(seeds[i] as number);
        }
      }),
    );
    const mismatches = outcomes.flatMap((o) => (typeof o === 'object' ? [o.mismatch] : []));
    const count = (k: Outcome): number => outcomes.filter((o) => o === k).length;
    const summary = `equal ${count('equal')}, refused like sops ${count('refused-like-sops')}, not encryptable ${count('not-encryptable')}, mismatches ${mismatches.length}`;
    const dump = process.env['SOPS_YAML_DIFF_DUMP'];
    if (dump) writeFileSync(dump, [summary, ...mismatches].join('\n=====\n'));
    expect(mismatches.slice(0, 3), `first seed ${SEED}: ${summary}`).toEqual([]);
    // Most documents must actually go through both decryptions.
    expect(count('equal'), summary).toBeGreaterThan(COUNT * 0.6);
  }, 120_000);
});
