/**
 * `application.properties` parser with `java.util.Properties.load` semantics.
 *
 * Hand-written on purpose: we need exactly Java's rules (plus the two deviations marked below) and
 * a line number for every error. Popular npm readers add dialects of their own (e.g. `[sections]`,
 * `${var}` interpolation) that would change what a Java application sees; the format is frozen and
 * small, so ~100 lines tested against the Java rules are easier to trust than a wrapper.
 *
 * Rules (Java's, with two deliberate differences marked *):
 * - Natural lines end with `\n`, `\r\n` or `\r`. Spaces, tabs and form feeds at a line's start are
 *   ignored; blank lines are ignored.
 * - A line whose first non-blank character is `#` or `!` is a comment. A comment never continues
 *   onto the next line, even when it ends with a backslash.
 * - A line ending with an odd number of backslashes continues on the next natural line; the
 *   backslash and the next line's leading blanks are dropped. A backslash at the end of the file is
 *   dropped.
 * - The key runs to the first unescaped `=`, `:`, space, tab or form feed. Blanks around the
 *   separator are skipped, and one `=` or `:` after blank separation too (`key = v`, `key v`).
 * - Escapes in key and value: `\t \n \r \f`, `\uXXXX` (malformed → ParseError), and `\c` → `c`
 *   for any other character (so `\=`, `\:`, `\ `, `\#`, `\!`, `\\`).
 * - Trailing blanks of a value are kept, as in Java.
 * - A key alone (`key`) has the empty value. The last definition of a key wins, as in Java.
 * - * An empty key (`=value`) is a ParseError: Java accepts it, but no store can name it.
 * - * Input is text already decoded as UTF-8 (Spring Boot reads UTF-8 too); `\uXXXX` still works.
 * - Properties have no disabled state: a commented-out property is simply absent.
 */
import { parseError, stripBom, type ParsedEntry } from './parsed.js';

const BLANK = new Set([' ', '\t', '\f']);

export function parseProperties(content: string, file: string): ParsedEntry[] {
  const natural = stripBom(content).split(/\r\n|\r|\n/);
  const byKey = new Map<string, ParsedEntry>();
  for (let i = 0; i < natural.length; i++) {
    const startLine = i + 1;
    let part = skipBlanks(natural[i] ?? '');
    if (part === '' || part.startsWith('#') || part.startsWith('!')) continue;
    // Parts are joined once at the end (growing one string and slicing it is quadratic). Only
    // the last part's own backslashes count: what precedes it ended with an even number.
    const parts: string[] = [];
    while (endsWithOddBackslashes(part)) {
      parts.push(part.slice(0, -1));
      part = '';
      if (i + 1 >= natural.length) break;
      i++;
      part = skipBlanks(natural[i] ?? '');
    }
    parts.push(part);
    const logical = parts.join('');
    const { rawKey, rawValue } = splitKeyValue(logical);
    const key = unescape(rawKey, file, startLine);
    if (key === '') throw parseError(file, startLine, 'empty property key');
    const value = unescape(rawValue, file, startLine);
    byKey.delete(key); // re-insert so iteration order follows the winning definition
    byKey.set(key, { key, value, enabled: true, line: startLine });
  }
  return [...byKey.values()];
}

function skipBlanks(s: string): string {
  let i = 0;
  while (i < s.length && BLANK.has(s[i] as string)) i++;
  return s.slice(i);
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function splitKeyValue(line: string): { rawKey: string; rawValue: string } {
  let keyLen = 0;
  let valueStart = line.length;
  let hasSeparator = false;
  let escaped = false;
  for (; keyLen < line.length; keyLen++) {
    const c = line[keyLen] as string;
    if (!escaped && (c === '=' || c === ':')) {
      valueStart = keyLen + 1;
      hasSeparator = true;
      break;
    }
    if (!escaped && BLANK.has(c)) {
      valueStart = keyLen + 1;
      break;
    }
    escaped = c === '\\' ? !escaped : false;
  }
  for (; valueStart < line.length; valueStart++) {
    const c = line[valueStart] as string;
    if (BLANK.has(c)) continue;
    if (!hasSeparator && (c === '=' || c === ':')) {
      hasSeparator = true;
      continue;
    }
    break;
  }
  return { rawKey: line.slice(0, keyLen), rawValue: line.slice(valueStart) };
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(raw: string, file: string, line: number): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = raw[++i];
    if (next === undefined) break;
    if (next === 'u') {
      const hex = raw.slice(i + 1, i + 5);
      if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw parseError(file, line, 'malformed \\uXXXX escape');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += ESCAPES[next] ?? next;
    }
  }
  return out;
}
