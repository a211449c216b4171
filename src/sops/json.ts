/**
 * sops' JSON store: an order-preserving JSON reader (duplicate keys kept, numbers as Go int or
 * float64) and the writer sops uses: Go's json.Marshal for scalars, re-indented with tabs.
 */
import { SmcError } from '../errors.js';
import { MAX_YAML_DEPTH } from '../limits/yaml.js';
import { formatJsonFloat } from './gonum.js';
import { formatRFC3339Nano } from './gotime.js';
import { parseGoFloat, parseGoInt } from './gonum.js';
import {
  Branch,
  Comment,
  GoBytes,
  GoFloat,
  GoInt,
  GoTimeValue,
  RawString,
  type TreeValue,
} from './values.js';

class JsonSyntax extends Error {}

/** Objects and arrays open at once: the reader (and the tree walk after it) recurse per level. */
const MAX_DEPTH = MAX_YAML_DEPTH;

class Reader {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  private ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  private fail(what: string): never {
    throw new JsonSyntax(`${what} at offset ${this.i}`);
  }

  topObject(): Branch {
    this.ws();
    const c = this.s[this.i];
    if (c !== '{') {
      if (c === '[') this.fail('SOPS only supports JSON files with a top-level object, not arrays');
      this.fail('SOPS only supports JSON files with a top-level object');
    }
    this.i++;
    return this.object();
  }

  private object(): Branch {
    const b = new Branch();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return b;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected an object key');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      b.items.push({ key, value: this.value() });
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return b;
      }
      this.fail("expected ',' or '}'");
    }
  }

  private array(): TreeValue[] {
    const out: TreeValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  private value(): TreeValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      if (++this.depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
      this.i++;
      const v = c === '{' ? this.object() : this.array();
      this.depth--;
      return v;
    }
    if (c === '"') return this.string();
    if (this.s.startsWith('true', this.i)) {
      this.i += 4;
      return true;
    }
    if (this.s.startsWith('false', this.i)) {
      this.i += 5;
      return false;
    }
    if (this.s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m || m[0] === '' || m[0] === '-') this.fail('invalid value');
    this.i += m[0].length;
    const text = m[0];
    const iv = parseGoInt(text, 10, true);
    if (iv !== null) return new GoInt(iv);
    const f = parseGoFloat(text);
    if (f === null) this.fail('number out of range');
    return new GoFloat(f);
  }

  private string(): string {
    this.i++; // opening quote
    let out = '';
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\') {
        const e = this.s[this.i + 1];
        this.i += 2;
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const h = this.s.slice(this.i, this.i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape');
            this.i += 4;
            let cp = Number.parseInt(h, 16);
            if (cp >= 0xd800 && cp < 0xdc00) {
              const h2 = this.s.slice(this.i + 2, this.i + 6);
              if (this.s.startsWith('\\u', this.i) && /^[0-9a-fA-F]{4}$/.test(h2)) {
                const lo = Number.parseInt(h2, 16);
                if (lo >= 0xdc00 && lo < 0xe000) {
                  this.i += 6;
                  out += String.fromCodePoint(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
                  break;
                }
              }
              cp = 0xfffd;
            } else if (cp >= 0xdc00 && cp < 0xe000) {
              cp = 0xfffd;
            }
            out += String.fromCharCode(cp);
            break;
          }
          default:
            this.fail('invalid escape');
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.fail('control character in string');
      out += c;
      this.i++;
    }
  }
}

export function loadJson(content: Uint8Array, fileName: string): Branch[] {
  // Go's decoder replaces invalid UTF-8 with U+FFFD, as does this decoding.
  const text = Buffer.from(content).toString('utf8');
  try {
    return [new Reader(text).topObject()];
  } catch (e) {
    if (e instanceof JsonSyntax)
      throw new SmcError('SopsInvalidFile', `${fileName}: not valid JSON: ${e.message}`);
    throw e;
  }
}

const HEX = '0123456789abcdef';

/** Go json.Marshal of a string (HTML-safe escaping, U+2028/2029 escaped). */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) {
        out += ch;
        continue;
      }
      switch (c) {
        case 0x22:
          out += '\\"';
          break;
        case 0x5c:
          out += '\\\\';
          break;
        case 0x08:
          out += '\\b';
          break;
        case 0x0c:
          out += '\\f';
          break;
        case 0x0a:
          out += '\\n';
          break;
        case 0x0d:
          out += '\\r';
          break;
        case 0x09:
          out += '\\t';
          break;
        default:
          out += '\\u00' + HEX[c >> 4] + HEX[c & 0xf];
      }
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += c === 0x2028 ? '\\u2028' : '\\u2029';
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd';
      continue;
    }
    out += ch;
  }
  return out + '"';
}

function scalarJson(v: TreeValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof GoInt) return v.value.toString();
  if (v instanceof GoFloat) return formatJsonFloat(v.value);
  if (v instanceof GoTimeValue) return goJsonString(formatRFC3339Nano(v.value));
  if (v instanceof GoBytes) return goJsonString(Buffer.from(v.value).toString('base64'));
  if (v instanceof RawString) return goJsonString(Buffer.from(v.bytes).toString('utf8'));
  if (v instanceof Comment) return 'null';
  throw new Error('not a scalar');
}

function encode(v: TreeValue, depth: number, out: string[]): void {
  if (v instanceof Branch) {
    const items = v.items.filter((it) => !(it.key instanceof Comment));
    if (items.length === 0) {
      out.push('{}');
      return;
    }
    out.push('{');
    items.forEach((it, i) => {
      out.push(i === 0 ? '\n' : ',\n', '\t'.repeat(depth + 1), goJsonString(it.key as string), ': ');
      encode(it.value, depth + 1, out);
    });
    out.push('\n', '\t'.repeat(depth), '}');
    return;
  }
  if (Array.isArray(v)) {
    const items = v.filter((x) => !(x instanceof Comment));
    if (items.length === 0) {
      out.push('[]');
      return;
    }
    out.push('[');
    items.forEach((x, i) => {
      out.push(i === 0 ? '\n' : ',\n', '\t'.repeat(depth + 1));
      encode(x, depth + 1, out);
    });
    out.push('\n', '\t'.repeat(depth), ']');
    return;
  }
  out.push(scalarJson(v));
}

/** sops' JSON EmitPlainFile: the first branch, tab-indented, with a trailing newline. */
export function emitJson(branches: Branch[], fileName: string): Uint8Array {
  const out: string[] = [];
  try {
    encode(branches[0] ?? new Branch(), 0, out);
  } catch (e) {
    throw new SmcError(
      'SopsInvalidFile',
      `${fileName}: cannot write the decrypted JSON: ${(e as Error).message}`,
    );
  }
  out.push('\n');
  return Buffer.from(out.join(''), 'utf8');
}
