/**
 * sops' binary store: the encrypted file is a JSON document whose `data` key holds the whole
 * file as one encrypted string; the plaintext is that string's bytes, unchanged.
 */
import { SmcError } from '../errors.js';
import { loadJson } from './json.js';
import { Branch, RawString, goStringBytes } from './values.js';

export function loadBinary(content: Uint8Array, fileName: string): Branch[] {
  return loadJson(content, fileName);
}

export function emitBinary(branches: Branch[], fileName: string): Uint8Array {
  if (branches.length !== 1) {
    throw new SmcError('SopsInvalidFile', `${fileName}: a binary sops file must hold exactly one document`);
  }
  for (const item of (branches[0] as Branch).items) {
    if (item.key === 'data') {
      if (typeof item.value === 'string' || item.value instanceof RawString) return goStringBytes(item.value);
      throw new SmcError(
        'SopsInvalidFile',
        `${fileName}: the 'data' entry of a binary sops file is not a string`,
      );
    }
  }
  throw new SmcError(
    'SopsInvalidFile',
    `${fileName}: no binary data found (no 'data' entry); this is likely not an encrypted binary file`,
  );
}
