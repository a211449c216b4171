/**
 * What the file parsers return, and the one way they report a malformed file.
 *
 * Messages name the file, the 1-based line and the rule that was broken — never the line's text,
 * since in a secrets file that text may be a value.
 */
import { SmcError } from '../errors.js';

/** One key as a parser found it, before it becomes an `Entry`. */
export interface ParsedEntry {
  key: string;
  value: string;
  /** False when the key was found commented out. */
  enabled: boolean;
  /** 1-based line where the key's definition starts. */
  line: number;
}

export function parseError(file: string, line: number, reason: string): SmcError {
  return new SmcError('ParseError', `${file}:${line}: ${reason}`);
}

export function duplicateKeyError(
  file: string,
  key: string,
  firstLine: number,
  secondLine: number,
): SmcError {
  return new SmcError(
    'DuplicateKey',
    `${file}: key "${key}" is defined twice (lines ${firstLine} and ${secondLine}); keep one definition`,
  );
}

/** Key syntax for env keys and for commented-out keys in env and YAML files. */
export const KEY_IDENT = /^[A-Za-z_][A-Za-z0-9_.-]*/;

/** A leading UTF-8 byte order mark is not part of the first key. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Merge definitions of the same key found in one file: an active definition beats a commented-out
 * one whatever their order (the comment is an old note, not an instruction); of two commented-out
 * definitions the later wins; two active definitions are left to `onActiveTwice`.
 */
export function mergeDefinitions(
  entries: readonly ParsedEntry[],
  onActiveTwice: (key: string, first: ParsedEntry, second: ParsedEntry) => ParsedEntry,
): ParsedEntry[] {
  const byKey = new Map<string, ParsedEntry>();
  for (const e of entries) {
    const prev = byKey.get(e.key);
    if (prev === undefined) byKey.set(e.key, e);
    else if (prev.enabled && e.enabled) byKey.set(e.key, onActiveTwice(e.key, prev, e));
    else if (e.enabled || !prev.enabled) byKey.set(e.key, e);
  }
  return [...byKey.values()].sort((a, b) => a.line - b.line);
}
