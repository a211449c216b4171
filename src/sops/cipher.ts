/**
 * The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value codec: AES-256-GCM with the IV length
 * taken from the value (sops writes 32 bytes) and the value's path as additional data.
 *
 * Synchronous node:crypto. Callers pass the data key as a KeyObject made once per file: given
 * raw bytes, createDecipheriv imports the key again for every value, and Node's key checks throw
 * and catch two exceptions per call on the way, which together cost more than the decryption.
 */
import { type KeyObject, createDecipheriv } from 'node:crypto';
import { formatRFC3339Nano, parseRFC3339 } from './gotime.js';
import { formatFloatF as formatFloatFForMac, goAtoi, parseGoBool, parseGoFloat } from './gonum.js';
import { Comment, GoBytes, GoFloat, GoInt, GoTimeValue, RawString, type Scalar, goString } from './values.js';

const ENC_PREFIX = 'ENC[AES256_GCM,data:';

/** The four fields of an ENC value, as written (still base64, except the type). */
export interface EncFields {
  data: string;
  iv: string;
  tag: string;
  type: string;
}

/**
 * The fields sops' Go regular expression `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`
 * captures, or null when it does not match: "." matches anything but a newline, the end is not
 * anchored, and each greedy group takes as much as still lets the rest match. Found from the end
 * in linear time — a backtracking regular expression takes time growing with the fourth power of
 * the value's length on a value with many ",iv:" / ",tag:" / ",type:" and no "]" (seconds for
 * 4 KB, minutes for 8 KB: one such value in a Git source would stall the process).
 */
export function parseEncValue(value: string): EncFields | null {
  if (!value.startsWith(ENC_PREFIX)) return null;
  const start = ENC_PREFIX.length;
  const newline = value.indexOf('\n', start);
  const end = newline < 0 ? value.length : newline;
  // Greedy groups: the last "]" of the line, then the last ",type:" that leaves the type non-empty,
  // the last ",tag:" before it that leaves the tag non-empty, and so on.
  const close = value.lastIndexOf(']', end - 1);
  if (close < start) return null;
  const type = value.lastIndexOf(',type:', close - 7);
  if (type < start) return null;
  const tag = value.lastIndexOf(',tag:', type - 6);
  if (tag < start) return null;
  const iv = value.lastIndexOf(',iv:', tag - 5);
  if (iv < start + 1) return null;
  return {
    data: value.slice(start, iv),
    iv: value.slice(iv + 4, tag),
    tag: value.slice(tag + 5, type),
    type: value.slice(type + 6, close),
  };
}

export type DecryptFailure =
  | { kind: 'format' } // not an ENC[...] value, bad base64, unknown type
  | { kind: 'auth' } // AES-GCM authentication failed: ciphertext, IV, tag or path changed
  | { kind: 'type'; type: string }; // decrypted text is not a valid value of its declared type

export class CipherError extends Error {
  constructor(readonly failure: DecryptFailure) {
    super(failure.kind === 'type' ? `invalid ${failure.type} value` : failure.kind);
    this.name = 'CipherError';
  }
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function b64(s: string): Buffer {
  // Go's base64.StdEncoding: padded, standard alphabet.
  if (s.length % 4 !== 0 || !B64_RE.test(s)) throw new CipherError({ kind: 'format' });
  return Buffer.from(s, 'base64');
}

export function isEncryptedValue(s: string): boolean {
  return parseEncValue(s) !== null;
}

/** Raw AES-GCM decryption of an ENC value: returns the plaintext bytes and declared type. */
export function decryptRaw(
  value: string,
  key: Uint8Array | KeyObject,
  aad: string,
): { plain: Buffer; type: string } {
  const m = parseEncValue(value);
  if (!m) throw new CipherError({ kind: 'format' });
  const data = b64(m.data);
  const iv = b64(m.iv);
  const tag = b64(m.tag);
  const type = m.type;
  if (iv.length === 0 || tag.length !== 16) throw new CipherError({ kind: 'format' });
  let plain: Buffer | undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(tag);
    plain = d.update(data);
    d.final(); // GCM yields nothing more here; it throws when the tag does not authenticate
  } catch {
    plain?.fill(0);
    throw new CipherError({ kind: 'auth' });
  }
  return { plain, type };
}

/**
 * sops aes.Cipher.Decrypt: an empty string decrypts to an empty string; otherwise the plaintext
 * is converted to the declared type.
 */
export function decryptValue(value: string, key: Uint8Array | KeyObject, aad: string): Scalar | Comment {
  return decryptValueWithBytes(value, key, aad).value;
}

/** Like decryptValue, also returning the plaintext bytes (what a "str" value adds to the MAC). */
export function decryptValueWithBytes(
  value: string,
  key: Uint8Array | KeyObject,
  aad: string,
): { value: Scalar | Comment; plain: Buffer | null } {
  if (value === '') return { value: '', plain: null };
  const { plain, type } = decryptRaw(value, key, aad);
  return { value: typed(plain, type), plain: type === 'str' ? plain : null };
}

function typed(plain: Buffer, type: string): Scalar | Comment {
  const text = plain.toString('utf8');
  switch (type) {
    case 'str':
      return goString(plain);
    case 'int': {
      const v = goAtoi(text);
      if (v === null) throw new CipherError({ kind: 'type', type });
      return new GoInt(v);
    }
    case 'float': {
      const v = parseGoFloat(text);
      if (v === null) throw new CipherError({ kind: 'type', type });
      return new GoFloat(v);
    }
    case 'bytes':
      return new GoBytes(new Uint8Array(plain));
    case 'bool': {
      const v = parseGoBool(text);
      if (v === null) throw new CipherError({ kind: 'type', type });
      return v;
    }
    case 'time': {
      const t = parseRFC3339(text);
      if (t === null) throw new CipherError({ kind: 'type', type });
      return new GoTimeValue(t);
    }
    case 'comment':
      return new Comment(text);
    default:
      throw new CipherError({ kind: 'format' });
  }
}

/** sops.ToBytes: the bytes a value contributes to the MAC. */
export function toMacBytes(v: Scalar): Buffer | null {
  if (v === null) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'boolean') return Buffer.from(v ? 'True' : 'False');
  if (v instanceof GoInt) return Buffer.from(v.value.toString());
  if (v instanceof GoFloat) return Buffer.from(formatFloatFForMac(v.value));
  if (v instanceof GoBytes) return Buffer.from(v.value);
  if (v instanceof RawString) return Buffer.from(v.bytes);
  return Buffer.from(formatRFC3339Nano(v.value));
}
