/**
 * `application.secrets.env` parser.
 *
 * Rules (one logical line per physical line; `\r\n` and `\n` both end a line):
 * - Blank lines are ignored. Leading spaces/tabs on a line are ignored.
 * - Active line: `[export ]KEY=value`. KEY matches `[A-Za-z_][A-Za-z0-9_.-]*`; spaces or tabs may
 *   surround the `=`. Anything else is a ParseError naming the file and line.
 * - Values:
 *   - `"double quoted"`: `\n` `\r` `\t` `\"` `\\` are escapes; any other backslash is kept as is.
 *   - `'single quoted'`: literal, no escapes.
 *   - After a closing quote only spaces and an optional `# comment` may follow.
 *   - Unquoted: literal (a backslash is just a backslash); a `#` preceded by a space or tab starts
 *     an inline comment (so `KEY= #x` is empty, `KEY=a#b` is `a#b`); trailing blanks are dropped.
 *     Use double quotes for multi-line values: they survive a `sops` round trip unchanged.
 *   - `KEY=` is an empty value.
 * - Comment lines start with `#`. Strip that one `#` and any spaces after it; if the rest is an
 *   assignment whose KEY is followed *immediately* by `=` (`#KEY=v`, `# export KEY="v"`) and whose
 *   value parses by the rules above, the line defines KEY as a **disabled** entry. Every other
 *   comment is prose: `# Timeout = 30s` (space before `=`), `# see https://x?a=b`, `## KEY=v`
 *   (write `##` to keep an example line out of the store).
 * - Same key twice: an active definition beats a commented-out one whatever the order; of two
 *   commented-out ones the later wins; two active definitions are a DuplicateKey error (in a
 *   secrets file that is almost always a merge mistake, and silently picking one hides it).
 */
import {
  KEY_IDENT,
  duplicateKeyError,
  mergeDefinitions,
  parseError,
  stripBom,
  type ParsedEntry,
} from './parsed.js';

type ValueResult = { ok: true; value: string } | { ok: false; reason: string };

export function parseEnv(content: string, file: string): ParsedEntry[] {
  const found: ParsedEntry[] = [];
  const lines = stripBom(content).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const text = (lines[i] ?? '').replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (text === '') continue;
    if (text.startsWith('#')) {
      const disabled = parseAssignment(text.slice(1).replace(/^[ \t]+/, ''), true);
      if (disabled.ok) found.push({ key: disabled.key, value: disabled.value, enabled: false, line: lineNo });
      continue;
    }
    const active = parseAssignment(text, false);
    if (!active.ok) throw parseError(file, lineNo, active.reason);
    found.push({ key: active.key, value: active.value, enabled: true, line: lineNo });
  }
  return mergeDefinitions(found, (key, first, second) => {
    throw duplicateKeyError(file, key, first.line, second.line);
  });
}

type AssignmentResult = { ok: true; key: string; value: string } | { ok: false; reason: string };

function parseAssignment(text: string, commented: boolean): AssignmentResult {
  const exportMatch = /^export[ \t]+/.exec(text);
  const afterExport = exportMatch ? text.slice(exportMatch[0].length) : text;
  const keyMatch = KEY_IDENT.exec(afterExport);
  if (!keyMatch) {
    return { ok: false, reason: text.includes('=') ? 'invalid key name' : 'expected KEY=value' };
  }
  const key = keyMatch[0];
  let rest = afterExport.slice(key.length);
  if (!commented) rest = rest.replace(/^[ \t]+/, '');
  if (!rest.startsWith('=')) {
    return { ok: false, reason: rest.includes('=') ? 'invalid key name' : 'expected KEY=value' };
  }
  const value = parseValue(rest.slice(1));
  return value.ok ? { ok: true, key, value: value.value } : value;
}

function parseValue(raw: string): ValueResult {
  // A `#` after blanks is a comment, including the blanks right after `=`.
  if (/^[ \t]+#/.test(raw)) return { ok: true, value: '' };
  const text = raw.replace(/^[ \t]+/, '');
  if (text.startsWith('"')) return parseDoubleQuoted(text);
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    if (end < 0) return { ok: false, reason: 'unterminated single-quoted value' };
    return afterClosingQuote(text.slice(end + 1), text.slice(1, end));
  }
  const comment = /[ \t]#/.exec(text);
  const value = comment ? text.slice(0, comment.index) : text;
  return { ok: true, value: trimBlanksEnd(value) };
}

/** Drop trailing spaces and tabs (a loop: `/[ \t]+$/` is quadratic on a long run of blanks). */
function trimBlanksEnd(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  return s.slice(0, end);
}

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

function parseDoubleQuoted(text: string): ValueResult {
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') return afterClosingQuote(text.slice(i + 1), out);
    if (c === '\\' && i + 1 < text.length) {
      const next = text[i + 1] as string;
      out += DOUBLE_QUOTE_ESCAPES[next] ?? c + next;
      i++;
      continue;
    }
    out += c;
  }
  return { ok: false, reason: 'unterminated double-quoted value' };
}

function afterClosingQuote(tail: string, value: string): ValueResult {
  return /^[ \t]*(#.*)?$/.test(tail)
    ? { ok: true, value }
    : { ok: false, reason: 'unexpected characters after the closing quote' };
}
