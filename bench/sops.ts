/**
 * Benchmark: in-process SOPS decryption vs. one `sops -d` child process per file.
 *
 * Encrypts three sets of files with the real sops and a fresh age key in a temporary directory:
 *   small  mixed small files (YAML, JSON, dotenv, INI, binary), a few values each
 *   large  YAML and JSON files with 2,000 values each
 *   deep   YAML and JSON files nested 100 levels deep with 40-character keys (long key paths:
 *          the additional data of the deepest value is about 4 KB)
 * then decrypts every set in-process with one keyring (sequentially, and with `--concurrency`
 * files in flight), and with one `sops -d` per file, in the same run. The in-process figure is the
 * best of `--rounds` passes (the machine is shared; the best pass is the least disturbed one).
 * Prints ms per file, files/s, the ratio to `sops -d`, and checks every output is identical to
 * what `sops -d` printed. Exits 1 when an output differs.
 *
 *   npm run bench:sops -- [--small 200] [--large 10] [--deep 20] [--rounds 5] [--concurrency 8]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pMap from 'p-map';
import { createKeyring, decryptSops, formatFromPath, type SopsKeyring } from '../src/sops/index.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '200' },
    large: { type: 'string', default: '10' },
    deep: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);

function peer(name: string): string {
  try {
    return execFileSync(join(REPO, 'scripts/peers'), ['path', name], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed; run "scripts/peers install ${name}"`);
  }
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SOPS_')) env[k] = v;
  return { ...env, ...extra };
}

interface Plain {
  name: string;
  body: string;
}

function small(i: number): Plain {
  switch (i % 5) {
    case 0:
      return {
        name: `svc-${i}.yaml`,
        body: `# service ${i}\ndatabase:\n  host: db-${i}.internal\n  port: ${5400 + i}\n  password: pw-${i}-${'x'.repeat(i % 17)}\nfeatures:\n  - a\n  - b\nenabled: true\nratio: 0.${i}\n`,
      };
    case 1:
      return {
        name: `svc-${i}.json`,
        body: JSON.stringify(
          { api_key: `key-${i}`, retries: i, nested: { token: `t-${i}`, list: [1, 2, i] } },
          null,
          2,
        ),
      };
    case 2:
      return {
        name: `svc-${i}.env`,
        body: `# env ${i}\nAPI_KEY=key-${i}\nDB_URL=postgres://u:p@db/${i}\nDEBUG=false\n`,
      };
    case 3:
      return {
        name: `svc-${i}.ini`,
        body: `[server]\nhost = h${i}\nport = ${8000 + i}\n\n[auth]\nsecret = s-${i}\n`,
      };
    default:
      return {
        name: `svc-${i}.txt`,
        body: `-----BEGIN CERT ${i}-----\n${'QUJD'.repeat(16)}\n-----END CERT-----\n`,
      };
  }
}

/** 400 services × 5 values = 2,000 values. */
function large(i: number): Plain {
  const doc: Record<string, Record<string, string | number | boolean>> = {};
  for (let s = 0; s < 400; s++) {
    doc[`service_${s}`] = {
      host: `svc-${s}.ns-${i}.svc.cluster.local`,
      port: 8000 + s,
      password: `pw-${i}-${s}-${'y'.repeat(s % 23)}`,
      token: `tok-${s}-${i}`.repeat(3),
      enabled: s % 2 === 0,
    };
  }
  return i % 2 === 0
    ? { name: `large-${i}.json`, body: JSON.stringify(doc, null, 2) }
    : {
        name: `large-${i}.yaml`,
        body: Object.entries(doc)
          .map(
            ([k, v]) =>
              `${k}:\n${Object.entries(v)
                .map(([kk, vv]) => `  ${kk}: ${typeof vv === 'string' ? JSON.stringify(vv) : String(vv)}\n`)
                .join('')}`,
          )
          .join(''),
      };
}

/** 100 levels of 40-character keys, a value at every level. */
function deep(i: number): Plain {
  const DEPTH = 100;
  const key = (d: number) => `level_${String(d).padStart(3, '0')}_${'k'.repeat(30)}`;
  if (i % 2 === 0) {
    let node: Record<string, unknown> = { leaf: `secret-${i}-bottom` };
    for (let d = DEPTH - 1; d >= 0; d--) node = { [`value_${d}`]: `v-${i}-${d}`, [key(d)]: node };
    return { name: `deep-${i}.json`, body: JSON.stringify(node) };
  }
  let body = '';
  for (let d = 0; d < DEPTH; d++) {
    const pad = '  '.repeat(d);
    body += `${pad}value_${d}: v-${i}-${d}\n${pad}${key(d)}:\n`;
  }
  body += `${'  '.repeat(DEPTH)}leaf: secret-${i}-bottom\n`;
  return { name: `deep-${i}.yaml`, body };
}

interface FileSet {
  label: string;
  files: string[];
  contents: Buffer[];
  bytes: number;
}

function encryptSet(
  label: string,
  count: number,
  gen: (i: number) => Plain,
  dir: string,
  sops: string,
  recipient: string,
): FileSet {
  const files: string[] = [];
  const contents: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const { name, body } = gen(i);
    const path = join(dir, name);
    writeFileSync(path, body);
    const enc = execFileSync(sops, ['-e', '--age', recipient, path], { env: cleanEnv({}), cwd: dir });
    writeFileSync(path, enc);
    files.push(path);
    contents.push(enc);
  }
  return { label, files, contents, bytes: contents.reduce((n, c) => n + c.length, 0) };
}

const decryptOne = (set: FileSet, keyring: SopsKeyring, i: number) =>
  decryptSops(set.contents[i]!, { format: formatFromPath(set.files[i]!), keyring, fileName: set.files[i]! });

/** Best of ROUNDS passes over the set, one file after the other: ms per file. */
async function sequential(set: FileSet, keyring: SopsKeyring): Promise<{ ms: number; out: Uint8Array[] }> {
  let best = Infinity;
  let out: Uint8Array[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    const got: Uint8Array[] = [];
    for (let i = 0; i < set.files.length; i++) got.push(await decryptOne(set, keyring, i));
    best = Math.min(best, performance.now() - t);
    out = got;
  }
  return { ms: best / set.files.length, out };
}

/** Best of ROUNDS passes with CONCURRENCY files in flight: ms per file. */
async function concurrent(set: FileSet, keyring: SopsKeyring): Promise<number> {
  let best = Infinity;
  const idx = set.files.map((_, i) => i);
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await pMap(idx, (i) => decryptOne(set, keyring, i), { concurrency: CONCURRENCY });
    best = Math.min(best, performance.now() - t);
  }
  return best / set.files.length;
}

function sopsPerFile(set: FileSet, sops: string, keyFile: string): { ms: number; out: Buffer[] } {
  const env = cleanEnv({ SOPS_AGE_KEY_FILE: keyFile });
  const t = performance.now();
  const out = set.files.map((f) => execFileSync(sops, ['-d', f], { env, maxBuffer: 1 << 30 }));
  return { ms: (performance.now() - t) / set.files.length, out };
}

const fmt = (ms: number) => (ms >= 10 ? ms.toFixed(1) : ms.toFixed(3));

async function main(): Promise<void> {
  const sops = peer('sops');
  const ageKeygen = peer('age');
  const dir = mkdtempSync(join(tmpdir(), 'sops-bench-'));
  try {
    const keyFile = join(dir, 'age.txt');
    execFileSync(ageKeygen, ['-o', keyFile], { stdio: 'ignore' });
    const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))![1] as string;

    process.stdout.write('encrypting the files with sops ... ');
    const t0 = performance.now();
    const sets = [
      encryptSet('small', Number(args.small), small, dir, sops, recipient),
      encryptSet('large', Number(args.large), large, dir, sops, recipient),
      encryptSet('deep', Number(args.deep), deep, dir, sops, recipient),
    ].filter((s) => s.files.length > 0);
    console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const keyring = await createKeyring({ age: [readFileSync(keyFile, 'utf8')] });
    // Warm-up (JIT, lazy module initialisation), not timed.
    for (const set of sets)
      for (let i = 0; i < Math.min(10, set.files.length); i++) await decryptOne(set, keyring, i);

    console.log(
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; best of ${ROUNDS} in-process passes, concurrency ${CONCURRENCY}`,
    );
    console.log('');
    console.log(
      '| set | files | KiB/file | in-process ms/file | concurrent ms/file | sops -d ms/file | files/s in-process | ratio |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    let differ = 0;
    for (const set of sets) {
      const seq = await sequential(set, keyring);
      const conc = await concurrent(set, keyring);
      const theirs = sopsPerFile(set, sops, keyFile);
      const bad = set.files.filter((_, i) => !Buffer.from(seq.out[i]!).equals(theirs.out[i]!)).length;
      differ += bad;
      console.log(
        `| ${set.label} | ${set.files.length} | ${(set.bytes / set.files.length / 1024).toFixed(1)} | ${fmt(seq.ms)} | ${fmt(conc)} | ${fmt(theirs.ms)} | ${(1000 / seq.ms).toFixed(0)} | **${(theirs.ms / seq.ms).toFixed(1)}×** |`,
      );
      if (bad > 0) console.log(`  ${bad} ${set.label} output(s) differ from sops -d`);
    }
    console.log('');
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(`outputs: ${differ === 0 ? 'all identical to sops -d' : `${differ} differ from sops -d`}`);
    if (differ > 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
