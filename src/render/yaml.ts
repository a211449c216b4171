/**
 * `application.secrets.yaml` parser.
 *
 * Rules:
 * - One document whose root is a mapping (an empty file, or one holding only comments, has no
 *   active keys). Several documents, a non-mapping root, invalid YAML, a non-scalar or empty key,
 *   and `<<` merge keys are ParseErrors naming the file and line.
 * - Nested mappings are flattened with `.`: `db: {user: u}` → `db.user`. Two paths that flatten to
 *   the same key (`db.user:` and `db: {user:}`) are a DuplicateKey error, as are repeated keys.
 * - A sequence is one entry whose value is its JSON text (`hosts: [a, b]` → `["a","b"]`): a list is
 *   one setting, and indexing (`hosts.0`) would rename every later item when one is removed.
 * - Scalars: strings as parsed (quotes, escapes, block and folded scalars resolved); numbers and
 *   booleans keep their source text (`0x1F`, `1.10`, `true`); null and an empty value → `""`. YAML
 *   1.2 core schema, so `yes`, `on` and dates stay strings as written.
 * - Commented-out keys are **disabled** entries. A full-line comment counts when
 *   1. its `#` is in the key column of a block mapping that is flattened (the root, or a mapping
 *      nested under keys; not one inside a sequence), within that mapping's lines — or in the
 *      column where the children of an empty `key:` would go; and
 *   2. the text after the `#` is `key: value` with key matching `[A-Za-z_][A-Za-z0-9_.-]*` directly
 *      followed by `:`, and parses as YAML. Consecutive comment lines in one column form a block:
 *      lines indented deeper than the block's least-indented line continue the key above them, so
 *      a commented-out nested mapping (`# db:` / `#   password: x`) disables `db.password`.
 *   Anything else is prose (`# Managed by: team`, `## key: v`, `# a: b: c`). Comments inside
 *   block scalars, quoted strings and flow collections are content, never keys.
 *   Beware: `# TODO: rotate` at key level reads as a disabled key `TODO`; write `## TODO` for prose.
 *   SOPS re-indents comments with their mapping, so this works on decrypted files too — except that
 *   sops turns an emptied `key:` into `key: null` and moves its commented children to the parent's
 *   column; in SOPS files comment out the parent line as well (`# key:` / `#   child: v`).
 * - An active definition beats a commented-out one for the same key; of two commented-out ones the
 *   later wins. An empty `key:` whose children are all commented out yields only those disabled
 *   children, not an empty `key`.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  visit,
  type Alias,
  type Node as YamlNode,
  type Pair,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { SmcError } from '../errors.js';
import { parseBoundedYaml, readBoundedYaml, toPlainValue, YamlLimitError } from '../limits/yaml.js';
import { duplicateKeyError, mergeDefinitions, parseError, stripBom, type ParsedEntry } from './parsed.js';

const COMMENTED_KEY_LINE = /^[A-Za-z_][A-Za-z0-9_.-]*:(?:[ \t]|$)/;

/** A block mapping whose column can hold commented-out keys, and the lines it spans. */
interface KeyRegion {
  column: number;
  path: string[];
  /** Line of the key that opens the mapping (0 for the root); the region starts after it. */
  afterLine: number;
  /** First line past the region (computed once all content lines are known). */
  endLine: number;
  /** Set for the virtual region of an empty `key:` — the key whose empty value it replaces. */
  emptyKey?: string;
}

interface EmptyValue {
  key: string;
  path: string[];
  line: number;
  column: number;
}

interface FlattenContext {
  file: string;
  /** Every alias of the document, resolved (src/limits/yaml.ts bounds what they expand to). */
  aliases: ReadonlyMap<Alias, YamlNode>;
  lines: LineCounter;
  /** Added to positions computed by `lines` (non-zero for a comment block parsed on its own). */
  lineOffset: number;
  emit: (key: string, value: string, line: number) => void;
  /** Only for the real document: where block mappings and empty values sit. */
  regions?: KeyRegion[];
  empties?: EmptyValue[];
}

export function parseYaml(content: string, file: string): ParsedEntry[] {
  const text = stripBom(content);
  const lines = new LineCounter();
  // Repeated keys are found while flattening, which can name both lines.
  // Bounded: nesting depth and alias expansion are refused past src/limits/yaml.ts's limits.
  const { documents: docs, aliases } = readBoundedYaml(text, file, 'ParseError', {
    lineCounter: lines,
    uniqueKeys: false,
  });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  if (docs.length > 1) {
    const second = docs[1]?.range[0] ?? 0;
    throw parseError(file, lineOf(second), 'more than one YAML document; expected a single mapping');
  }
  const doc = docs[0];
  const active: ParsedEntry[] = [];
  const regions: KeyRegion[] = [];
  const empties: EmptyValue[] = [];
  const excluded: Array<[number, number]> = [];
  let rootColumn = 0;

  if (doc !== undefined) {
    const err = doc.errors[0];
    if (err !== undefined) {
      throw parseError(file, err.linePos?.[0]?.line ?? lineOf(err.pos[0]), `invalid YAML (${err.code})`);
    }
    const root = doc.contents;
    const emptyRoot = root === null || (isScalar(root) && root.value === null);
    if (!emptyRoot) {
      if (!isMap(root))
        throw parseError(file, lineOf(root.range?.[0] ?? 0), 'the document root must be a mapping');
      const first = root.items[0];
      if (!root.flow && first !== undefined && isScalar(first.key) && first.key.range) {
        rootColumn = lines.linePos(first.key.range[0]).col - 1;
      }
      const ctx: FlattenContext = {
        file,
        aliases,
        lines,
        lineOffset: 0,
        emit: (key, value, line) => active.push({ key, value, enabled: true, line }),
        regions,
        empties,
      };
      flattenMap(root, [], ctx);
    }
    visit(doc, {
      Scalar(_, node) {
        if (node.range) excluded.push([node.range[0], node.range[1]]);
      },
      Map(_, node) {
        if (node.flow && node.range) excluded.push([node.range[0], node.range[1]]);
      },
      Seq(_, node) {
        if (node.flow && node.range) excluded.push([node.range[0], node.range[1]]);
      },
    });
  }
  regions.push({ column: rootColumn, path: [], afterLine: 0, endLine: Number.POSITIVE_INFINITY });

  const disabled = commentedOutKeys(text, file, regions, empties, excluded);
  const replacedEmpties = new Set(disabled.replacedEmptyKeys);
  const all = [...active.filter((e) => !(e.value === '' && replacedEmpties.has(e.key))), ...disabled.entries];
  // Refuses a key defined twice (in one mapping, or `a.b:` next to `a: {b:}`) and settles active
  // vs commented-out definitions.
  return mergeDefinitions(all, (key, a, b) => {
    throw duplicateKeyError(file, key, a.line, b.line);
  });
}

function flattenMap(map: YAMLMap, path: string[], ctx: FlattenContext): void {
  for (const pair of map.items) flattenPair(pair as Pair<unknown, unknown>, path, ctx);
}

function flattenPair(pair: Pair<unknown, unknown>, path: string[], ctx: FlattenContext): void {
  const keyNode = pair.key;
  const keyOffset = isScalar(keyNode) || isMap(keyNode) || isSeq(keyNode) ? (keyNode.range?.[0] ?? 0) : 0;
  const keyLine = ctx.lines.linePos(keyOffset).line + ctx.lineOffset;
  if (!isScalar(keyNode)) throw parseError(ctx.file, keyLine, 'keys must be plain scalars');
  if (keyNode.type === 'PLAIN' && keyNode.source === '<<') {
    throw parseError(ctx.file, keyLine, 'YAML merge keys (<<) are not supported; write the keys out');
  }
  const key = scalarText(keyNode);
  if (key === '') throw parseError(ctx.file, keyLine, 'empty key');
  const keyPath = [...path, key];
  let value = pair.value as YamlNode | null;
  while (value !== null && isAlias(value)) value = ctx.aliases.get(value) ?? null;
  if (value === null) {
    ctx.emit(keyPath.join('.'), '', keyLine);
    ctx.empties?.push({
      key: keyPath.join('.'),
      path: keyPath,
      line: keyLine,
      column: keyColumn(keyNode, ctx),
    });
  } else if (isMap(value)) {
    const firstKey = value.items[0]?.key;
    if (ctx.regions && !value.flow && isScalar(firstKey) && firstKey.range) {
      const column = ctx.lines.linePos(firstKey.range[0]).col - 1;
      ctx.regions.push({ column, path: keyPath, afterLine: keyLine, endLine: Number.POSITIVE_INFINITY });
    }
    flattenMap(value, keyPath, ctx);
  } else if (isSeq(value)) {
    let json: string;
    try {
      json = JSON.stringify(toPlainValue(value, ctx.aliases));
    } catch {
      throw parseError(ctx.file, keyLine, 'a list could not be converted to JSON');
    }
    ctx.emit(keyPath.join('.'), json, keyLine);
  } else if (isScalar(value)) {
    ctx.emit(keyPath.join('.'), scalarText(value), keyLine);
    if (value.value === null && value.source === '') {
      ctx.empties?.push({
        key: keyPath.join('.'),
        path: keyPath,
        line: keyLine,
        column: keyColumn(keyNode, ctx),
      });
    }
  } else {
    throw parseError(ctx.file, keyLine, 'unsupported value');
  }
}

function keyColumn(node: Scalar, ctx: FlattenContext): number {
  return node.range ? ctx.lines.linePos(node.range[0]).col - 1 : 0;
}

function scalarText(node: Scalar): string {
  const v = node.value;
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (node.type === 'PLAIN' && typeof node.source === 'string' && node.source !== '') return node.source;
  return String(v);
}

interface CommentLine {
  line: number;
  column: number;
  /** Text after the `#`. */
  text: string;
}

function commentedOutKeys(
  text: string,
  file: string,
  regions: KeyRegion[],
  empties: EmptyValue[],
  excluded: Array<[number, number]>,
): { entries: ParsedEntry[]; replacedEmptyKeys: string[] } {
  const comments: CommentLine[] = [];
  const contentLines: ContentLine[] = [];
  const commentAt = new Map<number, CommentLine>();
  const insideExcluded = excludedRanges(excluded);
  let offset = 0;
  const physical = text.split('\n');
  for (let i = 0; i < physical.length; i++) {
    const raw = (physical[i] ?? '').replace(/\r$/, '');
    const lineStart = offset;
    offset += (physical[i] ?? '').length + 1;
    const lead = /^[ \t]*/.exec(raw)?.[0] ?? '';
    const rest = raw.slice(lead.length);
    if (rest === '') continue;
    if (!rest.startsWith('#')) {
      contentLines.push({ line: i + 1, indent: lead.length });
      continue;
    }
    // Offsets only grow, so `insideExcluded` walks the ranges once.
    if (lead.includes('\t') || insideExcluded(lineStart + lead.length)) continue;
    const c: CommentLine = { line: i + 1, column: lead.length, text: rest.slice(1) };
    comments.push(c);
    commentAt.set(c.line, c);
  }

  // Where each region ends: the first content line after it that is left of its column.
  const mapRegions = regions.filter((r) => r.afterLine > 0);
  const ends = firstContentAfter(
    contentLines,
    mapRegions.map((r) => ({ after: r.afterLine, maxIndent: r.column - 1 })),
  );
  mapRegions.forEach((r, i) => (r.endLine = ends[i] as number));
  const emptyRegions: Array<{ empty: EmptyValue; column: number }> = [];
  for (const e of empties) {
    // The children of an empty `key:` would sit in the first following line; if that is a comment
    // indented past the key, its column is where commented-out children go.
    const next = commentAt.get(e.line + 1);
    if (next === undefined || next.column <= e.column) continue;
    emptyRegions.push({ empty: e, column: next.column });
  }
  const emptyEnds = firstContentAfter(
    contentLines,
    emptyRegions.map((r) => ({ after: r.empty.line, maxIndent: Number.POSITIVE_INFINITY })),
  );
  emptyRegions.forEach(({ empty: e, column }, i) =>
    regions.push({
      column,
      path: e.path,
      afterLine: e.line,
      endLine: emptyEnds[i] as number,
      emptyKey: e.key,
    }),
  );
  const ownerOf = regionOwners(regions);

  const entries: ParsedEntry[] = [];
  const replaced = new Set<string>();
  let run: CommentLine[] = [];
  let runOwner: KeyRegion | undefined;
  const flush = () => {
    if (runOwner !== undefined && run.length > 0) {
      const found = keysInCommentBlock(run, runOwner.path, file);
      for (const e of found) entries.push(e);
      if (found.length > 0 && runOwner.emptyKey !== undefined) replaced.add(runOwner.emptyKey);
    }
    run = [];
  };
  for (const c of comments) {
    const owner = ownerOf(c);
    const prev = run[run.length - 1];
    if (prev === undefined || prev.line + 1 !== c.line || prev.column !== c.column || owner !== runOwner) {
      flush();
      runOwner = owner;
    }
    run.push(c);
  }
  flush();
  return { entries, replacedEmptyKeys: [...replaced] };
}

/** Read the commented-out keys in a run of adjacent comment lines that share a column and region. */
function keysInCommentBlock(run: CommentLine[], path: string[], file: string): ParsedEntry[] {
  const indentOf = (t: string) => (/^ */.exec(t)?.[0] ?? '').length;
  const nonBlank = run.filter((c) => c.text.trim() !== '' && !/^ *\t/.test(c.text));
  if (nonBlank.length === 0) return [];
  let base = Number.POSITIVE_INFINITY;
  for (const c of nonBlank) base = Math.min(base, indentOf(c.text));

  const chunks: Array<{ line: number; text: string[] }> = [];
  let open: { line: number; text: string[] } | undefined;
  for (const c of run) {
    const t = c.text;
    const indent = indentOf(t);
    if (t.trim() === '' || /^ *\t/.test(t)) {
      open = undefined;
    } else if (indent === base && COMMENTED_KEY_LINE.test(t.slice(base))) {
      open = { line: c.line, text: [t.slice(base)] };
      chunks.push(open);
    } else if (indent > base && open !== undefined) {
      open.text.push(t.slice(base));
    } else {
      open = undefined;
    }
  }

  const out: ParsedEntry[] = [];
  for (const chunk of chunks) {
    const lines = new LineCounter();
    let parsed: ReturnType<typeof parseBoundedYaml>;
    try {
      parsed = parseBoundedYaml(chunk.text.join('\n'), { lineCounter: lines, uniqueKeys: true });
    } catch (e) {
      // A comment that is not a bounded YAML mapping is prose.
      if (e instanceof YamlLimitError) continue;
      throw e;
    }
    const doc = parsed.documents[0];
    const map = doc?.contents;
    if (parsed.documents.length !== 1 || doc === undefined || doc.errors.length > 0) continue;
    if (!isMap(map) || map.flow || map.items.length !== 1) continue;
    const found: ParsedEntry[] = [];
    try {
      flattenMap(map, path, {
        file,
        aliases: parsed.aliases,
        lines,
        lineOffset: chunk.line - 1,
        emit: (key, value, line) => found.push({ key, value, enabled: false, line }),
      });
    } catch (e) {
      // A comment that does not flatten (a complex key, `<<`, …) is prose, not an error.
      if (e instanceof SmcError) continue;
      throw e;
    }
    for (const e of found) out.push(e);
  }
  return out;
}

interface ContentLine {
  line: number;
  indent: number;
}

/**
 * For each query, the first content line after `after` indented at most `maxIndent` (Infinity
 * when none), for all queries in O((lines + queries) log lines): queries are answered from the
 * last line backwards, keeping only the lines no earlier line with as little indent hides.
 */
function firstContentAfter(
  contentLines: readonly ContentLine[],
  queries: ReadonlyArray<{ after: number; maxIndent: number }>,
): number[] {
  const result = queries.map(() => Number.POSITIVE_INFINITY);
  const order = queries.map((_, i) => i).sort((a, b) => queries[b]!.after - queries[a]!.after);
  // Bottom (index 0) to top: lines decreasing, indents strictly increasing.
  const stack: ContentLine[] = [];
  let next = contentLines.length - 1;
  for (const qi of order) {
    const q = queries[qi]!;
    while (next >= 0 && contentLines[next]!.line > q.after) {
      const l = contentLines[next--]!;
      while (stack.length > 0 && stack[stack.length - 1]!.indent >= l.indent) stack.pop();
      stack.push(l);
    }
    // The last stack entry indented at most maxIndent is the nearest such line.
    let lo = 0;
    let hi = stack.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (stack[mid]!.indent <= q.maxIndent) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0) result[qi] = stack[found]!.line;
  }
  return result;
}

/**
 * The region owning a comment: of the regions in its column that contain its line, the one opened
 * last (the first listed on a tie). Comments must be asked for in increasing line order; each
 * column keeps a stack of the regions opened so far, ended ones popped from the top.
 */
function regionOwners(regions: readonly KeyRegion[]): (c: CommentLine) => KeyRegion | undefined {
  const byColumn = new Map<number, { pending: KeyRegion[]; next: number; stack: KeyRegion[] }>();
  regions.forEach((r) => {
    const col = byColumn.get(r.column) ?? { pending: [], next: 0, stack: [] };
    col.pending.push(r);
    byColumn.set(r.column, col);
  });
  for (const col of byColumn.values()) {
    const index = new Map(col.pending.map((r, i) => [r, i]));
    // Opened in line order; on a tie the first listed is pushed last, so it is found first.
    col.pending.sort((a, b) => a.afterLine - b.afterLine || index.get(b)! - index.get(a)!);
  }
  return (c) => {
    const col = byColumn.get(c.column);
    if (col === undefined) return undefined;
    while (col.next < col.pending.length && col.pending[col.next]!.afterLine < c.line) {
      col.stack.push(col.pending[col.next++]!);
    }
    while (col.stack.length > 0 && col.stack[col.stack.length - 1]!.endLine <= c.line) col.stack.pop();
    return col.stack[col.stack.length - 1];
  };
}

/** Whether an offset lies in one of the ranges; offsets must be asked for in increasing order. */
function excludedRanges(ranges: ReadonlyArray<[number, number]>): (offset: number) => boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let i = 0;
  let reach = Number.NEGATIVE_INFINITY; // the furthest end of the ranges starting at or before offset
  return (offset) => {
    while (i < sorted.length && sorted[i]![0] <= offset) reach = Math.max(reach, sorted[i++]![1]);
    return offset < reach;
  };
}
