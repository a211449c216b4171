/**
 * Native, in-process SOPS decryption: YAML, JSON, dotenv, INI and binary files; age and PGP
 * identities; Shamir key groups; MAC verification. The output is byte-identical to `sops -d`.
 *
 * Errors are SmcError with a Sops* code; messages name the file and never contain secret values
 * or key material.
 */
import { type KeyObject, createSecretKey } from 'node:crypto';
import { SmcError } from '../errors.js';
import { CipherError, decryptValue } from './cipher.js';
import { recoverDataKey } from './datakey.js';
import { emitDotenv } from './dotenv.js';
import { emitBinary } from './binary.js';
import { type SopsFormat, formatFromPath, isSopsEncrypted, loadTree } from './format.js';
import { emitIni } from './ini.js';
import { emitJson } from './json.js';
import type { SopsKeyring } from './keyring.js';
import { decodeMetadata } from './metadata.js';
import { decryptBranches } from './tree.js';
import type { Branch } from './values.js';
import { emitYaml } from './yaml.js';

export type { SopsFormat } from './format.js';
export type { SopsKeyring } from './keyring.js';
export { formatFromPath, isSopsEncrypted };
export { createKeyring, keyringFromFiles } from './keyring.js';

export interface DecryptOptions {
  format: SopsFormat;
  keyring: SopsKeyring;
  /** Used in error messages. */
  fileName: string;
  /** Skip MAC verification (like `sops -d --ignore-mac`). */
  ignoreMac?: boolean;
}

function emit(format: SopsFormat, branches: Branch[], fileName: string): Uint8Array {
  switch (format) {
    case 'yaml':
      return emitYaml(branches);
    case 'json':
      return emitJson(branches, fileName);
    case 'dotenv':
      return emitDotenv(branches, fileName);
    case 'ini':
      return emitIni(branches, fileName);
    case 'binary':
      return emitBinary(branches, fileName);
  }
}

function verifyMac(
  fileMac: string,
  computed: string,
  lastModified: string,
  key: KeyObject,
  fileName: string,
): void {
  if (fileMac === '') {
    throw new SmcError(
      'SopsMacMissing',
      `${fileName}: the file has no MAC, so its integrity cannot be verified`,
    );
  }
  let decrypted: unknown;
  try {
    decrypted = decryptValue(fileMac, key, lastModified);
  } catch (e) {
    if (e instanceof CipherError) {
      throw new SmcError(
        'SopsMacMismatch',
        `${fileName}: the MAC cannot be decrypted (the MAC or lastmodified was modified)`,
      );
    }
    throw e;
  }
  if (decrypted !== computed) {
    throw new SmcError(
      'SopsMacMismatch',
      `${fileName}: MAC mismatch; the file content was modified after it was encrypted`,
    );
  }
}

/**
 * Decrypts a sops file and returns the plaintext in the file's own format, byte-identical to
 * what `sops -d` prints.
 */
export async function decryptSops(content: string | Uint8Array, opts: DecryptOptions): Promise<Uint8Array> {
  const { format, keyring, fileName } = opts;
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const { branches, meta: metaTree } = loadTree(format, bytes, fileName);
  const meta = decodeMetadata(metaTree, fileName);
  const rawKey = await recoverDataKey(meta, keyring, fileName);
  try {
    // Imported once for every value and the MAC (see cipher.ts).
    const key = createSecretKey(rawKey);
    const computed = decryptBranches(branches, meta, key, fileName);
    if (!opts.ignoreMac) verifyMac(meta.mac, computed, meta.lastModified, key, fileName);
    try {
      return emit(format, branches, fileName);
    } catch (e) {
      if (e instanceof SmcError) throw e;
      throw new SmcError('SopsInvalidFile', `${fileName}: cannot print the decrypted ${format} document`, {
        cause: e,
      });
    }
  } finally {
    rawKey.fill(0);
  }
}
