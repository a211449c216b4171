/**
 * What every example shares: load the mounted secret directory as one consistent version, check it,
 * and log key names (never values).
 *
 * In your application, import from the package instead of the repository's sources:
 *   import { readSecretDir, ReloadValidationError } from 'secret-manager-controller/reload';
 */
import { readSecretDir, ReloadValidationError } from '../../src/reload/app/index.js';

/** The directory the Secret is mounted at (a `secret` volume, or `msmctl sync --store local:DIR`). */
export const SECRETS_DIR = process.env.SECRETS_DIR ?? '/etc/secrets';
/** Keys the application cannot run without, e.g. `DB_PASSWORD,API_KEY`. */
export const REQUIRED_KEYS = (process.env.REQUIRED_KEYS ?? '').split(',').filter(Boolean);

export type Secrets = ReadonlyMap<string, string>;

/** Every key of the directory, read from one payload (never half old, half new). */
export async function loadSecrets(): Promise<Secrets> {
  const files = await readSecretDir(SECRETS_DIR);
  return new Map([...files].map(([key, bytes]) => [key, bytes.toString('utf8')]));
}

/** Refuse new values that would break the application; the old ones stay in use. */
export function validateSecrets(next: Secrets): void {
  for (const key of REQUIRED_KEYS) {
    // Name the key and the rule, never the value: this message is logged and returned over HTTP.
    if (!next.get(key)?.trim()) throw new ReloadValidationError(`${key}: missing or empty`);
  }
}

/** One JSON log line. Only key names and outcomes: a secret value must never be logged. */
export function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
}
