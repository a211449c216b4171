/** age X25519 (and post-quantum hybrid) identities, and decryption of sops' `age[].enc`. */
import { Decrypter, armor, identityToRecipient } from 'age-encryption';
import { SmcError } from '../errors.js';

export interface AgeIdentity {
  /** The AGE-SECRET-KEY-1… string. Kept only in memory. */
  readonly identity: string;
  /** Its public recipient (age1…). */
  readonly recipient: string;
  /** Which input it came from, for messages. */
  readonly source: string;
}

/**
 * Parses an age key file: one identity per line, `#` comments and blank lines ignored (what
 * age-keygen writes). Errors name the input and line, never the line's content.
 */
export async function parseAgeIdentities(text: string, source: string): Promise<AgeIdentity[]> {
  const out: AgeIdentity[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('AGE-SECRET-KEY-')) {
      throw new SmcError(
        'ParseError',
        `${source}: line ${i + 1} is not an age identity (expected AGE-SECRET-KEY-1…; SSH and plugin identities are not supported)`,
      );
    }
    let recipient: string;
    try {
      recipient = await identityToRecipient(line);
    } catch {
      throw new SmcError('ParseError', `${source}: line ${i + 1} is not a valid age identity`);
    }
    out.push(hideSecret({ identity: line, recipient, source }, { recipient, source }));
  }
  if (out.length === 0) throw new SmcError('ParseError', `${source}: no age identity found`);
  return out;
}

/**
 * Makes an object holding key material print and serialise as its public part only, so a stray
 * log line or error dump cannot leak it.
 */
export function hideSecret<T extends object>(obj: T, shown: object): T {
  Object.defineProperty(obj, 'toJSON', { value: () => shown, enumerable: false });
  Object.defineProperty(obj, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => ({ ...shown, secret: '[redacted]' }),
    enumerable: false,
  });
  return obj;
}

export class AgeDecryptError extends Error {}

/** Decrypts an armored age file (sops `enc`) with the given identities. */
export async function ageDecrypt(enc: string, identities: readonly AgeIdentity[]): Promise<Uint8Array> {
  let file: Uint8Array;
  try {
    file = armor.decode(enc);
  } catch {
    throw new AgeDecryptError('the age data key is not a valid armored age file');
  }
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id.identity);
  try {
    return await d.decrypt(file);
  } catch (e) {
    const msg = e instanceof Error ? e.message : '';
    throw new AgeDecryptError(
      /no identity matched/i.test(msg) ? 'no identity matched' : 'age decryption failed',
    );
  }
}
