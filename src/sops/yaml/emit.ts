/**
 * Prints sops tree branches as the block YAML `sops -d` writes (go-yaml v3, indent 4).
 *
 * Comments. Like sops, the comment items of a branch or list are hung on the printed nodes as
 * go-yaml head, line and foot comments: those before the first entry on the collection itself,
 * those before a later entry on its key (mapping) or on the item (list; an item that is a
 * collection then has its own leading comments after those), inline ones as the line comment of
 * the next value, trailing ones as the foot of the last key or item. They come out as go-yaml
 * prints them:
 * - a collection's comments on their own lines before its first entry, at the entries' column;
 *   for a list whose first item has comments, only the item's are printed;
 * - a key's or item's comments on their own lines before the key or the `- `; but when the item
 *   is the first of a list that starts on a `- ` or `: ` line, the first comment goes on that
 *   line and the entries start on the next one;
 * - a line comment after a scalar (or a block scalar's header), one space before `#`;
 * - foot comments on their own lines after the entry, at its column;
 * - an empty mapping with comments is `{`, the comments, then `}` at the start of a line; the
 *   comments of an empty list come after the entry (after its foot comments and an empty line
 *   when it is the last entry), and are dropped when the next key has comments.
 *
 * Layout. Mapping values that are collections start on the next line, indented by 4 from the
 * key. A list item that is a collection starts on the `- ` line: a mapping's keys line up 2 after
 * the dash, a nested list's dashes likewise; what a mapping inside a list item holds is indented
 * by 4 from the dash of that list, a list nested in a list by 4 more than its parent's content.
 * Block scalar bodies are indented by 4 from a mapping key, and 2 from a list dash. Empty
 * collections are `{}` and `[]`. A key that is not simple is printed as `? key`, then `: value`
 * with the value continuing that line.
 */
import { formatFloatG } from '../gonum.js';
import { formatRFC3339Nano } from '../gotime.js';
import {
  Branch,
  Comment,
  GoBytes,
  GoFloat,
  GoInt,
  GoTimeValue,
  RawString,
  type TreeValue,
} from '../values.js';
import { keyStyle, type ScalarChoice, valueStyle } from './scalar-style.js';
import { doubleQuoted, literalBlock, singleQuoted } from './scalar-text.js';

const STEP = 4;

/** Comments hung on a node, as go-yaml's head, line and foot comments. */
interface Comments {
  head: string[];
  line: string[];
  foot: string[];
}

interface ScalarNode extends Comments {
  kind: 'scalar';
  /** Printed as is (numbers, bools, null, timestamps). */
  literal?: string;
  /** A string, printed in the style go-yaml picks. */
  text?: string;
}

interface MapNode extends Comments {
  kind: 'map';
  entries: { key: ScalarNode; value: EmitNode }[];
}

interface SeqNode extends Comments {
  kind: 'seq';
  items: EmitNode[];
}

type EmitNode = ScalarNode | MapNode | SeqNode;

const noComments = (): Comments => ({ head: [], line: [], foot: [] });

function scalarOf(v: TreeValue): ScalarNode {
  const n: ScalarNode = { kind: 'scalar', ...noComments() };
  if (v === null) n.literal = 'null';
  else if (typeof v === 'string') n.text = v;
  else if (typeof v === 'boolean') n.literal = v ? 'true' : 'false';
  else if (v instanceof GoInt) n.literal = v.value.toString();
  else if (v instanceof GoFloat) n.literal = yamlFloat(v.value);
  else if (v instanceof GoTimeValue) n.literal = formatRFC3339Nano(v.value);
  else if (v instanceof RawString) n.text = Buffer.from(v.bytes).toString('utf8');
  else if (v instanceof Comment) n.text = v.value;
  else throw new Error('not a scalar');
  return n;
}

/** Go's %g, with YAML's spellings of infinities and NaN. */
function yamlFloat(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  return formatFloatG(x);
}

function nodeOf(v: TreeValue): EmitNode {
  if (v instanceof Branch) return mapOf(v);
  if (Array.isArray(v)) return seqOf(v);
  if (v instanceof GoBytes) {
    // A Go []byte is printed as a list of its byte values.
    return { kind: 'seq', items: [...v.value].map((b) => scalarOf(new GoInt(BigInt(b)))), ...noComments() };
  }
  return scalarOf(v);
}

/**
 * Walks a collection's items the way sops hangs comments: `onEntry` receives, for each entry, the
 * head and inline comments collected since the previous entry; the rest is returned.
 */
function distribute(
  items: { comment: Comment | null }[],
  onEntry: (index: number, head: string[], inline: string[], first: boolean) => void,
): { trailing: string[] } {
  let head: string[] = [];
  let inline: string[] = [];
  let first = true;
  items.forEach((it, i) => {
    if (it.comment) {
      (it.comment.inline ? inline : head).push(it.comment.value);
      return;
    }
    onEntry(i, head, inline, first);
    head = [];
    inline = [];
    first = false;
  });
  return { trailing: [...head, ...inline] };
}

function mapOf(b: Branch): MapNode {
  const m: MapNode = { kind: 'map', entries: [], ...noComments() };
  const { trailing } = distribute(
    b.items.map((it) => ({ comment: it.key instanceof Comment ? it.key : null })),
    (i, head, inline, first) => {
      const item = b.items[i]!;
      const key = scalarOf(item.key as string);
      const value = nodeOf(item.value);
      if (first) m.head.push(...head);
      else key.head.push(...head);
      value.line.push(...inline);
      m.entries.push({ key, value });
    },
  );
  const last = m.entries[m.entries.length - 1];
  if (last) last.key.foot.push(...trailing);
  else m.head.push(...trailing);
  return m;
}

function seqOf(list: TreeValue[]): SeqNode {
  const s: SeqNode = { kind: 'seq', items: [], ...noComments() };
  const { trailing } = distribute(
    list.map((v) => ({ comment: v instanceof Comment ? v : null })),
    (i, head, inline, first) => {
      const item = nodeOf(list[i] as TreeValue);
      // The comments before an item come before the item's own (a list's leading ones).
      if (first) s.head.push(...head);
      else item.head.unshift(...head);
      item.line.push(...inline);
      s.items.push(item);
    },
  );
  const last = s.items[s.items.length - 1];
  if (last) last.foot.push(...trailing);
  else s.head.push(...trailing);
  return s;
}

// ---------------------------------------------------------------------------
// Printing

class Out {
  private readonly parts: string[] = [];
  private last = '';
  get text(): string {
    return this.parts.join('');
  }
  /**
   * Starts a new line unless already at the start of one. A literal block may end with U+2028
   * or U+2029, which go-yaml counts as the end of the line.
   */
  newline(): void {
    if (this.last !== '' && this.last !== '\n' && this.last !== '\u2028' && this.last !== '\u2029')
      this.put('\n');
  }
  line(indent: number, s: string): void {
    this.newline();
    this.put(' '.repeat(indent) + s);
  }
  comments(indent: number, cs: string[]): void {
    for (const c of cs) this.line(indent, '#' + c);
  }
  put(s: string): void {
    if (s === '') return;
    this.parts.push(s);
    this.last = s[s.length - 1] as string;
  }
}

const lineComment = (cs: string[]): string => (cs.length > 0 ? ' #' + cs.join(' #') : '');

/** A scalar's text for a given style; `indent` is where continuation lines go. */
function scalarText(choice: ScalarChoice, s: string, indent: number): { first: string; body?: string } {
  const tag = choice.tag ? choice.tag + ' ' : '';
  switch (choice.style) {
    case 'plain':
      return { first: tag + s };
    case 'single':
      return { first: tag + singleQuoted(s, indent) };
    case 'double':
      return { first: tag + doubleQuoted(s) };
    case 'literal': {
      const { header, body } = literalBlock(s, indent);
      return { first: tag + header, body };
    }
    case 'null-literal':
      return { first: 'null' };
  }
}

/** Writes a scalar after the current position, with its inline comment. */
function putScalar(out: Out, n: ScalarNode, indent: number): void {
  if (n.literal !== undefined) {
    out.put(n.literal + lineComment(n.line));
    return;
  }
  const text = n.text ?? '';
  const { first, body } = scalarText(valueStyle(text), text, indent);
  out.put(first + lineComment(n.line));
  if (body !== undefined) out.put('\n' + body);
}

function isEmptyCollection(n: EmitNode): boolean {
  return (n.kind === 'map' && n.entries.length === 0) || (n.kind === 'seq' && n.items.length === 0);
}

/**
 * `{}` / `[]` as a mapping value. The comments of an empty mapping go inside the braces (the
 * closing one at the start of a line); those of an empty list are returned, to be printed after
 * the entry (see putMap).
 */
function putEmptyValue(out: Out, n: MapNode | SeqNode, keyIndent: number): string[] {
  if (n.kind === 'map' && n.head.length > 0) {
    out.put('{');
    out.comments(keyIndent + STEP, n.head);
    out.line(0, '}' + lineComment(n.line));
    return [];
  }
  out.put((n.kind === 'map' ? '{}' : '[]') + lineComment(n.line));
  return n.kind === 'seq' ? n.head : [];
}

/**
 * Writes the value of a mapping entry whose key (and `:`) has just been written. A nested
 * collection's comments go on the lines before its first entry; for a list whose first item has
 * comments of its own, go-yaml prints only those.
 */
function putMapValue(out: Out, v: EmitNode, keyIndent: number, childIndent: number): string[] {
  if (v.kind === 'scalar') {
    out.put(' ');
    putScalar(out, v, childIndent);
  } else if (isEmptyCollection(v)) {
    out.put(' ');
    return putEmptyValue(out, v, keyIndent);
  } else {
    out.put(lineComment(v.line));
    // putSeq prints the first item's comments, which replace the list's own.
    const first = v.kind === 'seq' ? v.items[0] : undefined;
    out.comments(childIndent, first && first.head.length > 0 ? [] : v.head);
    out.newline();
    if (v.kind === 'map') putMap(out, v, childIndent, childIndent, false);
    else putSeq(out, v, childIndent, childIndent, false);
  }
  return [];
}

/**
 * A block mapping whose keys are at column `col` and whose nested collections are indented from
 * `indent`. With `inline`, the first key continues the current line (after `- ` or `? `).
 */
function putMap(out: Out, m: MapNode, indent: number, col: number, inline: boolean): void {
  m.entries.forEach(({ key, value }, i) => {
    let pending: string[] = [];
    const onCurrentLine = inline && i === 0;
    if (!onCurrentLine) {
      out.comments(col, key.head);
      out.line(col, '');
    }
    const text = key.text ?? '';
    const ks = keyStyle(text);
    if (ks.simple) {
      out.put(scalarText(ks, text, indent + STEP).first + ':');
      pending = putMapValue(out, value, indent, indent + STEP);
    } else {
      // A complex key: `? key` then `: value` on the next line.
      const k = scalarText(ks, text, indent + STEP);
      out.put('? ' + k.first);
      if (k.body !== undefined) out.put('\n' + k.body);
      out.line(col, ':');
      if (value.kind === 'scalar' || isEmptyCollection(value)) {
        pending = putMapValue(out, value, indent, indent + STEP);
      } else {
        // The value continues the `:` line, like a list item does after its dash.
        out.put(' '.repeat(Math.max(1, indent + STEP - col - 1)));
        const comments = value.kind === 'seq' ? listStartComments(value) : value.head;
        putContinuing(out, value, indent + STEP, indent + STEP, comments);
      }
    }
    // An empty list's comments: dropped when the next key has comments of its own, after the
    // entry's trailing comments (and an empty line) for the last entry.
    const next = m.entries[i + 1];
    if (next && next.key.head.length > 0) pending = [];
    out.comments(col, key.foot);
    if (pending.length > 0 && key.foot.length > 0) {
      out.newline();
      out.put('\n');
    }
    out.comments(col, pending);
  });
}

/**
 * A collection that starts on the current line, after `- ` or `? key\n: `, preceded by
 * `comments`: the first one goes on this line, and the entries then start on the next one.
 */
function putContinuing(
  out: Out,
  n: MapNode | SeqNode,
  indent: number,
  col: number,
  comments: string[],
): void {
  const [firstComment, ...more] = comments;
  if (firstComment !== undefined) {
    out.put('#' + firstComment);
    out.comments(col, more);
  }
  const inline = firstComment === undefined;
  if (n.kind === 'map') putMap(out, n, indent, col, inline);
  else putSeq(out, n, indent, col, inline, true);
}

/** The comments printed where a list starts: its first item's, or else its own. */
const listStartComments = (s: SeqNode): string[] => {
  const first = s.items[0];
  return first && first.head.length > 0 ? first.head : s.head;
};

/**
 * A block list whose dashes are at column `col`; nested content is indented from `indent`. An
 * item's comments go on the lines before its dash (for the first item of a list that continues
 * a line, see putContinuing).
 */
function putSeq(out: Out, s: SeqNode, indent: number, col: number, inline: boolean, headDone = false): void {
  s.items.forEach((item, i) => {
    const continuing = inline && i === 0;
    if (!continuing) {
      if (!(i === 0 && headDone)) out.comments(col, item.head);
      out.line(col, '');
    }
    out.put('- ');
    if (item.kind === 'scalar') {
      putScalar(out, item, col + 2);
    } else if (isEmptyCollection(item)) {
      out.put((item.kind === 'map' ? '{}' : '[]') + lineComment(item.line));
    } else if (item.kind === 'map') {
      putMap(out, item, indent, col + 2, true);
    } else {
      // The item's own comments were printed before its dash; its first item's go here.
      putContinuing(out, item, indent + STEP, col + 2, item.items[0]?.head ?? []);
    }
    out.comments(col, item.foot);
  });
}

function emitDocument(b: Branch): string {
  const out = new Out();
  const m = mapOf(b);
  out.comments(0, m.head);
  if (m.entries.length === 0) out.line(0, '{}');
  else putMap(out, m, 0, 0, false);
  out.newline();
  return out.text;
}

/** sops' YAML output: each document as a block mapping, documents separated by `---`. */
export function emitDocuments(branches: Branch[]): string {
  return branches.map(emitDocument).join('---\n');
}
