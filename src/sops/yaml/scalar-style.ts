/**
 * Which style sops (go-yaml v3) prints a string in: plain, 'single', "double" or a literal block.
 *
 * Rules, found by printing strings through the real sops:
 * - a string with "\n" asks for a literal block; one that would read back as another type (see
 *   plainWouldChangeType) or that holds a tab asks for double quotes; anything else asks for
 *   plain;
 * - quirk: a literal block whose text starts with a tab comes out as a plain `null`;
 * - plain is refused for: leading/trailing spaces or line breaks, any line break (including
 *   U+2028/U+2029), a first character among `#,[]{}&*!|>'"%@` and backtick, a first `-`, `?` or
 *   `:` followed by a space or the end, `: ` or a final `:` anywhere, ` #` anywhere, a leading
 *   `---` or `...`. It then falls back to single quotes;
 * - single quotes are refused after a line break followed by a space, or a space followed by a
 *   line break, or for any "special" character (see isPrintable), and fall back to double quotes;
 * - a literal block is refused for the same space/break pairs, special characters or trailing
 *   spaces, and falls back to double quotes;
 * - keys longer than 128 UTF-8 bytes, or with a line break, are not "simple": they are printed
 *   after `? `. Simple keys never use a literal block;
 * - the string `<<` is printed plain with an explicit `!!merge` tag.
 */
import { plainWouldChangeType } from './resolve.js';

/** `null-literal`: go-yaml's output for a literal block that would start with a tab is `null`. */
export type Style = 'plain' | 'single' | 'double' | 'literal' | 'null-literal';

/** Line breaks as YAML 1.1 printers see them. */
export function isBreak(cp: number): boolean {
  return cp === 0x0a || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
}

/**
 * Characters go-yaml prints as they are. Everything else (controls, CR, NEL, DEL, C1 controls,
 * U+FEFF, U+FFFE/U+FFFF, surrogates and every character above U+FFFF) is "special" and forces
 * double quotes with an escape.
 */
export function isPrintable(cp: number): boolean {
  return (
    cp === 0x09 ||
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

const FIRST_INDICATORS = new Set([...'#,[]{}&*!|>\'"%@`']);

interface Analysis {
  multiline: boolean;
  plainAllowed: boolean;
  singleAllowed: boolean;
  blockAllowed: boolean;
}

function analyze(s: string): Analysis {
  const cps = [...s].map((c) => c.codePointAt(0) as number);
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let prevSpace = false;
  let prevBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWs = true;
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i] as number;
    const ch = String.fromCodePoint(cp);
    const next = cps[i + 1];
    const followedByWs = next === undefined || next === 0x20 || next === 0x09 || isBreak(next);
    const first = i === 0;
    const last = i === cps.length - 1;
    if (first) {
      if (FIRST_INDICATORS.has(ch)) blockIndicators = true;
      else if ((ch === '?' || ch === ':' || ch === '-') && followedByWs) blockIndicators = true;
    } else if (ch === ':' && followedByWs) blockIndicators = true;
    else if (ch === '#' && precededByWs) blockIndicators = true;
    if (!isPrintable(cp)) special = true;
    if (isBreak(cp)) lineBreaks = true;
    if (cp === 0x20) {
      if (first) leadingSpace = true;
      if (last) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak(cp)) {
      if (first) leadingBreak = true;
      if (last) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevBreak = true;
      prevSpace = false;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = cp === 0x20 || cp === 0x09 || isBreak(cp);
  }
  let plainAllowed = true;
  let singleAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) plainAllowed = false;
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) plainAllowed = singleAllowed = false;
  if (spaceBreak || special) plainAllowed = singleAllowed = blockAllowed = false;
  if (lineBreaks || blockIndicators) plainAllowed = false;
  return { multiline: lineBreaks, plainAllowed, singleAllowed, blockAllowed };
}

export interface ScalarChoice {
  style: Style;
  /** An explicit tag to print before the scalar. */
  tag?: string;
}

/** The style of a string printed as a value in block context. */
export function valueStyle(s: string): ScalarChoice {
  if (s === '<<') return { style: 'plain', tag: '!!merge' };
  const a = analyze(s);
  if (s.includes('\n')) {
    if (!a.blockAllowed) return { style: 'double' };
    return { style: s.startsWith('\t') ? 'null-literal' : 'literal' };
  }
  if (plainWouldChangeType(s) || s.includes('\t')) return { style: 'double' };
  if (a.plainAllowed) return { style: 'plain' };
  return { style: a.singleAllowed ? 'single' : 'double' };
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The style of a mapping key, and whether it fits on one line as a simple `key: value`. */
export function keyStyle(s: string): ScalarChoice & { simple: boolean } {
  const choice = valueStyle(s);
  if (choice.style === 'null-literal') return { ...choice, simple: true };
  const simple = utf8Length(s) <= 128 && !analyze(s).multiline;
  return { ...choice, simple };
}
