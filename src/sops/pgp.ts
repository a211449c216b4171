/** OpenPGP private keys and decryption of sops' `pgp[].enc` (an armored message holding the data key). */
import type * as OpenPgp from 'openpgp';
import { SmcError } from '../errors.js';
import { hideSecret } from './age.js';

// OpenPGP is imported when a PGP key or a PGP-wrapped data key is first read, not at start: its
// module text and compiled code stay in memory (docs/performance.md "Memory"), and most keyrings
// hold only age keys.
let loaded: Promise<typeof OpenPgp> | undefined;
const openpgpModule = (): Promise<typeof OpenPgp> => (loaded ??= import('openpgp'));

export interface PgpKey {
  readonly key: OpenPgp.PrivateKey;
  /** Upper-case fingerprints of the primary key and all subkeys. */
  readonly fingerprints: readonly string[];
  /** Upper-case 16-hex key IDs of the primary key and all subkeys. */
  readonly keyIds: readonly string[];
  readonly source: string;
}

/** Parses one or more ASCII-armoured private key blocks from one input. */
export async function parsePgpKeys(armored: string, source: string): Promise<PgpKey[]> {
  const blocks = armored.match(
    /-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/g,
  );
  if (!blocks) throw new SmcError('ParseError', `${source}: no ASCII-armoured PGP private key block found`);
  const openpgp = await openpgpModule();
  const out: PgpKey[] = [];
  for (const block of blocks) {
    let keys: OpenPgp.PrivateKey[];
    try {
      keys = await openpgp.readPrivateKeys({ armoredKeys: block });
    } catch {
      throw new SmcError('ParseError', `${source}: a PGP private key block could not be parsed`);
    }
    for (const key of keys) {
      const fp = key.getFingerprint().toUpperCase();
      if (!key.isDecrypted()) {
        throw new SmcError(
          'SopsUnsupportedKeyType',
          `${source}: PGP key ${fp} is passphrase-protected; provide the key without a passphrase`,
        );
      }
      const all = key.getKeys();
      const fingerprints = all.map((k) => k.getFingerprint().toUpperCase());
      const keyIds = all.map((k) => k.getKeyID().toHex().toUpperCase());
      out.push(hideSecret({ key, fingerprints, keyIds, source }, { fingerprints, source }));
    }
  }
  return out;
}

export class PgpDecryptError extends Error {}

export interface ParsedPgpMessage {
  message: OpenPgp.Message<string>;
  keyIds: string[];
}

export async function readPgpMessage(enc: string): Promise<ParsedPgpMessage> {
  const openpgp = await openpgpModule();
  try {
    const message = await openpgp.readMessage({ armoredMessage: enc });
    return { message, keyIds: message.getEncryptionKeyIDs().map((k) => k.toHex().toUpperCase()) };
  } catch {
    throw new PgpDecryptError('the PGP data key is not a valid armored OpenPGP message');
  }
}

/** True when `key` is the one sops recorded as `fp`, or holds a subkey the message is encrypted to. */
export function pgpKeyMatches(key: PgpKey, fp: string, messageKeyIds: readonly string[]): boolean {
  const want = fp.replace(/\s+/g, '').toUpperCase();
  if (want !== '' && key.fingerprints.some((f) => f === want || (want.length >= 16 && f.endsWith(want))))
    return true;
  return key.keyIds.some((id) => messageKeyIds.includes(id));
}

export async function pgpDecrypt(msg: ParsedPgpMessage, key: PgpKey): Promise<Uint8Array> {
  const openpgp = await openpgpModule();
  try {
    const { data } = await openpgp.decrypt({
      message: msg.message,
      decryptionKeys: [key.key],
      format: 'binary',
    });
    return data as Uint8Array;
  } catch {
    throw new PgpDecryptError('PGP decryption failed');
  }
}
