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
 * Prints wall-clock ms per file, and in brackets CPU ms per file (this process's, and the sops
 * children's from /proc/self/stat): on a loaded machine the CPU figures move less than the wall
 * clock. Then files/s, the ratio to `sops -d` (wall, and CPU in brackets), and checks every
 * output is identical to what `sops -d` printed. Exits 1 when an output differs.
 *
 *   npm run bench:sops -- [--small 200] [--large 10] [--deep 20] [--rounds 10] [--concurrency 8]
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
    rounds: { type: 'string', default: '10' },
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
  /** Extra `sops -e` arguments (encryption rules). */
  sopsArgs?: string[];
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

/** 100 levels of 40-character keys, a value at every level; the YAML ones with encrypted_regex. */
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
  // A key-path rule: sops tests it against every key on the way to each value.
  return { name: `deep-${i}.yaml`, body, sopsArgs: ['--encrypted-regex', '^(value_|leaf)'] };
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
    const { name, body, sopsArgs = [] } = gen(i);
    const path = join(dir, name);
    writeFileSync(path, body);
    const enc = execFileSync(sops, ['-e', '--age', recipient, ...sopsArgs, path], {
      env: cleanEnv({}),
      cwd: dir,
    });
    writeFileSync(path, enc);
    files.push(path);
    contents.push(enc);
  }
  return { label, files, contents, bytes: contents.reduce((n, c) => n + c.length, 0) };
}

const decryptOne = (set: FileSet, keyring: SopsKeyring, i: number) =>
  decryptSops(set.contents[i]!, { format: formatFromPath(set.files[i]!), keyring, fileName: set.files[i]! });

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU time of the waited-for children so far (cutime + cstime of /proc/self/stat), in ms. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat(5); `fields` starts at field 3.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK;
}

interface Timing {
  /** Wall-clock ms per file. */
  ms: number;
  /** CPU ms per file (this process, or the sops children). */
  cpu: number;
}

/** Best of ROUNDS passes over the set, one file after the other (wall and CPU of that pass). */
async function sequential(set: FileSet, keyring: SopsKeyring): Promise<Timing & { out: Uint8Array[] }> {
  let best = { ms: Infinity, cpu: Infinity };
  let out: Uint8Array[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c = cpuMs();
    const t = performance.now();
    const got: Uint8Array[] = [];
    for (let i = 0; i < set.files.length; i++) got.push(await decryptOne(set, keyring, i));
    const ms = performance.now() - t;
    if (ms < best.ms) best = { ms, cpu: cpuMs() - c };
    out = got;
  }
  return { ms: best.ms / set.files.length, cpu: best.cpu / set.files.length, out };
}

/** Best of ROUNDS passes with CONCURRENCY files in flight: wall ms per file. */
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

function sopsPerFile(set: FileSet, sops: string, keyFile: string): Timing & { out: Buffer[] } {
  const env = cleanEnv({ SOPS_AGE_KEY_FILE: keyFile });
  const c = childrenCpuMs();
  const t = performance.now();
  const out = set.files.map((f) => execFileSync(sops, ['-d', f], { env, maxBuffer: 1 << 30 }));
  return {
    ms: (performance.now() - t) / set.files.length,
    cpu: (childrenCpuMs() - c) / set.files.length,
    out,
  };
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
    // Warm-up, not timed: two passes over every set, so the JIT has compiled the hot paths as in
    // a controller that has been running for a while (the first passes are up to 2x slower).
    for (let pass = 0; pass < 2; pass++)
      for (const set of sets) for (let i = 0; i < set.files.length; i++) await decryptOne(set, keyring, i);

    console.log(
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; best of ${ROUNDS} in-process passes, concurrency ${CONCURRENCY}`,
    );
    console.log('');
    console.log(
      '| set | files | KiB/file | in-process ms/file (CPU) | concurrent ms/file | sops -d ms/file (CPU) | in-process files/s | ratio (CPU ratio) |',
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
        `| ${set.label} | ${set.files.length} | ${(set.bytes / set.files.length / 1024).toFixed(1)} | ${fmt(seq.ms)} (${fmt(seq.cpu)}) | ${fmt(conc)} | ${fmt(theirs.ms)} (${fmt(theirs.cpu)}) | ${(1000 / seq.ms).toFixed(0)} | **${(theirs.ms / seq.ms).toFixed(1)}×** (${(theirs.cpu / seq.cpu).toFixed(1)}×) |`,
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
