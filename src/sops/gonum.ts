/**
 * Numbers the way sops (a Go program) reads and writes them. The MAC covers the text of every
 * value, so an int, float or bool must turn into exactly the text Go would produce. Behaviour
 * follows the documented rules of Go's strconv and encoding/json; the implementation leans on
 * JavaScript's own shortest round-trip formatting (`toExponential()`), which yields the same
 * digits Go's shortest formatting does.
 */

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

// Go integer literals accepted by ParseInt with base 0: optional sign, a base prefix (0b, 0o, 0x,
// or a bare leading 0 for octal) and `_` allowed only between digits or right after a prefix.
const INT_BASE0: [RegExp, number][] = [
  [/^0[bB]((?:_?[01])+)$/, 2],
  [/^0[oO]((?:_?[0-7])+)$/, 8],
  [/^0[xX]((?:_?[0-9a-fA-F])+)$/, 16],
  [/^0((?:_?[0-7])*)$/, 8],
  [/^([1-9](?:_?[0-9])*)$/, 10],
];

function digitsFor(base: number): RegExp {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
  return new RegExp(`^[${alphabet.replace(/[a-z]+/, (m) => `${m[0]}-${m[m.length - 1]}`)}]+$`, 'i');
}

/**
 * strconv.ParseInt(s, base, 64) (signed) or ParseUint (unsigned). Base 0 takes the base from the
 * literal's prefix and permits underscores. Null when the text is not a number or out of range.
 */
export function parseGoInt(input: string, base: number, signed: boolean): bigint | null {
  let body = input;
  let negative = false;
  if (signed && (body.startsWith('+') || body.startsWith('-'))) {
    negative = body.startsWith('-');
    body = body.slice(1);
  }
  let digits: string | undefined;
  let radix = base;
  if (base === 0) {
    for (const [pattern, r] of INT_BASE0) {
      const m = pattern.exec(body);
      if (m) {
        digits = (m[1] as string).replaceAll('_', '') || '0';
        radix = r;
        break;
      }
    }
  } else if (digitsFor(base).test(body)) {
    digits = body;
  }
  if (digits === undefined) return null;
  let magnitude = 0n;
  for (const ch of digits.toLowerCase()) magnitude = magnitude * BigInt(radix) + BigInt(parseInt(ch, 36));
  if (!signed) return magnitude <= UINT64_MAX ? magnitude : null;
  const value = negative ? -magnitude : magnitude;
  return value >= INT64_MIN && value <= INT64_MAX ? value : null;
}

/** strconv.Atoi on a 64-bit platform: decimal only, optional sign. */
export function goAtoi(s: string): bigint | null {
  return parseGoInt(s, 10, true);
}

const DECIMAL_FLOAT = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * strconv.ParseFloat(s, 64) for decimal text: digits with an optional fraction and exponent,
 * `_` between digits, and the case-insensitive specials Inf/Infinity (signed) and NaN (unsigned).
 * Null on a syntax error or when the value overflows float64.
 */
export function parseGoFloat(input: string): number | null {
  const special = SPECIAL_FLOAT.exec(input);
  if (special) {
    if ((special[2] as string).toLowerCase() === 'nan') return special[1] ? null : NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!DECIMAL_FLOAT.test(input)) return null;
  const value = Number(input.replaceAll('_', ''));
  return Number.isFinite(value) ? value : null;
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'False', 'FALSE']);

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | null {
  return TRUE_WORDS.has(s) ? true : FALSE_WORDS.has(s) ? false : null;
}

/** A finite float as its shortest round-trip decimal digits: value = 0.DIGITS × 10^point. */
interface ShortestDecimal {
  negative: boolean;
  digits: string;
  point: number;
}

function shortestDecimal(x: number): ShortestDecimal {
  const negative = x < 0 || Object.is(x, -0);
  if (x === 0) return { negative, digits: '0', point: 1 };
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '').replace(/0+$/, '');
  return { negative, digits, point: Number(exponent) + 1 };
}

/** Positional notation with no exponent and no trailing zeros (Go's 'f' verb, precision -1). */
function positional({ negative, digits, point }: ShortestDecimal): string {
  let text: string;
  if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length);
  else text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  if (digits === '0') text = '0';
  return (negative ? '-' : '') + text;
}

/** d.ddd followed by e±XX with at least two exponent digits (Go's 'e' verb, precision -1). */
function scientific(
  { negative, digits, point }: ShortestDecimal,
  e: 'e' | 'E',
  minExponentDigits = 2,
): string {
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const exponent = digits === '0' ? 0 : point - 1;
  const sign = exponent < 0 ? '-' : '+';
  return `${negative ? '-' : ''}${mantissa}${e}${sign}${String(Math.abs(exponent)).padStart(minExponentDigits, '0')}`;
}

function nonFinite(x: number): string | undefined {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return undefined;
}

/**
 * strconv.FormatFloat(x, 'g', -1, 64): shortest digits, in scientific form when the decimal
 * exponent is below -4 or (for the shortest precision) 6 or more.
 */
export function formatFloatG(x: number, upper = false): string {
  const special = nonFinite(x);
  if (special) return special;
  const d = shortestDecimal(x);
  const exponent = d.point - 1;
  return exponent < -4 || exponent >= 6 ? scientific(d, upper ? 'E' : 'e') : positional(d);
}

/** strconv.FormatFloat(x, 'f', -1, 64). */
export function formatFloatF(x: number): string {
  return nonFinite(x) ?? positional(shortestDecimal(x));
}

/**
 * encoding/json's float64 text: positional between 1e-6 and 1e21, otherwise scientific with the
 * shortest exponent (`1e-7`, `1e+21`). NaN and infinities are not JSON: json.Marshal refuses them.
 */
export function formatJsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`json: unsupported value: ${formatFloatG(x)}`);
  const magnitude = Math.abs(x);
  const d = shortestDecimal(x);
  return magnitude !== 0 && (magnitude < 1e-6 || magnitude >= 1e21) ? scientific(d, 'e', 1) : positional(d);
}

/**
 * How sops turns a float into the text it encrypts: %G-style shortest form, with ".0" appended
 * when that form is a bare integer (so the value reads back as a float).
 */
export function valToStringFloat(x: number): string {
  const text = formatFloatG(x, true);
  return Number.isFinite(x) && !/[.E]/.test(text) ? `${formatFloatF(x)}.0` : text;
}
