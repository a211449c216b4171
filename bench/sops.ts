/**
 * Benchmark: in-process SOPS decryption vs. one `sops -d` child process per file.
 *
 * Generates 200 small age-encrypted files (YAML, JSON, dotenv, INI, binary) with the real sops in
 * a temporary directory, then decrypts all of them in-process with one keyring, and again with
 * `sops -d` per file. Prints files/s for both and the ratio, and checks the outputs are identical.
 *
 *   npx tsx bench/sops.ts [count]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeyring, decryptSops, formatFromPath } from '../src/sops/index.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.argv[2] ?? 200);

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

function plaintext(i: number): { name: string; body: string } {
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

async function main(): Promise<void> {
  const sops = peer('sops');
  const ageKeygen = peer('age');
  const dir = mkdtempSync(join(tmpdir(), 'sops-bench-'));
  try {
    const keyFile = join(dir, 'age.txt');
    execFileSync(ageKeygen, ['-o', keyFile], { stdio: 'ignore' });
    const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))![1] as string;

    process.stdout.write(`generating ${COUNT} files with sops ... `);
    const t0 = performance.now();
    const files: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const { name, body } = plaintext(i);
      const path = join(dir, name);
      writeFileSync(path, body);
      const enc = execFileSync(sops, ['-e', '--age', recipient, path], { env: cleanEnv({}), cwd: dir });
      writeFileSync(path, enc);
      files.push(path);
    }
    console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const contents = files.map((f) => readFileSync(f));
    const keyring = await createKeyring({ age: [readFileSync(keyFile, 'utf8')] });

    // Warm-up (JIT, lazy module init) on a few files, not timed.
    for (let i = 0; i < Math.min(10, files.length); i++) {
      await decryptSops(contents[i]!, { format: formatFromPath(files[i]!), keyring, fileName: files[i]! });
    }

    const tIn = performance.now();
    const ours: Uint8Array[] = [];
    for (let i = 0; i < files.length; i++) {
      ours.push(
        await decryptSops(contents[i]!, { format: formatFromPath(files[i]!), keyring, fileName: files[i]! }),
      );
    }
    const inProcessMs = performance.now() - tIn;

    const env = cleanEnv({ SOPS_AGE_KEY_FILE: keyFile });
    const tCp = performance.now();
    const theirs: Buffer[] = [];
    for (const f of files) theirs.push(execFileSync(sops, ['-d', f], { env }));
    const childMs = performance.now() - tCp;

    const mismatches = files.filter((_, i) => !Buffer.from(ours[i]!).equals(theirs[i]!)).length;
    const inRate = files.length / (inProcessMs / 1000);
    const cpRate = files.length / (childMs / 1000);
    console.log(
      `in-process : ${files.length} files in ${inProcessMs.toFixed(0)} ms = ${inRate.toFixed(0)} files/s`,
    );
    console.log(
      `sops -d    : ${files.length} files in ${childMs.toFixed(0)} ms = ${cpRate.toFixed(0)} files/s`,
    );
    console.log(`ratio      : in-process is ${(inRate / cpRate).toFixed(1)}x the sops -d rate`);
    console.log(
      `outputs    : ${mismatches === 0 ? 'all identical to sops -d' : `${mismatches} differ from sops -d`}`,
    );
    if (mismatches > 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
