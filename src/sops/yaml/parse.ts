/**
 * Reads YAML text with the `yaml` package and returns, per document, a small positioned syntax
 * tree (collections, scalars with their style and tag, aliases) plus every comment with its
 * position. The scalars keep their text: typing them is left to resolve.ts.
 */
import {
  Alias,
  type Node as YNode,
  Scalar,
  YAMLMap,
  YAMLSeq,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
} from 'yaml';
import { parseBoundedYaml } from '../../limits/yaml.js';

export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal' | 'folded';

export interface SScalar {
  kind: 'scalar';
  start: number;
  end: number;
  text: string;
  style: ScalarStyle;
  tag: string | null;
}

export interface SAlias {
  kind: 'alias';
  start: number;
  end: number;
  target: SNode;
}

interface CollectionBase {
  start: number;
  end: number;
  flow: boolean;
  /** Column of the keys (mapping) or dashes (list); -1 for flow collections. */
  col: number;
}

export interface SEntry {
  /** Where the entry starts: the `?` of an explicit key, or its key's tag or anchor, or its key. */
  start: number;
  key: SNode;
  value: SNode;
}

export interface SMap extends CollectionBase {
  kind: 'map';
  entries: SEntry[];
}

export interface SItem {
  /** Where the item starts: its `-`, or its first character in a flow list. */
  start: number;
  value: SNode;
}

export interface SSeq extends CollectionBase {
  kind: 'seq';
  items: SItem[];
}

export type SCollection = SMap | SSeq;
export type SNode = SScalar | SAlias | SCollection;

export interface SComment {
  offset: number;
  line: number;
  col: number;
  /** The text after `#`. */
  text: string;
  /** Nothing but indentation before it on its line. */
  ownLine: boolean;
}

export interface SDocument {
  root: SNode | null;
  /** Offset of the first content of the document (its `---` when it has no content). */
  start: number;
}

export interface SStream {
  text: string;
  documents: SDocument[];
  comments: SComment[];
  /** Offsets of `---` and `...` markers. */
  markers: number[];
  /** Line number of an offset. */
  lineOf(offset: number): number;
  colOf(offset: number): number;
}

export class YamlSyntaxError extends Error {}

class Positions {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  line(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  col(offset: number): number {
    return offset - (this.starts[this.line(offset)] as number);
  }
}

interface CstToken {
  type?: string;
  offset?: number;
  source?: string;
}

/** Every comment and document marker in the concrete syntax tree. */
function scanTokens(tokens: unknown[]): {
  comments: { offset: number; source: string }[];
  markers: number[];
} {
  const comments: { offset: number; source: string }[] = [];
  const markers: number[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    const t = v as CstToken;
    if (t.type === 'comment' && typeof t.offset === 'number' && typeof t.source === 'string') {
      comments.push({ offset: t.offset, source: t.source });
    }
    if ((t.type === 'doc-start' || t.type === 'doc-end') && typeof t.offset === 'number')
      markers.push(t.offset);
    for (const x of Object.values(v)) walk(x);
  };
  for (const tok of tokens) walk(tok);
  comments.sort((a, b) => a.offset - b.offset);
  markers.sort((a, b) => a - b);
  return { comments, markers };
}

const STYLES: Record<string, ScalarStyle> = {
  PLAIN: 'plain',
  QUOTE_SINGLE: 'single',
  QUOTE_DOUBLE: 'double',
  BLOCK_LITERAL: 'literal',
  BLOCK_FOLDED: 'folded',
};

interface CstItem {
  start?: CstToken[];
  key?: CstToken | null;
  sep?: CstToken[];
}

/**
 * go-yaml reads U+2028 and U+2029 inside a flow scalar as line breaks (YAML 1.1): the character
 * is kept and the blanks around it are dropped, so `'x<LS>    y'` is "x<LS>y". YAML 1.2, which
 * the `yaml` package follows, keeps them as ordinary characters.
 */
function foldSeparators(value: string, source: string, style: ScalarStyle): string {
  if (style === 'literal' || style === 'folded' || !/[\u2028\u2029]/.test(source)) return value;
  if (style === 'double' && /\\[LP]/.test(source)) return value;
  return value.replace(/[ \t]*([\u2028\u2029])[ \t]*/g, '$1');
}

class Converter {
  private readonly converted = new Map<YNode, SNode>();
  constructor(
    private readonly aliases: ReadonlyMap<Alias, YNode>,
    private readonly pos: Positions,
    private readonly source: string,
  ) {}

  node(n: unknown, fallbackOffset: number): SNode {
    if (n === null || n === undefined) {
      return {
        kind: 'scalar',
        start: fallbackOffset,
        end: fallbackOffset,
        text: '',
        style: 'plain',
        tag: null,
      };
    }
    if (isScalar(n)) return this.scalar(n);
    if (isAlias(n)) return this.alias(n);
    if (isMap(n)) return this.map(n);
    if (isSeq(n)) return this.seq(n);
    throw new YamlSyntaxError('unsupported YAML node');
  }

  private remember<T extends SNode>(n: YNode, s: T): T {
    this.converted.set(n, s);
    return s;
  }

  private scalar(n: Scalar): SScalar {
    const [start, end] = n.range ?? [0, 0];
    const value = n.value;
    const style = STYLES[n.type ?? 'PLAIN'] ?? 'plain';
    // The `yaml` package turns a plain `<<` into a symbol, even with merge keys turned off.
    const text =
      value === null || value === undefined ? '' : typeof value === 'symbol' ? '<<' : String(value);
    return this.remember(n, {
      kind: 'scalar',
      start,
      end,
      text: foldSeparators(text, this.source.slice(start, end), style),
      style,
      tag: n.tag ?? null,
    });
  }

  private alias(n: Alias): SAlias {
    const [start, end] = n.range ?? [0, 0];
    const target = this.aliases.get(n);
    const s = target ? this.converted.get(target) : undefined;
    if (!s) throw new YamlSyntaxError('an alias refers to no anchor defined before it');
    return { kind: 'alias', start, end, target: s };
  }

  private map(n: YAMLMap): SMap {
    const [start, end] = n.range ?? [0, 0];
    const cst = (n.srcToken as { items?: CstItem[] } | undefined)?.items ?? [];
    const s: SMap = { kind: 'map', start, end, flow: Boolean(n.flow), col: -1, entries: [] };
    this.remember(n, s);
    n.items.forEach((pair, i) => {
      if (!isPair(pair)) return;
      const item = cst[i];
      // The entry starts at its `?`, or at the tag or anchor of its key, or at the key.
      const props = item?.start?.find((t) => ['explicit-key-ind', 'tag', 'anchor'].includes(t.type ?? ''));
      const keyNode = pair.key as YNode | null;
      const keyStart = props?.offset ?? keyNode?.range?.[0] ?? item?.key?.offset ?? start;
      const key = this.node(keyNode, keyStart);
      const sep = item?.sep?.find((t) => t.type === 'map-value-ind')?.offset;
      const value = this.node(pair.value, (sep ?? key.end) + 1);
      s.entries.push({ start: keyStart, key, value });
    });
    const first = s.entries[0];
    if (!s.flow && first) s.col = this.pos.col(first.start);
    return s;
  }

  private seq(n: YAMLSeq): SSeq {
    const [start, end] = n.range ?? [0, 0];
    const cst = (n.srcToken as { items?: CstItem[] } | undefined)?.items ?? [];
    const s: SSeq = { kind: 'seq', start, end, flow: Boolean(n.flow), col: -1, items: [] };
    this.remember(n, s);
    n.items.forEach((it, i) => {
      const dash = cst[i]?.start?.find((t) => t.type === 'seq-item-ind')?.offset;
      const node = it as YNode | null;
      const itemStart = dash ?? node?.range?.[0] ?? start;
      s.items.push({ start: itemStart, value: this.node(node, itemStart + 1) });
    });
    const first = s.items[0];
    if (!s.flow && first) s.col = this.pos.col(first.start);
    return s;
  }
}

/**
 * sops prints an empty mapping that carries comments as `{`, the comments, and `}` at the start
 * of a line. go-yaml reads that back as `{}` and drops the comments; the `yaml` package refuses
 * the under-indented `}`. Rewrite it to `{}` first.
 */
function emptyFlowMapsWithComments(text: string): string {
  return text.replace(/ \{[ \t]*\n(?:[ \t]*#[^\n]*\n)+[ \t]*\}(?=[ \t]*(?:#[^\n]*)?(?:\n|$))/g, ' {}');
}

/**
 * An error message without any of the source: the `yaml` package's messages may quote it
 * (`Block scalar header includes extra characters: >…`), and that could be a secret. The error
 * code says what is wrong; the position says where.
 */
function syntaxError(e: { code?: string; pos?: [number, number] }, pos: Positions): YamlSyntaxError {
  const what = `invalid YAML (${e.code ?? 'syntax error'})`;
  const at = e.pos ? ` at line ${pos.line(e.pos[0]) + 1}, column ${pos.col(e.pos[0]) + 1}` : '';
  return new YamlSyntaxError(what + at);
}

/** Parses a YAML stream; throws YamlSyntaxError on invalid YAML. */
export function parseStream(source: string): SStream {
  const text = emptyFlowMapsWithComments(source);
  const pos = new Positions(text);
  // Bounded (src/limits/yaml.ts): nesting and alias expansion are refused with a YamlLimitError
  // before anything here walks the documents.
  const parsed = parseBoundedYaml(text, {
    schema: 'failsafe',
    uniqueKeys: false,
    keepSourceTokens: true,
    merge: false,
  });
  const tokens = parsed.tokens;
  const documents: SDocument[] = [];
  for (const doc of parsed.documents) {
    const err = doc.errors[0];
    if (err) throw syntaxError(err, pos);
    const [start] = doc.range;
    const contents = doc.contents as YNode | null;
    const root = contents === null ? null : new Converter(parsed.aliases, pos, text).node(contents, start);
    documents.push({ root, start: contents?.range?.[0] ?? start });
  }
  const { comments, markers } = scanTokens(tokens);
  return {
    text,
    documents,
    markers,
    comments: comments.map((c) => {
      const col = pos.col(c.offset);
      return {
        offset: c.offset,
        line: pos.line(c.offset),
        col,
        text: c.source.slice(1),
        ownLine: /^[ \t]*$/.test(text.slice(c.offset - col, c.offset)),
      };
    }),
    lineOf: (o) => pos.line(o),
    colOf: (o) => pos.col(o),
  };
}
