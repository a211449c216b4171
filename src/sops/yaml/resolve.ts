/**
 * How sops (go-yaml v3 decoding into interface{}) types a YAML scalar, and which strings would be
 * read back as something else if printed plain. The rules were found by feeding scalars through
 * the real sops and reading back the `type:` it records for each value.
 */
import { parseGoFloat, parseGoInt } from '../gonum.js';
import { type GoTime, parseGoTimestamp } from '../gotime.js';

export type Resolved =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  /** An integer above int64: go-yaml yields a uint64, which sops cannot handle. */
  | { kind: 'uint' }
  | { kind: 'float'; value: number }
  | { kind: 'timestamp'; value: GoTime }
  /** The plain `<<` merge key. */
  | { kind: 'merge' }
  | { kind: 'str'; value: string };

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const INFS = new Set(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']);
const NEG_INFS = new Set(['-.inf', '-.Inf', '-.INF']);
const NANS = new Set(['.nan', '.NaN', '.NAN']);

/** Only plain scalars starting with one of these can be numbers or timestamps. */
const NUMERIC_START = /^[-+.0-9]/;
/** A decimal float as YAML spells it (checked after underscores are dropped; no hex floats). */
const FLOAT_FORM = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/**
 * The value of an untagged plain scalar.
 * - null: empty, `~`, `null`, `Null`, `NULL`; bool: only true/True/TRUE and false/False/FALSE
 *   (`yes`, `on`, … stay strings);
 * - ints: underscores are dropped anywhere, then Go's base-0 rules apply (0x, 0o, 0b and a bare
 *   leading 0 for octal, an optional sign); above int64 it is a uint64, below it a float;
 * - floats: `.inf`/`.nan` spellings, or a decimal form (underscores dropped) that Go can parse;
 *   out of range (1e400) stays a string; `09` and `08.5` are floats;
 * - timestamps: the date / date-time layouts go-yaml accepts (2024-01-02, 2001-12-14t21:59:43.10-05:00, …).
 */
export function resolvePlain(text: string): Resolved {
  if (NULLS.has(text)) return { kind: 'null' };
  if (TRUES.has(text)) return { kind: 'bool', value: true };
  if (FALSES.has(text)) return { kind: 'bool', value: false };
  if (INFS.has(text)) return { kind: 'float', value: Infinity };
  if (NEG_INFS.has(text)) return { kind: 'float', value: -Infinity };
  if (NANS.has(text)) return { kind: 'float', value: NaN };
  if (text === '<<') return { kind: 'merge' };
  if (NUMERIC_START.test(text)) {
    const digits = text.replace(/_/g, '');
    const i = parseGoInt(digits, 0, true);
    if (i !== null) return { kind: 'int', value: i };
    if (parseGoInt(digits, 0, false) !== null) return { kind: 'uint' };
    if (FLOAT_FORM.test(digits)) {
      const f = parseGoFloat(digits);
      if (f !== null) return { kind: 'float', value: f };
    }
    const t = parseGoTimestamp(text);
    if (t !== null) return { kind: 'timestamp', value: t };
  }
  return { kind: 'str', value: text };
}

export class TagError extends Error {}

const STD = 'tag:yaml.org,2002:';

/** `!!int` and `!<tag:yaml.org,2002:int>` name the same tag; returns the short name or null. */
function standardTag(tag: string): string | null {
  if (tag.startsWith(STD)) return tag.slice(STD.length);
  if (tag.startsWith('!!')) return tag.slice(2);
  return null;
}

function kindTagName(r: Resolved): string {
  switch (r.kind) {
    case 'uint':
      return 'int';
    case 'timestamp':
      return 'timestamp';
    default:
      return r.kind;
  }
}

/**
 * The value of a tagged scalar (or a quoted one when `tag` is null):
 * - `!!str` and local tags (`!foo`) give the text as a string; `!!binary` gives the base64-decoded
 *   text; `!` alone resolves like a plain scalar;
 * - other standard tags resolve the text as if it were plain (quoted or not) and must agree:
 *   `!!int "5"` is 5, `!!float 5` is the float 5, `!!int 1.5` or `!!bool yes` are errors.
 */
export function resolveTagged(tag: string | null, text: string, plain: boolean): Resolved {
  if (tag === null) return plain ? resolvePlain(text) : { kind: 'str', value: text };
  if (tag === '!') return resolvePlain(text);
  const name = standardTag(tag);
  if (name === null || name === 'str' || name === 'merge') return { kind: 'str', value: text };
  if (name === 'binary') {
    const clean = text.replace(/[\s]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
      throw new TagError('!!binary value contains invalid base64 data');
    }
    return { kind: 'str', value: Buffer.from(clean, 'base64').toString('utf8') };
  }
  const r = resolvePlain(text);
  if (name === 'float' && r.kind === 'int') return { kind: 'float', value: Number(r.value) };
  if (kindTagName(r) === name) return r;
  // The message leaves the value out: it could be a secret.
  throw new TagError(`cannot decode a !!${kindTagName(r)} value as a !!${name}`);
}

/** YAML 1.1 booleans: go-yaml quotes them so that older readers keep them strings. */
const OLD_BOOLS = new Set(
  ['y', 'yes', 'n', 'no', 'on', 'off'].flatMap((w) => [w, w[0]!.toUpperCase() + w.slice(1), w.toUpperCase()]),
);

/** YAML 1.1 sexagesimal numbers ("12:30", "1:30:00.5"), also quoted by go-yaml. */
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/**
 * True when a string printed plain would be read back as something else (a number, bool, null,
 * timestamp, `<<`), or as a bool/number by a YAML 1.1 reader: go-yaml double-quotes these.
 */
export function plainWouldChangeType(s: string): boolean {
  const r = resolvePlain(s);
  if (r.kind !== 'str') return true;
  return OLD_BOOLS.has(s) || BASE60.test(s);
}
