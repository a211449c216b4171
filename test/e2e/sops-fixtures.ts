/**
 * SOPS fixtures for the controller e2e tests: fresh keys (PGP made with `openpgp`, age with
 * `age-encryption`) and files encrypted by the real `sops` binary (test peer). The PGP public key is
 * imported into a private GNUPGHOME, because sops encrypts to PGP recipients through `gpg`.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { generateKey, readKey } from 'openpgp';
import { peerPath } from '../peers.js';

export interface PgpKey {
  /** Upper-case hex, as sops records it. */
  fingerprint: string;
  /** ASCII-armoured private key (what `gpgSecretRef` points at). */
  privateArmored: string;
  publicArmored: string;
}

export interface AgeKey {
  identity: string;
  recipient: string;
}

export async function freshPgpKey(name: string): Promise<PgpKey> {
  const { privateKey, publicKey } = await generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email: `${name}@example.test` }],
    format: 'armored',
  });
  const key = await readKey({ armoredKey: publicKey });
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    privateArmored: privateKey,
    publicArmored: publicKey,
  };
}

export async function freshAgeKey(): Promise<AgeKey> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** A scratch GNUPGHOME + the sops binary; `encrypt` writes `plain` to `path` encrypted by sops. */
export class SopsEncryptor {
  private constructor(
    private readonly dir: string,
    private readonly gnupgHome: string,
    private readonly sops: string,
  ) {}

  static async create(): Promise<SopsEncryptor> {
    const dir = await mkdtemp(join(tmpdir(), 'smc-e2e-sops-'));
    const gnupgHome = join(dir, 'gnupg');
    await mkdir(gnupgHome, { mode: 0o700 });
    return new SopsEncryptor(dir, gnupgHome, peerPath('sops'));
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('SOPS_') && k !== 'GNUPGHOME') env[k] = v;
    }
    return { ...env, GNUPGHOME: this.gnupgHome };
  }

  /** Make a PGP public key usable as a sops recipient. */
  importPgp(key: PgpKey): void {
    execFileSync('gpg', ['--batch', '--import'], {
      input: key.publicArmored,
      env: this.env(),
      stdio: 'pipe',
    });
  }

  /**
   * Encrypt `plain` to the recipients with the real sops (format from the file extension) and write
   * the result to `path`. Run in the scratch directory, so no `.sops.yaml` applies.
   */
  async encrypt(
    path: string,
    plain: string,
    to: { age?: readonly AgeKey[]; pgp?: readonly PgpKey[] },
  ): Promise<void> {
    const name = path.split('/').pop()!;
    const work = await mkdtemp(join(this.dir, 'f-'));
    const file = join(work, name);
    await writeFile(file, plain);
    const args = ['-e'];
    if (to.age?.length) args.push('--age', to.age.map((k) => k.recipient).join(','));
    if (to.pgp?.length) args.push('--pgp', to.pgp.map((k) => k.fingerprint).join(','));
    const out = execFileSync(this.sops, [...args, file], {
      cwd: work,
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, out);
    await rm(work, { recursive: true, force: true });
  }

  async cleanup(): Promise<void> {
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env: this.env(), stdio: 'ignore' });
    } catch {
      // no agent was started
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
