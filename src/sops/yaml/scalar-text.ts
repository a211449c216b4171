/**
 * The text of a scalar in each style, as sops (go-yaml v3) writes it. Lines are never folded.
 */
import { isBreak, isPrintable } from './scalar-style.js';

const SHORT_ESCAPES = new Map<number, string>([
  [0x00, '0'],
  [0x07, 'a'],
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0b, 'v'],
  [0x0c, 'f'],
  [0x0d, 'r'],
  [0x1b, 'e'],
  [0x22, '"'],
  [0x5c, '\\'],
  [0x85, 'N'],
  [0xa0, '_'],
  [0x2028, 'L'],
  [0x2029, 'P'],
]);

function escape(cp: number): string {
  const short = SHORT_ESCAPES.get(cp);
  if (short !== undefined) return '\\' + short;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

/**
 * Double quotes: line breaks, tabs, `"`, `\` and every non-printable character are escaped, with the
 * short forms (\n, \t, \N, \L, …) where YAML has one, else \xXX, \uXXXX or \UXXXXXXXX (upper-case
 * hex). Quirk: when the string starts with U+FEFF, every character of it is escaped.
 */
export function doubleQuoted(s: string): string {
  const all = s.startsWith('\uFEFF');
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    const plain = !all && isPrintable(cp) && !isBreak(cp) && cp !== 0x09 && ch !== '"' && ch !== '\\';
    out += plain ? ch : escape(cp);
  }
  return out + '"';
}

/**
 * Single quotes: `'` is doubled. A line break (only U+2028/U+2029 can get here) is written as it
 * is, and the next character starts with the indentation of a continuation line.
 */
export function singleQuoted(s: string, indent: number): string {
  let out = "'";
  let afterBreak = false;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (isBreak(cp)) {
      out += ch;
      afterBreak = true;
      continue;
    }
    if (afterBreak) out += ' '.repeat(indent);
    afterBreak = false;
    out += ch === "'" ? "''" : ch;
  }
  return out + "'";
}

/**
 * A literal block: the header (`|`, with an indentation indicator of 4 when the text starts with
 * a space or a line break, then `-` without a final line break, `+` with several or when the text
 * is only line breaks) and the body, which starts on the next line. Each line is indented,
 * empty lines stay empty.
 */
export function literalBlock(s: string, indent: number): { header: string; body: string } {
  const cps = [...s];
  const lastBreak = cps.length > 0 && isBreak(cps[cps.length - 1]!.codePointAt(0) as number);
  const prevBreak = cps.length > 1 && isBreak(cps[cps.length - 2]!.codePointAt(0) as number);
  let header = '|';
  const firstCp = cps[0]?.codePointAt(0);
  if (firstCp !== undefined && (firstCp === 0x20 || isBreak(firstCp))) header += '4';
  if (!lastBreak) header += '-';
  else if (cps.length === 1 || prevBreak) header += '+';
  let body = '';
  let atLineStart = true;
  for (const ch of cps) {
    const cp = ch.codePointAt(0) as number;
    if (isBreak(cp)) {
      body += ch;
      atLineStart = true;
      continue;
    }
    if (atLineStart) body += ' '.repeat(indent);
    atLineStart = false;
    body += ch;
  }
  return { header, body };
}
