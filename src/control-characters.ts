/**
 * Text bound for a terminal (msmctl's tables, lines and errors; the controller's Event and condition
 * messages that `kubectl` prints) must not carry characters a terminal acts on: a key named
 * `a\e]0;PWNED\a` would retitle the window, `x\nFAKE-ROW` would print a row of its own, and a
 * right-to-left override would reorder what follows. These are C0 controls (U+0000–U+001F), DEL,
 * C1 controls (U+0080–U+009F), the bidirectional marks, embeddings, overrides and isolates, and the
 * line and paragraph separators.
 */

/** Every character a terminal may act on rather than print (a character class). */
const CLASS =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]';
const ALL = new RegExp(CLASS, 'g');
const ANY = new RegExp(CLASS);

export function hasControlCharacters(text: string): boolean {
  return ANY.test(text);
}

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(c: string): string {
  const short = SHORT[c];
  if (short) return short;
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * `text` with every control character spelled out (`\n`, `\r`, `\t`, `\x1b`, `\u202E`), so it shows
 * as one line of inert characters. Idempotent; other text, backslashes included, is left as is.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(ALL, escapeOne);
}
