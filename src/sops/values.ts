/**
 * The in-memory document tree, shaped like sops' own (sops.TreeBranch / TreeItem / Comment):
 * ordered branches, lists, comments as items, and typed scalars that keep Go's number and time
 * semantics so values can be re-serialised exactly as sops does.
 */
import type { GoTime } from './gotime.js';

export class Comment {
  constructor(
    readonly value: string,
    readonly inline = false,
  ) {}
}

/** A Go `int` (int64). */
export class GoInt {
  constructor(readonly value: bigint) {}
}

/** A Go `float64`. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** A Go `time.Time`. */
export class GoTimeValue {
  constructor(readonly value: GoTime) {}
}

/** A Go `[]byte` (sops type "bytes"). */
export class GoBytes {
  constructor(readonly value: Uint8Array) {}
}

/** A Go `string` holding bytes that are not valid UTF-8 (possible in dotenv, INI and binary files). */
export class RawString {
  constructor(readonly bytes: Uint8Array) {}
}

export type Scalar = string | boolean | null | GoInt | GoFloat | GoTimeValue | GoBytes | RawString;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Go `string(bytes)`: a JS string when the bytes are UTF-8, else a RawString. */
export function goString(bytes: Uint8Array): string | RawString {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new RawString(new Uint8Array(bytes));
  }
}

/** The bytes of a Go string value. */
export function goStringBytes(v: string | RawString): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.bytes);
}

export interface TreeItem {
  key: string | Comment;
  value: TreeValue;
}

export class Branch {
  constructor(readonly items: TreeItem[] = []) {}
}

export type TreeValue = Scalar | Comment | Branch | TreeValue[];

export function isComplex(v: TreeValue): v is Branch | TreeValue[] {
  return v instanceof Branch || Array.isArray(v);
}

/** Short type description for error messages (never the value itself). */
export function typeName(v: TreeValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return 'int';
  if (v instanceof GoFloat) return 'float';
  if (v instanceof GoTimeValue) return 'timestamp';
  if (v instanceof GoBytes) return 'bytes';
  if (v instanceof RawString) return 'string';
  if (v instanceof Comment) return 'comment';
  if (v instanceof Branch) return 'mapping';
  return 'list';
}
