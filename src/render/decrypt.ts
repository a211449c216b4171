/**
 * The seam between render and SOPS. Render finds encrypted files and hands their bytes to a
 * caller-supplied `DecryptFile`; keys, key policy and "sops disabled" live with the caller, so this
 * stage never sees key material.
 */
import { SmcError } from '../errors.js';
import { formatFromPath, isSopsEncrypted } from '../sops/index.js';

/**
 * Called once per SOPS-encrypted file that render reads, with the file's path relative to the
 * source root (POSIX separators) and its bytes. Returns the plaintext in the file's own format (as
 * `sops -d` prints it), or throws — e.g. SmcError `SopsDisabled` when decryption is turned off.
 */
export type DecryptFile = (relativePath: string, content: Uint8Array) => Promise<Uint8Array>;

/** Plaintext of `content`: decrypted when SOPS-encrypted, unchanged otherwise. */
export async function plaintextOf(
  relativePath: string,
  content: Uint8Array,
  decrypt: DecryptFile,
): Promise<Uint8Array> {
  return isSopsEncrypted(content, formatFromPath(relativePath))
    ? await decrypt(relativePath, content)
    : content;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new SmcError('ParseError', `${where}: not valid UTF-8 text`);
  }
}

/** SOPS writes every encrypted value as `ENC[AES256_GCM,data:…]`. */
const SOPS_CIPHERTEXT = 'ENC[AES256_GCM,data:';

/**
 * Last line of defence for "never push ciphertext": a value holding SOPS ciphertext means a file
 * was not recognised as encrypted, or a build read one that could not be decrypted (a whole
 * SOPS file read by a secretGenerator `files:` entry holds ciphertext too, hence "holds").
 */
export function refuseCiphertext(key: string, value: string, where: string): void {
  if (value.includes(SOPS_CIPHERTEXT)) {
    throw new SmcError(
      'SopsInvalidFile',
      `${where}: the value of key "${key}" holds SOPS ciphertext (ENC[…]); the file it came from was not decrypted`,
    );
  }
}
