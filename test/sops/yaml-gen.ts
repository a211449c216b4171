/**
 * Random YAML documents for differential tests against the real sops: nested mappings and lists,
 * scalars of many kinds written in every style, keys that need quoting, unicode, multi-line
 * strings, and comments in many positions. Deterministic for a given seed.
 */

export type Rand = () => number;

/** mulberry32 */
export function seeded(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const chance = (r: Rand, p: number): boolean => r() < p;

/** Scalars written exactly like this (numbers, bools, nulls, timestamps, plain words). */
const PLAIN_SCALARS = [
  '0',
  '42',
  '-17',
  '+5',
  '0x1F',
  '0o17',
  '0755',
  '1_000',
  '9223372036854775807',
  '-9223372036854775808',
  '3.14159',
  '1e10',
  '1.0',
  '.5',
  '-0.0',
  '.inf',
  '-.Inf',
  '.nan',
  '1234567.0',
  '1.5e-7',
  '100000000.0',
  '09',
  'true',
  'false',
  'True',
  'FALSE',
  'null',
  '~',
  'Null',
  '2024-01-02',
  '2001-12-14t21:59:43.10-05:00',
  '2001-12-14 21:59:43.10',
  '2024-1-2',
  'yes',
  'no',
  'on',
  'Off',
  'y',
  'n',
  'plain',
  'plain words here',
  'ENC',
  'a-b_c.d/e',
  'x:y',
  'a,b',
  'tRue',
  '12:30',
  '1.2.3',
  'http://example.com/a?b=c#d',
  'é',
  'naïve café',
  '日本語',
  'x=1',
  '-x',
  '?x',
  'a[b]',
];

/** Strings that exercise go-yaml's choice of quoting style. */
const STRINGS = [
  '',
  ' ',
  '  ',
  'yes',
  'No',
  'ON',
  '123',
  '-1.5',
  'true',
  'null',
  '~',
  '0x1F',
  '1e400',
  '1_',
  'a: b',
  'a:',
  'a #b',
  'a#b',
  '#x',
  '- x',
  '-',
  '--',
  '---',
  '--- x',
  '...',
  '? x',
  '?',
  ':x',
  ': x',
  '[a]',
  'a]',
  '{a}',
  '*a',
  '&a',
  '!a',
  '|',
  '>',
  "'q'",
  "it's",
  '"dq"',
  '%p',
  '@at',
  '`bt`',
  ',x',
  'a\tb',
  '\t',
  'multi\nline',
  'trail\n',
  'two\n\n',
  '\nlead',
  '\n',
  '\n\n',
  ' lead',
  'trail ',
  'sp \nbrk',
  'brk\n sp',
  'a\n\nb',
  'line\n  indented\nback',
  'é',
  '日本語',
  'emoji 🎉',
  '\u2028',
  'x\u2028y',
  'x\u2029',
  'a\u0085b',
  '\ufeffbom',
  'x\ufeffy',
  'nb\u00a0sp',
  '\u0001ctl',
  'del\u007f',
  'c1\u0080',
  'a\r\nb',
  'cr\r',
  '12:30',
  '1:2:3',
  '2024-01-02',
  '<<',
  'x'.repeat(130),
  'word '.repeat(30).trim(),
  'ü'.repeat(70),
  'ends with colon:',
  'quote \' and "',
  'back\\slash',
  '\\',
  'tab\tand\nnewline',
  '\u00a0',
  'a\u00a0',
  'multi\nline\nwith trailing spaces  \nok',
  'sp\u2028 x',
  '\ud7ff\ue000\ufffd',
  'x\ufffe',
];

const KEYS = [
  'a',
  'b',
  'key',
  'name',
  'value',
  'list',
  'nested',
  'x_y',
  'with space',
  'UPPER',
  'n',
  'y',
  'yes',
  'on',
  'null',
  '123',
  '1.5',
  'true',
  '',
  ' ',
  'a: b',
  '#hash',
  '- dash',
  'q"uote',
  "s'q",
  'é',
  '日本',
  '🎉key',
  'k'.repeat(129),
  'tab\tkey',
  'multi\nline',
  'trailing\n',
  '<<',
  'x:',
  '*star',
  '[br]',
  '~',
  '2024-01-02',
  'password_unencrypted',
  'data',
  'stringData',
  'secret_enc',
  'label',
  'enc\u2028ls',
];

const COMMENT_TEXTS = [
  ' comment',
  'tight',
  ' with # hash',
  ' ünïcode ✓',
  '',
  ' trailing  ',
  ' --- x',
  ' a: b',
];

function yamlDoubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (
      cp < 0x20 ||
      (cp >= 0x7f && cp <= 0x9f) ||
      cp === 0x2028 ||
      cp === 0x2029 ||
      cp === 0xfeff ||
      cp === 0xfffe
    )
      out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

const SAFE_PLAIN = /^[A-Za-z][A-Za-z0-9 _./-]*[A-Za-z0-9]$/;
const RESERVED = /^(y|yes|n|no|on|off|true|false|null)$/i;

/** A YAML spelling of the string `s` (a flow scalar on one line). */
function quote(r: Rand, s: string): string {
  if (SAFE_PLAIN.test(s) && !RESERVED.test(s) && !s.includes('  ') && chance(r, 0.6)) return s;
  const simple = [...s].every((c) => c >= ' ' && c <= '~') || /^[\p{L}\p{N} .,:;!?'-]*$/u.test(s);
  if (simple && !s.includes('\n') && chance(r, 0.4)) return "'" + s.replace(/'/g, "''") + "'";
  return yamlDoubleQuoted(s);
}

type Gen =
  | { t: 'scalar'; text: string; block?: string[] }
  | { t: 'map'; entries: [string, Gen][] }
  | { t: 'seq'; items: Gen[] };

function randomString(r: Rand): string {
  const alphabet = 'abcXYZ019 _-:#\'"{}[],&*!|>%@`?é日🎉\t\n\\';
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += pick(r, [...alphabet]);
  return s;
}

/** A literal block for a multi-line string, when one can spell it exactly. */
function literalFor(s: string): string[] | null {
  if (!s.includes('\n') || /^[ \n]/.test(s) || /[^\S\n ]|[\u0085\u2028\u2029\ufeff]/u.test(s)) return null;
  if (/ \n| $/.test(s) || /\n[ ]*\n[ ]+/.test(s)) return null;
  if (![...s].every((c) => c === '\n' || (c >= ' ' && c !== '\u007f'))) return null;
  const trailing = /\n*$/.exec(s)?.[0].length ?? 0;
  const header = trailing === 0 ? '|-' : trailing === 1 ? '|' : '|+';
  const body = s.slice(0, s.length - trailing);
  return [header, ...body.split('\n'), ...Array.from({ length: Math.max(0, trailing - 1) }, () => '')];
}

function genScalar(r: Rand): Gen {
  const roll = r();
  if (roll < 0.35) return { t: 'scalar', text: pick(r, PLAIN_SCALARS) };
  const s = roll < 0.85 ? pick(r, STRINGS) : randomString(r);
  const block = literalFor(s);
  if (block && chance(r, 0.6)) return { t: 'scalar', text: s, block };
  return { t: 'scalar', text: quote(r, s) };
}

function genNode(r: Rand, depth: number): Gen {
  const roll = r();
  if (depth <= 0 || roll < 0.5) return genScalar(r);
  if (roll < 0.8) return genMap(r, depth - 1);
  const n = Math.floor(r() * 4);
  return { t: 'seq', items: Array.from({ length: n }, () => genNode(r, depth - 1)) };
}

function genMap(r: Rand, depth: number, top = false): Gen & { t: 'map' } {
  const n = Math.floor(r() * (top ? 7 : 4)) + (top ? 1 : 0);
  const used = new Set<string>();
  const entries: [string, Gen][] = [];
  for (let i = 0; i < n; i++) {
    let k = chance(r, 0.8) ? pick(r, KEYS) : randomString(r);
    if (top && k === 'sops') k = 'notsops';
    if (used.has(k)) continue;
    used.add(k);
    // A `<<` key is a merge: go-yaml wants a mapping there.
    entries.push([k, k === '<<' ? genMap(r, depth) : genNode(r, depth)]);
  }
  return { t: 'map', entries };
}

export interface GenOptions {
  /** Probability of a comment at each place one can go. */
  comments: number;
  /** Allow comments inside lists (sops then fails its own MAC check). */
  listComments: boolean;
}

class Writer {
  lines: string[] = [];
  constructor(
    private readonly r: Rand,
    private readonly opts: GenOptions,
    private readonly unit: number,
  ) {}

  private commentText(): string {
    return '#' + pick(this.r, COMMENT_TEXTS);
  }

  /** Own-line comments around column `col` (mostly exactly at it). */
  maybeComments(col: number, inList: boolean): void {
    if (inList && !this.opts.listComments) return;
    while (chance(this.r, this.opts.comments)) {
      const c = chance(this.r, 0.8) ? col : Math.max(0, col + pick(this.r, [-4, -2, 2, 4, 8]));
      this.lines.push(' '.repeat(c) + this.commentText());
    }
  }

  private lineComment(inList: boolean): string {
    if (inList && !this.opts.listComments) return '';
    return chance(this.r, this.opts.comments) ? ' ' + this.commentText() : '';
  }

  /** Writes `prefix` + the value, continuing at `indent` for nested content. */
  value(prefix: string, g: Gen, indent: number, inList: boolean): void {
    if (g.t === 'scalar') {
      if (g.block) {
        this.lines.push(prefix + ' ' + g.block[0] + this.lineComment(inList));
        for (const l of g.block.slice(1)) this.lines.push(l === '' ? '' : ' '.repeat(indent + this.unit) + l);
      } else {
        this.lines.push(prefix + (g.text === '' ? '' : ' ' + g.text) + this.lineComment(inList));
      }
      return;
    }
    if (g.t === 'map' && g.entries.length === 0)
      return void this.lines.push(prefix + ' {}' + this.lineComment(inList));
    if (g.t === 'seq' && g.items.length === 0)
      return void this.lines.push(prefix + ' []' + this.lineComment(true));
    this.lines.push(prefix + this.lineComment(inList && g.t === 'seq'));
    // A list may sit at its key's indentation, never at its parent list's.
    const childIndent = g.t === 'seq' && !inList && chance(this.r, 0.3) ? indent : indent + this.unit;
    if (g.t === 'map') this.map(g, childIndent);
    else this.seq(g, childIndent);
  }

  map(g: Gen & { t: 'map' }, indent: number, firstInline = false): void {
    g.entries.forEach(([k, v], i) => {
      const pad = firstInline && i === 0 ? '' : ' '.repeat(indent);
      if (!(firstInline && i === 0)) this.maybeComments(indent, false);
      const key = quote(this.r, k);
      if (Buffer.byteLength(key) > 120 || k.includes('\n')) {
        this.lines.push(pad + '? ' + key);
        this.value(' '.repeat(indent) + ':', v, indent, false);
      } else {
        this.value(pad + key + ':', v, indent, false);
      }
    });
    this.maybeComments(indent, false);
  }

  seq(g: Gen & { t: 'seq' }, indent: number): void {
    for (const item of g.items) {
      this.maybeComments(indent, true);
      if (item.t === 'map' && item.entries.length > 0) {
        this.lines.push(' '.repeat(indent) + '- ');
        const start = this.lines.length;
        this.map(item, indent + 2, true);
        // Join the first key onto the dash line.
        this.lines[start - 1] += (this.lines[start] ?? '').trimStart();
        this.lines.splice(start, 1);
      } else {
        this.value(' '.repeat(indent) + '-', item, indent, true);
      }
    }
  }
}

/** One random YAML stream (1 to 3 documents, each a mapping). */
export function genYaml(r: Rand, opts: GenOptions): string {
  return genYamlDocuments(r, opts).join('---\n');
}

/** The documents of a random YAML stream. */
export function genYamlDocuments(r: Rand, opts: GenOptions): string[] {
  const docs = chance(r, 0.2) ? 1 + Math.floor(r() * 3) : 1;
  const parts: string[] = [];
  for (let d = 0; d < docs; d++) {
    const w = new Writer(r, opts, pick(r, [2, 4]));
    w.maybeComments(0, false);
    w.map(genMap(r, 3, true), 0);
    parts.push(w.lines.join('\n') + '\n');
  }
  return parts;
}
