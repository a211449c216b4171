/**
 * Test helpers: the real `sops`/`age-keygen` binaries (from scripts/peers), fresh age and PGP
 * keys in a temporary directory, and encryption/decryption through the real sops.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const UPSTREAM = join(REPO, 'test/fixtures/sops-upstream');
export const UPSTREAM_KEY = join(UPSTREAM, 'pgp__sops_functional_tests_key.asc');

/** Path of a test peer binary; fails with a clear message when it is not installed. */
export function peerPath(peer: 'sops' | 'age'): string {
  try {
    return execFileSync(join(REPO, 'scripts/peers'), ['path', peer], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `the ${peer} test peer is not installed; run "scripts/peers install ${peer}" (the vitest global setup normally does this)`,
    );
  }
}

export interface Workspace {
  dir: string;
  sops: string;
  /** age key files and their recipients */
  age: { file: string; recipient: string }[];
  gnupgHome: string;
  pgpFingerprint: string;
  /** ASCII-armoured secret key of the fresh PGP key */
  pgpArmored: string;
  cleanup(): void;
}

/** A clean environment for child processes: no inherited SOPS_* or GNUPGHOME. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SOPS_') && k !== 'GNUPGHOME') env[k] = v;
  }
  return { ...env, ...extra };
}

export function gpgBatchKey(
  gnupgHome: string,
  name: string,
  kind: 'rsa' | 'ecc' = 'rsa',
): { fingerprint: string; armored: string } {
  const algo =
    kind === 'rsa'
      ? ['Key-Type: RSA', 'Key-Length: 2048', 'Subkey-Type: RSA', 'Subkey-Length: 2048']
      : ['Key-Type: eddsa', 'Key-Curve: ed25519', 'Subkey-Type: ecdh', 'Subkey-Curve: cv25519'];
  writeFileSync(
    join(gnupgHome, `${name}.batch`),
    [
      '%no-protection',
      ...algo,
      `Name-Real: ${name}`,
      `Name-Email: ${name}@example.test`,
      'Expire-Date: 0',
      '%commit',
      '',
    ].join('\n'),
  );
  const env = childEnv({ GNUPGHOME: gnupgHome });
  execFileSync('gpg', ['--batch', '--gen-key', join(gnupgHome, `${name}.batch`)], { env, stdio: 'ignore' });
  const colons = execFileSync(
    'gpg',
    ['--batch', '--with-colons', '--list-secret-keys', `${name}@example.test`],
    {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons);
  if (!fpr) throw new Error('could not read the generated PGP fingerprint');
  const armored = execFileSync('gpg', ['--batch', '--armor', '--export-secret-keys', fpr[1] as string], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return { fingerprint: fpr[1] as string, armored };
}

/** Creates a temp dir with two fresh age keys and one fresh PGP key. */
export function createWorkspace(prefix = 'sops-test-'): Workspace {
  const sops = peerPath('sops');
  const ageKeygen = peerPath('age');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const age = [1, 2, 3].map((i) => {
    const file = join(dir, `age${i}.txt`);
    execFileSync(ageKeygen, ['-o', file], { stdio: 'ignore' });
    const recipient = /public key: (age1[0-9a-z]+)/.exec(readFileSync(file, 'utf8'))?.[1];
    if (!recipient) throw new Error('age-keygen did not write a public key comment');
    return { file, recipient };
  });
  const gnupgHome = join(dir, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  const { fingerprint, armored } = gpgBatchKey(gnupgHome, 'sops-test');
  return {
    dir,
    sops,
    age,
    gnupgHome,
    pgpFingerprint: fingerprint,
    pgpArmored: armored,
    cleanup() {
      stopGpgAgent(gnupgHome);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function stopGpgAgent(gnupgHome: string): void {
  try {
    execFileSync('gpgconf', ['--kill', 'all'], { env: childEnv({ GNUPGHOME: gnupgHome }), stdio: 'ignore' });
  } catch {
    // no agent was started
  }
}

/** Runs the real `sops -e` on `plain` written to `name` in a fresh sub-directory. */
export function sopsEncrypt(
  ws: Workspace,
  name: string,
  plain: string | Uint8Array,
  args: string[],
  sopsConfig?: string,
): { path: string; content: Buffer } {
  const sub = mkdtempSync(join(ws.dir, 'case-'));
  const path = join(sub, name);
  writeFileSync(path, plain);
  if (sopsConfig !== undefined) writeFileSync(join(sub, '.sops.yaml'), sopsConfig);
  const content = execFileSync(ws.sops, ['-e', ...args, path], {
    cwd: sub,
    env: childEnv({ GNUPGHOME: ws.gnupgHome }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeFileSync(path, content);
  return { path, content };
}

/** What the real `sops -d` prints for `path` (age key files and the workspace GNUPGHOME available). */
export function sopsDecrypt(
  ws: { sops: string; gnupgHome: string },
  path: string,
  opts: { ageKeyFile?: string; ignoreMac?: boolean } = {},
): Buffer {
  const extra: Record<string, string> = { GNUPGHOME: ws.gnupgHome };
  if (opts.ageKeyFile) extra['SOPS_AGE_KEY_FILE'] = opts.ageKeyFile;
  return execFileSync(ws.sops, ['-d', ...(opts.ignoreMac ? ['--ignore-mac'] : []), path], {
    env: childEnv(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Flips one character of the first `data:` ciphertext in an encrypted file. */
export function flipCiphertext(content: string): string {
  const i = content.indexOf('ENC[AES256_GCM,data:');
  if (i < 0) throw new Error('no encrypted value');
  const at = i + 'ENC[AES256_GCM,data:'.length;
  const c = content[at] as string;
  const r = c === 'A' ? 'B' : 'A';
  return content.slice(0, at) + r + content.slice(at + 1);
}
