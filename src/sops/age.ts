/**
 * age X25519 (and post-quantum hybrid) identities, and decryption of sops' `age[].enc`.
 *
 * The `age-encryption` library validates identity strings, derives their recipients and decodes
 * the ASCII armor, and it decrypts for post-quantum hybrid identities. The X25519 hot path — one
 * unwrap per file — is done here with node:crypto instead: the library works on WebCrypto
 * streams, imports the private key again for every file (computing its public key twice), and
 * runs HKDF, HMAC and ChaCha20-Poly1305 in JavaScript. Here the identity becomes a native
 * X25519 key object once, when the keyring is built, and a file costs one native
 * Diffie-Hellman plus a few native HKDF/HMAC/ChaCha20-Poly1305 calls, all synchronous
 * (bench/sops.ts, docs/performance.md#sops). The header and payload rules are the library's
 * (which follow the age specification, age-encryption.org/v1).
 */
import {
  type KeyObject,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createSecretKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  timingSafeEqual,
} from 'node:crypto';
import { Decrypter, armor, identityToRecipient } from 'age-encryption';
import { SmcError } from '../errors.js';

export interface AgeIdentity {
  /** The AGE-SECRET-KEY-1… string. Kept only in memory. */
  readonly identity: string;
  /** Its public recipient (age1…). */
  readonly recipient: string;
  /** Which input it came from, for messages. */
  readonly source: string;
  /** The native X25519 key, built once per identity; absent for post-quantum hybrid identities. */
  readonly x25519?: X25519Key;
}

export interface X25519Key {
  readonly privateKey: KeyObject;
  /** The 32-byte public key (the recipient's bytes: part of the HKDF salt of a stanza). */
  readonly publicKey: Buffer;
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
    let x25519: X25519Key | undefined;
    try {
      // The library checks the identity (bech32 checksum, length) and derives its recipient.
      recipient = await identityToRecipient(line);
      if (line.startsWith('AGE-SECRET-KEY-1')) x25519 = nativeX25519Key(line, recipient);
    } catch {
      throw new SmcError('ParseError', `${source}: line ${i + 1} is not a valid age identity`);
    }
    const identity: AgeIdentity = x25519
      ? { identity: line, recipient, source, x25519 }
      : { identity: line, recipient, source };
    out.push(hideSecret(identity, { recipient, source }));
  }
  if (out.length === 0) throw new SmcError('ParseError', `${source}: no age identity found`);
  return out;
}

/** PKCS#8 DER prefix of a raw X25519 private key (RFC 8410). */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The native key object of an identity the library has already validated. Its public key must
 * equal the library's recipient, so a mistake in the decoding here cannot go unnoticed.
 */
function nativeX25519Key(identity: string, recipient: string): X25519Key {
  const scalar = bech32Data(identity.toLowerCase());
  const der = Buffer.concat([PKCS8_X25519, scalar]);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
    const publicKey = Buffer.from(x ?? '', 'base64url');
    if (!publicKey.equals(bech32Data(recipient))) throw new Error('the derived recipient differs');
    return { privateKey, publicKey };
  } finally {
    scalar.fill(0);
    der.fill(0);
  }
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/**
 * The data bytes of a lower-case bech32 string whose checksum was already verified (by the age
 * library): the 5-bit groups between the last "1" and the 6-character checksum.
 */
function bech32Data(s: string): Buffer {
  const words = s.slice(s.lastIndexOf('1') + 1, -6);
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of words) {
    const v = BECH32.indexOf(ch);
    if (v < 0) throw new Error('not bech32');
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) throw new Error('bad bech32 padding');
  return Buffer.from(out);
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
  const native = identities.filter((id) => id.x25519 !== undefined);
  const hybrid = identities.filter((id) => id.x25519 === undefined);
  if (hybrid.length === 0)
    return decryptX25519(Buffer.from(file.buffer, file.byteOffset, file.byteLength), native);
  // Post-quantum hybrid identities go through the library (native ones are tried there too).
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

const failed = (): AgeDecryptError => new AgeDecryptError('age decryption failed');

interface Stanza {
  args: string[];
  body: Buffer;
}

interface Header {
  stanzas: Stanza[];
  /** The header up to and including "---": what the header MAC covers. */
  headerNoMac: Buffer;
  mac: Buffer;
  /** Everything after the MAC line: the payload nonce and the STREAM chunks. */
  payload: Buffer;
}

/** Strict unpadded standard base64 (the age format's), or null. */
function base64NoPad(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  const b = Buffer.from(s, 'base64');
  // Non-canonical encodings (non-zero trailing bits) are refused.
  return b.toString('base64').replace(/=+$/, '') === s ? b : null;
}

/** One header line (without its "\n"); printable ASCII only. */
function headerLine(file: Buffer, from: number): { line: string; next: number } {
  const end = file.indexOf(0x0a, from);
  if (end < 0) throw failed();
  for (let i = from; i < end; i++) {
    const b = file[i] as number;
    if (b < 32 || b > 126) throw failed();
  }
  return { line: file.toString('latin1', from, end), next: end + 1 };
}

/** The age v1 header: recipient stanzas, then "--- " and the header MAC. */
function parseHeader(file: Buffer): Header {
  let { line, next } = headerLine(file, 0);
  if (line !== 'age-encryption.org/v1') throw failed();
  const stanzas: Stanza[] = [];
  for (;;) {
    ({ line, next } = headerLine(file, next));
    const args = line.split(' ');
    if (args.length < 2 || args[0] !== '->') break;
    args.shift();
    if (args.some((a) => a.length === 0)) throw failed();
    const body: Buffer[] = [];
    for (;;) {
      const l = headerLine(file, next);
      next = l.next;
      const chunk = base64NoPad(l.line);
      if (chunk === null || chunk.length > 48) throw failed();
      body.push(chunk);
      if (chunk.length < 48) break;
    }
    stanzas.push({ args, body: Buffer.concat(body) });
  }
  if (!line.startsWith('--- ')) throw failed();
  const mac = base64NoPad(line.slice(4));
  if (mac === null) throw failed();
  return {
    stanzas,
    headerNoMac: file.subarray(0, next - 1 - line.length + 3),
    mac,
    payload: file.subarray(next),
  };
}

const ZERO_NONCE = Buffer.alloc(12);
const X25519_LABEL = 'age-encryption.org/v1/X25519';
/** SubjectPublicKeyInfo DER prefix of a raw X25519 public key (RFC 8410). */
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

// Keys go to node:crypto as KeyObjects, and a public key as PEM text: given a Buffer (or a
// DER options object) Node's key checks throw and catch two exceptions per call, which costs
// more than the cryptography here.

/** A secret KeyObject holding a copy of `bytes`, which are zeroed. */
function secretKey(bytes: Buffer): KeyObject {
  try {
    return createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

function x25519PublicKey(raw: Buffer): KeyObject {
  const der = Buffer.concat([SPKI_X25519, raw]).toString('base64');
  return createPublicKey(`-----BEGIN PUBLIC KEY-----\n${der}\n-----END PUBLIC KEY-----\n`);
}

function hkdf(ikm: KeyObject, salt: Buffer, info: string): KeyObject {
  return secretKey(Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)));
}

function chachaOpen(key: KeyObject, nonce: Buffer, sealed: Buffer): Buffer | null {
  if (sealed.length < 16) return null;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = d.update(sealed.subarray(0, sealed.length - 16));
  try {
    d.final();
  } catch {
    out.fill(0);
    return null;
  }
  return out;
}

/** The file key of an X25519 stanza for this identity, or null when the stanza is not for it. */
function unwrapX25519(stanza: Stanza, id: X25519Key): Buffer | null {
  if (stanza.args.length !== 2) throw failed();
  const share = base64NoPad(stanza.args[1] as string);
  if (share === null || share.length !== 32 || stanza.body.length !== 32) throw failed();
  let secret: KeyObject;
  try {
    // Throws for a low-order share (an all-zero shared secret), like age.
    secret = secretKey(diffieHellman({ privateKey: id.privateKey, publicKey: x25519PublicKey(share) }));
  } catch {
    throw failed();
  }
  return chachaOpen(
    hkdf(secret, Buffer.concat([share, id.publicKey]), X25519_LABEL),
    ZERO_NONCE,
    stanza.body,
  );
}

const CHUNK = 64 * 1024 + 16;
const EMPTY = Buffer.alloc(0);

/** age's STREAM: 64 KiB ChaCha20-Poly1305 chunks, counter nonces, the last one flagged. */
function decryptPayload(payload: Buffer, fileKey: KeyObject): Buffer {
  if (payload.length < 16) throw failed();
  const streamKey = hkdf(fileKey, payload.subarray(0, 16), 'payload');
  const body = payload.subarray(16);
  const out: Buffer[] = [];
  const nonce = Buffer.alloc(12);
  try {
    let counter = 0;
    for (let at = 0; ; at += CHUNK, counter++) {
      const last = body.length - at <= CHUNK;
      nonce.writeUIntBE(counter, 5, 6);
      nonce[11] = last ? 1 : 0;
      const plain = chachaOpen(streamKey, nonce, body.subarray(at, Math.min(at + CHUNK, body.length)));
      if (plain === null) throw failed();
      // The final chunk can only be empty if it is the only one.
      if (last && plain.length === 0 && counter > 0) throw failed();
      out.push(plain);
      if (last) break;
    }
    return Buffer.concat(out);
  } finally {
    for (const p of out) p.fill(0);
  }
}

/** Decrypts an age file for X25519 identities, with node:crypto only (no await inside). */
function decryptX25519(file: Buffer, identities: readonly AgeIdentity[]): Buffer {
  const header = parseHeader(file);
  let fileKey: Buffer | null = null;
  for (const id of identities) {
    for (const s of header.stanzas) {
      if (s.args[0] !== 'X25519') continue;
      fileKey = unwrapX25519(s, id.x25519 as X25519Key);
      if (fileKey !== null) break;
    }
    if (fileKey !== null) break;
  }
  if (fileKey === null) throw new AgeDecryptError('no identity matched');
  const key = secretKey(fileKey);
  const mac = createHmac('sha256', hkdf(key, EMPTY, 'header'))
    .update(header.headerNoMac)
    .digest();
  if (mac.length !== header.mac.length || !timingSafeEqual(mac, header.mac)) throw failed();
  return decryptPayload(header.payload, key);
}
