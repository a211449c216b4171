/**
 * Parsed SOPS identities (age and PGP) and key-service credentials (src/sops/kms/), built once and
 * reused for many files.
 */
import { SmcError } from '../errors.js';
import { DEFAULT_INPUT_LIMITS } from '../limits/input.js';
import { readFileCapped, tooLarge } from '../limits/read.js';
import { type AgeIdentity, parseAgeIdentities } from './age.js';
import type { KmsOpener } from './kms/types.js';
import { type PgpKey, parsePgpKeys } from './pgp.js';

export interface SopsKeyring {
  /** age identities (secret; kept only in memory). */
  readonly age: readonly AgeIdentity[];
  /** Unlocked OpenPGP private keys (secret; kept only in memory). */
  readonly pgp: readonly PgpKey[];
  /** Opens data keys wrapped by AWS KMS, GCP KMS, Azure Key Vault, Vault transit; none: refused. */
  readonly kms?: KmsOpener;
  /** Public description: age recipients, PGP fingerprints, key-service credential sources. Safe to log. */
  describe(): string[];
  /**
   * Stands for the keys held, never for their material: keyrings with one identity open the same
   * files alike (a shared render is keyed on it, src/render/cache.ts). A keyring built anew has a new one.
   */
  readonly identity: object;
}

class Keyring implements SopsKeyring {
  constructor(
    readonly age: readonly AgeIdentity[],
    readonly pgp: readonly PgpKey[],
    readonly kms?: KmsOpener,
  ) {}
  get identity(): object {
    return this;
  }
  describe(): string[] {
    return [
      ...this.age.map((a) => `age ${a.recipient}`),
      ...this.pgp.map((p) => `pgp ${p.fingerprints[0] ?? ''}`),
      ...(this.kms?.describe() ?? []),
    ];
  }
  toJSON(): { age: string[]; pgp: string[]; kms?: string[] } {
    // Never serialise key material by accident.
    return {
      age: this.age.map((a) => a.recipient),
      pgp: this.pgp.map((p) => p.fingerprints[0] ?? ''),
      ...(this.kms ? { kms: this.kms.describe() } : {}),
    };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SopsKeyring { ${this.describe().join(', ') || 'empty'} }`;
  }
}

/**
 * Builds a keyring from key material.
 * - `age`: contents of age key files (several AGE-SECRET-KEY-1… lines and comments allowed).
 * - `pgp`: ASCII-armoured private key blocks (an input may hold several).
 * Bad key material is reported as an SmcError naming the input (by position), not its content.
 */
export async function createKeyring(
  input: { age?: string[]; pgp?: string[]; kms?: KmsOpener },
  limits: { maxKeyFileBytes?: number } = {},
): Promise<SopsKeyring> {
  const max = limits.maxKeyFileBytes ?? DEFAULT_INPUT_LIMITS.maxKeyFileBytes;
  const age: AgeIdentity[] = [];
  const pgp: PgpKey[] = [];
  for (const [i, text] of (input.age ?? []).entries()) {
    const name = `age key input #${i + 1}`;
    checkKeySize(text, name, max);
    age.push(...(await parseAgeIdentities(text, name)));
  }
  for (const [i, text] of (input.pgp ?? []).entries()) {
    const name = `pgp key input #${i + 1}`;
    checkKeySize(text, name, max);
    pgp.push(...(await parsePgpKeys(text, name)));
  }
  return new Keyring(dedupeAge(age), pgp, input.kms);
}

function dedupeAge(ids: AgeIdentity[]): AgeIdentity[] {
  const seen = new Set<string>();
  return ids.filter((a) => (seen.has(a.identity) ? false : (seen.add(a.identity), true)));
}

/** Key material over `max_key_file_bytes` is refused before it is parsed. */
function checkKeySize(text: string, name: string, max: number): void {
  if (text.length > max || Buffer.byteLength(text, 'utf8') > max)
    throw tooLarge(name, 'maxKeyFileBytes', max);
}

/** A key file, read with the size cap enforced while reading (`/dev/zero` is not read to its end). */
async function readKeyFile(path: string, max: number): Promise<string> {
  try {
    return (await readFileCapped(path, max, 'maxKeyFileBytes', `key file ${path}`)).toString('utf8');
  } catch (e) {
    if (e instanceof SmcError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new SmcError('NotFound', `cannot read key file ${path} (${code})`);
  }
}

/**
 * Builds a keyring from key files, plus `SOPS_AGE_KEY_FILE` (a path) and `SOPS_AGE_KEY`
 * (key file contents) from `env` when set.
 */
export async function keyringFromFiles(opts: {
  ageKeyFiles?: string[];
  gpgKeyFiles?: string[];
  env?: NodeJS.ProcessEnv;
  /** `max_key_file_bytes` (default DEFAULT_INPUT_LIMITS). */
  maxKeyFileBytes?: number;
  /** Key services (the CLI: the SDKs' default credential chains). */
  kms?: KmsOpener;
}): Promise<SopsKeyring> {
  const max = opts.maxKeyFileBytes ?? DEFAULT_INPUT_LIMITS.maxKeyFileBytes;
  const age: AgeIdentity[] = [];
  const pgp: PgpKey[] = [];
  const ageFiles = [...(opts.ageKeyFiles ?? [])];
  const envFile = opts.env?.['SOPS_AGE_KEY_FILE'];
  if (envFile) ageFiles.push(envFile);
  for (const f of ageFiles)
    age.push(...(await parseAgeIdentities(await readKeyFile(f, max), `age key file ${f}`)));
  const envKey = opts.env?.['SOPS_AGE_KEY'];
  if (envKey) {
    checkKeySize(envKey, 'SOPS_AGE_KEY', max);
    age.push(...(await parseAgeIdentities(envKey, 'SOPS_AGE_KEY')));
  }
  for (const f of opts.gpgKeyFiles ?? [])
    pgp.push(...(await parsePgpKeys(await readKeyFile(f, max), `pgp key file ${f}`)));
  return new Keyring(dedupeAge(age), pgp, opts.kms);
}
