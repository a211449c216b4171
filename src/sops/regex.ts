/**
 * sops evaluates encrypted_regex, unencrypted_regex and the comment regexes with Go's regexp
 * (`regexp.Match`: RE2 syntax, an unanchored search). re2js is a port of Go's regexp: the same
 * syntax and semantics (`\pL`, `\s` without `\v`, `.` matching `\r`, `(?U)`, `\z`, `\Q…\E`…)
 * and the same linear-time matching. JavaScript's own RegExp backtracks, so a pattern such as
 * `(a+)+$` in a file's metadata would block the event loop for minutes; this cannot.
 */
import { RE2JS } from 're2js';

/** Compiled patterns; bounded, since patterns come from files. */
const cache = new Map<string, RE2JS>();
const CACHE_MAX = 256;

/** Thrown for a pattern Go's regexp refuses; the message is Go's. */
export class GoRegexSyntaxError extends Error {
  override readonly name = 'GoRegexSyntaxError';
}

export function compileGoRegex(pattern: string): RE2JS {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re: RE2JS;
  try {
    re = compileOrRenameGroups(pattern);
  } catch (e) {
    throw new GoRegexSyntaxError(e instanceof Error ? e.message : String(e));
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, re);
  return re;
}

/** Go's `regexp.Match(pattern, []byte(s))`. Throws GoRegexSyntaxError for an invalid pattern. */
export function goRegexMatch(pattern: string, s: string): boolean {
  return compileGoRegex(pattern).test(s);
}

/** Why Go would refuse `pattern`, or undefined when it is a valid Go regular expression. */
export function goRegexProblem(pattern: string): string | undefined {
  try {
    compileGoRegex(pattern);
    return undefined;
  } catch (e) {
    if (e instanceof GoRegexSyntaxError) return e.message;
    throw e;
  }
}

/**
 * Go accepts two capture groups of one name (`(?P<x>a)|(?P<x>b)`); RE2 and re2js refuse them.
 * Names do not change what matches, so such a pattern is compiled with every group renamed.
 */
function compileOrRenameGroups(pattern: string): RE2JS {
  try {
    return RE2JS.compile(translate(pattern, false));
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes('duplicate capture group name')) throw e;
    return RE2JS.compile(translate(pattern, true));
  }
}

/**
 * Since Go 1.25, `\p{…}` names are looked up ignoring case, spaces, `_` and `-` (`\p{greek}`,
 * `\pl`), with Unicode's long category names (`\p{Letter}`) and `ASCII`; re2js knows only the
 * exact names. Go's `canonicalName`: first letter upper case, the rest lower case, separators gone.
 */
function canonicalName(name: string): string {
  const bare = name.replace(/[-_ ]/g, '');
  return bare.slice(0, 1).toUpperCase() + bare.slice(1).toLowerCase();
}

/** Go's unicode.CategoryAliases, keyed by canonical name. */
const CATEGORY_ALIASES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    Cased_Letter: 'LC',
    Close_Punctuation: 'Pe',
    Combining_Mark: 'M',
    Connector_Punctuation: 'Pc',
    Control: 'Cc',
    Currency_Symbol: 'Sc',
    Dash_Punctuation: 'Pd',
    Decimal_Number: 'Nd',
    Enclosing_Mark: 'Me',
    Final_Punctuation: 'Pf',
    Format: 'Cf',
    Initial_Punctuation: 'Pi',
    Letter: 'L',
    Letter_Number: 'Nl',
    Line_Separator: 'Zl',
    Lowercase_Letter: 'Ll',
    Mark: 'M',
    Math_Symbol: 'Sm',
    Modifier_Letter: 'Lm',
    Modifier_Symbol: 'Sk',
    Nonspacing_Mark: 'Mn',
    Number: 'N',
    Open_Punctuation: 'Ps',
    Other: 'C',
    Other_Letter: 'Lo',
    Other_Number: 'No',
    Other_Punctuation: 'Po',
    Other_Symbol: 'So',
    Paragraph_Separator: 'Zp',
    Private_Use: 'Co',
    Punctuation: 'P',
    Separator: 'Z',
    Space_Separator: 'Zs',
    Spacing_Mark: 'Mc',
    Surrogate: 'Cs',
    Symbol: 'S',
    Titlecase_Letter: 'Lt',
    Unassigned: 'Cn',
    Uppercase_Letter: 'Lu',
    cntrl: 'Cc',
    digit: 'Nd',
    punct: 'P',
  }).map(([name, category]) => [canonicalName(name), category]),
);

/** `\p…`/`\P…` as re2js spells it (`inClass`: inside `[…]`); unknown names are left for re2js to refuse. */
function unicodeClass(sign: 'p' | 'P', rawName: string, inClass: boolean): string | undefined {
  let negated = sign === 'P';
  let name = rawName;
  if (name.startsWith('^')) {
    negated = !negated;
    name = name.slice(1);
  }
  const canonical = canonicalName(name);
  if (canonical === 'Ascii') {
    const range = negated ? '\\x{80}-\\x{10FFFF}' : '\\x00-\\x7F';
    return inClass ? range : `[${range}]`;
  }
  const known = canonical === 'Lc' ? 'LC' : (CATEGORY_ALIASES.get(canonical) ?? canonical);
  return `\\${negated ? 'P' : 'p'}{${known}}`;
}

/**
 * `pattern` as re2js reads it the way Go does: `\p` names resolved as Go resolves them, and (with
 * `renameGroups`) named groups renamed `g0`, `g1`…. Escapes, `\Q…\E` and classes are skipped over.
 */
function translate(pattern: string, renameGroups: boolean): string {
  const group = /\(\?P?<[A-Za-z0-9_]+>/y;
  const unicode = /\\([pP])(\{[^}]*\}|[^{])/uy;
  const classStart = /\[\^?\]?/y;
  let out = '';
  let n = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length;) {
    let take = 1;
    let text: string | undefined;
    unicode.lastIndex = i;
    const u = pattern[i] === '\\' ? unicode.exec(pattern) : null;
    if (u) {
      take = u[0].length;
      const [, sign, spec] = u as unknown as [string, 'p' | 'P', string];
      text = unicodeClass(sign, spec.startsWith('{') ? spec.slice(1, -1) : spec, inClass);
    } else if (pattern.startsWith('\\Q', i)) {
      const end = pattern.indexOf('\\E', i + 2);
      take = end < 0 ? pattern.length - i : end + 2 - i;
    } else if (pattern[i] === '\\') {
      take = 2;
    } else if (inClass) {
      if (pattern.startsWith('[:', i)) {
        const end = pattern.indexOf(':]', i + 2);
        if (end >= 0) take = end + 2 - i;
      } else if (pattern[i] === ']') inClass = false;
    } else if (pattern[i] === '[') {
      inClass = true;
      classStart.lastIndex = i;
      take = (classStart.exec(pattern) as RegExpExecArray)[0].length;
    } else if (renameGroups) {
      group.lastIndex = i;
      const m = group.exec(pattern);
      if (m) {
        take = m[0].length;
        text = `(?P<g${n++}>`;
      }
    }
    out += text ?? pattern.slice(i, i + take);
    i += take;
  }
  return out;
}
