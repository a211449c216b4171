/** Parsed SOPS identities (age and PGP), built once and reused for many files. */
import { readFile } from 'node:fs/promises';
import { SmcError } from '../errors.js';
import { type AgeIdentity, parseAgeIdentities } from './age.js';
import { type PgpKey, parsePgpKeys } from './pgp.js';

export interface SopsKeyring {
  /** age identities (secret; kept only in memory). */
  readonly age: readonly AgeIdentity[];
  /** Unlocked OpenPGP private keys (secret; kept only in memory). */
  readonly pgp: readonly PgpKey[];
  /** Public description: age recipients and PGP fingerprints. Safe to log. */
  describe(): string[];
}

class Keyring implements SopsKeyring {
  constructor(
    readonly age: readonly AgeIdentity[],
    readonly pgp: readonly PgpKey[],
  ) {}
  describe(): string[] {
    return [
      ...this.age.map((a) => `age ${a.recipient}`),
      ...this.pgp.map((p) => `pgp ${p.fingerprints[0] ?? ''}`),
    ];
  }
  toJSON(): { age: string[]; pgp: string[] } {
    // Never serialise key material by accident.
    return { age: this.age.map((a) => a.recipient), pgp: this.pgp.map((p) => p.fingerprints[0] ?? '') };
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
export async function createKeyring(input: { age?: string[]; pgp?: string[] }): Promise<SopsKeyring> {
  const age: AgeIdentity[] = [];
  const pgp: PgpKey[] = [];
  for (const [i, text] of (input.age ?? []).entries()) {
    age.push(...(await parseAgeIdentities(text, `age key input #${i + 1}`)));
  }
  for (const [i, text] of (input.pgp ?? []).entries()) {
    pgp.push(...(await parsePgpKeys(text, `pgp key input #${i + 1}`)));
  }
  return new Keyring(dedupeAge(age), pgp);
}

function dedupeAge(ids: AgeIdentity[]): AgeIdentity[] {
  const seen = new Set<string>();
  return ids.filter((a) => (seen.has(a.identity) ? false : (seen.add(a.identity), true)));
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
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
}): Promise<SopsKeyring> {
  const age: AgeIdentity[] = [];
  const pgp: PgpKey[] = [];
  const ageFiles = [...(opts.ageKeyFiles ?? [])];
  const envFile = opts.env?.['SOPS_AGE_KEY_FILE'];
  if (envFile) ageFiles.push(envFile);
  for (const f of ageFiles)
    age.push(...(await parseAgeIdentities(await readKeyFile(f), `age key file ${f}`)));
  const envKey = opts.env?.['SOPS_AGE_KEY'];
  if (envKey) age.push(...(await parseAgeIdentities(envKey, 'SOPS_AGE_KEY')));
  for (const f of opts.gpgKeyFiles ?? [])
    pgp.push(...(await parsePgpKeys(await readKeyFile(f), `pgp key file ${f}`)));
  return new Keyring(dedupeAge(age), pgp);
}
