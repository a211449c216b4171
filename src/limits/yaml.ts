/**
 * Bounded YAML reading: every YAML reader of the project parses through here, so a hostile file
 * cannot exhaust memory, the stack or the CPU.
 *
 * - Nesting: the token stream is read one lexeme at a time and refused as soon as more than
 *   `MAX_YAML_DEPTH` collections are open (`[[[[…`, deeply indented mappings). The `yaml`
 *   package's composer recurses per level, and so do our own walkers.
 * - Aliases: the `yaml` package never expands aliases while composing, but anything that walks
 *   the result (toJS, the SOPS loader, flattening) does, and eight levels of nine aliases make
 *   43 million nodes out of 365 bytes. The nodes an expanding walk would reach through aliases are
 *   counted here, in one linear pass, without expanding anything; past `MAX_ALIAS_EXPANSION` the
 *   document is refused. (`yaml`'s own `maxAliasCount` only applies inside `toJS`, and its alias
 *   lookup visits the whole document per alias.) An alias that refers to the node containing it
 *   (`a: &a [*a]`), and one that refers to no anchor before it, are refused as well.
 * - The same pass resolves every alias to its node, so callers never use `Alias.resolve` (which
 *   walks the whole document each time: quadratic with many aliases).
 *
 * Errors are `YamlLimitError`s whose messages name a line, never content; callers add the file.
 */
import {
  type Alias,
  Composer,
  type Document,
  type DocumentOptions,
  Lexer,
  type LineCounter,
  type ParseOptions,
  type Node as YamlNode,
  Parser,
  type SchemaOptions,
  type CST,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
} from 'yaml';
import { type ErrorCode, SmcError } from '../errors.js';

/** Collections open at once. Real files (secrets, kustomize output with CRD schemas) stay far below. */
export const MAX_YAML_DEPTH = 128;
/** Nodes that expanding every alias of one document may add. */
export const MAX_ALIAS_EXPANSION = 10_000;

export class YamlLimitError extends Error {}

export type BoundedYamlOptions = ParseOptions & DocumentOptions & SchemaOptions;

export interface BoundedYaml {
  documents: Document.Parsed[];
  /** Every alias of every document, resolved to the node it names. */
  aliases: ReadonlyMap<Alias, YamlNode>;
  /** The concrete syntax tree the documents were composed from (comments live here). */
  tokens: CST.Token[];
}

/**
 * The CST tokens of `text`, refusing nesting deeper than `maxDepth` while reading (a hostile
 * file is not read to its end).
 */
export function boundedTokens(
  text: string,
  lineCounter?: LineCounter,
  maxDepth = MAX_YAML_DEPTH,
): CST.Token[] {
  let line = 0;
  const parser = new Parser((offset) => {
    line++;
    lineCounter?.addNewLine(offset);
  });
  line = 0;
  lineCounter?.addNewLine(0);
  const tokens: CST.Token[] = [];
  // The parser's stack holds the document, the open collections and at most a scalar or two.
  const maxStack = maxDepth + 3;
  for (const lexeme of new Lexer().lex(text)) {
    for (const t of parser.next(lexeme)) tokens.push(t);
    if (parser.stack.length > maxStack) {
      throw new YamlLimitError(`YAML nested deeper than ${maxDepth} levels (line ${Math.max(line, 1)})`);
    }
  }
  for (const t of parser.end()) tokens.push(t);
  return tokens;
}

/**
 * Parse a YAML stream like `parseAllDocuments`, bounded (see the module comment). Syntax errors
 * stay in each document's `errors`, as with the `yaml` package; limits throw `YamlLimitError`.
 */
export function parseBoundedYaml(text: string, options: BoundedYamlOptions = {}): BoundedYaml {
  const { lineCounter, ...composeOptions } = options;
  const tokens = boundedTokens(text, lineCounter);
  const documents = [...new Composer(composeOptions).compose(tokens)];
  const aliases = new Map<Alias, YamlNode>();
  const lineOf = lineFinder(text);
  for (const doc of documents) {
    if (doc.errors.length === 0) resolveAliases(doc, aliases, lineOf);
  }
  return { documents, aliases, tokens };
}

/**
 * `parseBoundedYaml`, with a limit reported as SmcError `code` naming `where` (a file name, or a
 * Secret and key).
 */
export function readBoundedYaml(
  text: string,
  where: string,
  code: ErrorCode,
  options: BoundedYamlOptions = {},
): BoundedYaml {
  try {
    return parseBoundedYaml(text, options);
  } catch (e) {
    if (e instanceof YamlLimitError) throw new SmcError(code, `${where}: ${e.message}`);
    throw e;
  }
}

/**
 * One pre-order pass over a document (the order in which an alias names the last anchor before
 * it): resolves each alias, refuses unknown and self-containing anchors, and counts the nodes that
 * expanding every alias would produce.
 */
function resolveAliases(
  doc: Document.Parsed,
  out: Map<Alias, YamlNode>,
  lineOf: (offset: number) => number,
  maxExpansion = MAX_ALIAS_EXPANSION,
): void {
  const anchors = new Map<string, YamlNode>();
  const size = new Map<YamlNode, number>();
  const open = new Set<YamlNode>();
  let expanded = 0;
  const at = (n: { range?: [number, number, number] | null }) => `line ${lineOf(n.range?.[0] ?? 0)}`;
  const walk = (n: unknown): number => {
    if (n === null || n === undefined) return 0;
    if (isAlias(n)) {
      const target = anchors.get(n.source);
      // Messages leave the alias's name out: `password: *abc` is an alias to YAML, but a value
      // to whoever wrote it.
      if (target === undefined) {
        throw new YamlLimitError(`an alias refers to no anchor defined before it (${at(n)})`);
      }
      if (open.has(target)) throw new YamlLimitError(`an alias refers to a node that contains it (${at(n)})`);
      out.set(n, target);
      const s = size.get(target) ?? 1;
      expanded += s;
      if (expanded > maxExpansion) {
        throw new YamlLimitError(
          `YAML aliases expand to more than ${maxExpansion} nodes (${at(n)}); refusing a possible alias bomb`,
        );
      }
      return s;
    }
    const node = n as YamlNode;
    if (node.anchor) anchors.set(node.anchor, node);
    if (isScalar(node)) {
      size.set(node, 1);
      return 1;
    }
    if (!isCollection(node)) return 0;
    open.add(node);
    let s = 1;
    for (const item of node.items) {
      if (isPair(item)) s += walk(item.key) + walk(item.value);
      else s += walk(item);
    }
    open.delete(node);
    size.set(node, s);
    return s;
  };
  walk(doc.contents);
}

/** 1-based line of an offset; the line starts are found once, on first use. */
function lineFinder(text: string): (offset: number) => number {
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
    }
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/**
 * The plain JavaScript value of a node (what `toJS` gives for the YAML 1.2 core schema), with
 * aliases resolved through `aliases`. Mapping keys must be scalars.
 */
export function toPlainValue(node: unknown, aliases: ReadonlyMap<Alias, YamlNode>): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPlainValue(aliases.get(node), aliases);
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'symbol') return v.description ?? '';
    return v ?? null;
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isAlias(item.key) ? aliases.get(item.key) : item.key;
      if (key !== null && key !== undefined && !isScalar(key)) {
        throw new YamlLimitError('a mapping key that is not a scalar');
      }
      const k = key === null || key === undefined ? null : toPlainValue(key, aliases);
      Object.defineProperty(out, k === null ? '' : String(k), {
        value: toPlainValue(item.value, aliases),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((it) => toPlainValue(it, aliases));
  return null;
}
