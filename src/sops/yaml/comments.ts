/**
 * Decides where each comment of a YAML document lands in the sops tree: in which mapping or list,
 * before which entry, and whether it is an inline comment. The rules reproduce what sops (go-yaml
 * v3) does; they were found by feeding comment layouts through the real sops and reading where
 * each comment came out.
 *
 * Comments on the same line as content ("line comments"):
 * - after a scalar value (or a block scalar's header, or an alias): an inline comment just before
 *   that entry or list item;
 * - after `key:` whose value is empty, or a mapping or list on the next lines: a comment before
 *   that entry;
 * - after a `-` whose item is a mapping or list on the next lines: the first comment of that
 *   collection; after a `-` with an empty item: a comment after that item;
 * - after a flow collection that is a mapping value: the first item of that collection.
 * Inside a flow collection, a line comment is an inline comment of the item before it, and a
 * comment on its own line goes before the next item (it is dropped when there is none).
 *
 * Comments on their own lines, in a run between two pieces of content:
 * - before the first content of the document: at the top of the document;
 * - between `key:` or `-` and the nested collection that is the value or item: at the start of
 *   that collection (quirk: when the line after the first line and those at its column is left
 *   of the key or dash, those first lines go to the end of the collection instead);
 * - between `-` and a scalar or flow item on a later line: before that item;
 * - otherwise they close the collections that end there. Take the collections open at the last
 *   content (outermost first, "levels"), the level of the next content (the top level at the end
 *   of the document) and the column of each level's keys or dashes:
 *   1. the first comment line, and the lines right after it (no empty line between) that are at
 *      its column or at least as deep as the deepest level, form a first block;
 *   2. a first block right after the content and followed by an empty line or the end of the
 *      stream is a "foot": it goes to the level at its column (the deepest level when it is at
 *      least that deep, the next content's level when no closing level has that column);
 *      otherwise, when the first block is the whole run and starts at the next content's column,
 *      the whole run goes to the next content's level, and else it goes to the deepest level;
 *   3. each later line goes to the level whose column it is at, when that level is closing (a
 *      list's column counts for the mapping holding the list), to the next content's level when
 *      it is at another column or at the first line's column, and stays with the line before when
 *      it is at least as deep as the deepest level (but goes to the deepest level when an empty
 *      line precedes it); a line never goes deeper than a line after it;
 *   4. a list written at its key's column, closing before that mapping's next key, counts as
 *      that mapping;
 *   5. quirk: when the first block went deeper than the next content, a later line that lands in
 *      the next content's list without being at that list's column goes after the next scalar.
 *   A comment that goes to a level is placed after the entries that level has so far.
 */
import { Comment } from '../values.js';
import type { SCollection, SComment, SDocument, SNode, SStream } from './parse.js';

export interface Placed {
  /** Index of the entry the comment goes before (the entry count for after the last one). */
  slot: number;
  offset: number;
  comment: Comment;
}

/** Comments per collection; the `null` key holds those of a document without content. */
export type Placements = Map<SCollection | null, Placed[]>;

interface Mark {
  start: number;
  kind: 'key' | 'dash' | 'value';
  container: SCollection;
  index: number;
  /** The block collections open at this point, outermost first (ending with `container`). */
  chain: SCollection[];
  /** For key and dash marks: the block collection that is the value, when there is one. */
  nested: SCollection | null;
  /** For key and dash marks: the value is empty. */
  empty: boolean;
  /** For value marks: the flow collection that is the value. */
  flow: SCollection | null;
}

const isBlockCollection = (n: SNode): n is SCollection => (n.kind === 'map' || n.kind === 'seq') && !n.flow;
const isFlowCollection = (n: SNode): n is SCollection => (n.kind === 'map' || n.kind === 'seq') && n.flow;
const isEmptyScalar = (n: SNode): boolean => n.kind === 'scalar' && n.start === n.end && n.text === '';

function collectMarks(root: SNode): { marks: Mark[]; flows: SCollection[] } {
  const marks: Mark[] = [];
  const flows: SCollection[] = [];
  const value = (v: SNode, chain: SCollection[], container: SCollection, index: number): void => {
    if (isBlockCollection(v)) return walk(v, chain);
    if (isEmptyScalar(v)) return;
    const flow = isFlowCollection(v) ? v : null;
    if (flow) flows.push(flow);
    marks.push({ start: v.start, kind: 'value', container, index, chain, nested: null, empty: false, flow });
  };
  const walk = (c: SCollection, outer: SCollection[]): void => {
    const chain = [...outer, c];
    if (c.kind === 'map') {
      c.entries.forEach((e, i) => {
        const nested = isBlockCollection(e.value) ? e.value : null;
        marks.push({
          start: e.start,
          kind: 'key',
          container: c,
          index: i,
          chain,
          nested,
          empty: isEmptyScalar(e.value),
          flow: null,
        });
        value(e.value, chain, c, i);
      });
    } else {
      c.items.forEach((it, i) => {
        const nested = isBlockCollection(it.value) ? it.value : null;
        marks.push({
          start: it.start,
          kind: 'dash',
          container: c,
          index: i,
          chain,
          nested,
          empty: isEmptyScalar(it.value),
          flow: null,
        });
        value(it.value, chain, c, i);
      });
    }
  };
  if (isBlockCollection(root)) walk(root, []);
  else if (isFlowCollection(root)) flows.push(root);
  marks.sort((a, b) => a.start - b.start);
  return { marks, flows };
}

const starts = new WeakMap<SCollection, number[]>();

/** Where each entry of a collection starts (in increasing order). */
function entryStarts(c: SCollection): number[] {
  let s = starts.get(c);
  if (!s) {
    s = c.kind === 'map' ? c.entries.map((e) => e.start) : c.items.map((i) => i.start);
    starts.set(c, s);
  }
  return s;
}

/** The slot of a comment at `offset` in `c`: after the entries that start before it. */
function slotAt(c: SCollection, offset: number): number {
  const at = entryStarts(c);
  let lo = 0;
  let hi = at.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((at[mid] as number) < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface RunShape {
  /** Column of each comment line. */
  cols: number[];
  /** An empty line comes right before each comment line (for the first: after the content). */
  blankBefore: boolean[];
  /** An empty line, or the end of the stream, comes right after the last comment line. */
  blankAfter: boolean;
}

/**
 * The level of each line of a run of own-line comments that closes collections (rules 1-3 in the
 * header). `levelCols` are the columns of the open levels, `next` the level of the next content.
 */
export function closingLevels(run: RunShape, levelCols: number[], next: number, isList: boolean[]): number[] {
  const { cols, blankBefore } = run;
  const last = levelCols.length - 1;
  const deepestCol = levelCols[last] as number;
  // A list written at its key's column ("- " right under "key:") that closes before the next
  // key of that mapping counts for the mapping.
  const indentless = last - 1 === next && isList[last] && levelCols[next] === deepestCol;
  const deepest = indentless ? last - 1 : last;
  const nextCol = levelCols[next] as number;
  const firstCol = cols[0] as number;
  /** The closing level whose column `col` is (a list's column counts for its parent). */
  const levelAt = (col: number): number => {
    const k = levelCols.indexOf(col);
    if (k <= next) return next;
    return isList[k] && k > 0 ? k - 1 : k;
  };
  let blockEnd = 1;
  while (
    blockEnd < cols.length &&
    !blankBefore[blockEnd] &&
    ((cols[blockEnd] as number) >= deepestCol || cols[blockEnd] === firstCol)
  ) {
    blockEnd++;
  }
  // The first block: a "foot" when it follows the content directly and an empty line (or the
  // end of the stream) follows it; then it goes to the level at its column.
  const footBlock =
    !blankBefore[0] && (blockEnd < cols.length ? Boolean(blankBefore[blockEnd]) : run.blankAfter);
  let blockLevel: number;
  if (footBlock) blockLevel = firstCol >= deepestCol ? last : levelAt(firstCol);
  else if (blockEnd === cols.length && firstCol === nextCol) blockLevel = next;
  else blockLevel = deepest;
  const levels: number[] = cols.map(() => blockLevel);
  const inherits: boolean[] = [];
  let floor = next;
  for (let i = cols.length - 1; i >= blockEnd; i--) {
    const col = cols[i] as number;
    // Deep lines stay with the line before, unless they start a block after an empty line.
    if (col >= deepestCol && !blankBefore[i]) {
      inherits[i] = true;
      continue;
    }
    let own: number;
    if (col === firstCol) own = next;
    else if (col >= deepestCol) own = deepest;
    else own = levelAt(col);
    floor = Math.max(floor, own);
    levels[i] = floor;
  }
  for (let i = blockEnd; i < cols.length; i++) if (inherits[i]) levels[i] = levels[i - 1] as number;
  for (let i = blockEnd - 1; i >= 0; i--) levels[i] = Math.max(levels[i] as number, levels[i + 1] ?? next);
  return levels;
}

/** Index of the first mark starting at or after `offset`. */
function firstIndexFrom(marks: Mark[], offset: number): number {
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((marks[mid] as Mark).start < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const lastBefore = (marks: Mark[], offset: number): Mark | undefined =>
  marks[firstIndexFrom(marks, offset) - 1];

const firstAfter = (marks: Mark[], offset: number): Mark | undefined =>
  marks[firstIndexFrom(marks, offset + 1)];

/** Line of the last non-blank character before `offset` (-1 when there is none). */
function lineOfTextBefore(stream: SStream, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(stream.text[i] as string)) i--;
  return i < 0 ? -1 : stream.lineOf(i);
}

/** Line of the first non-blank character after `offset` (null at the end of the stream). */
function lineOfTextAfter(stream: SStream, offset: number): number | null {
  const text = stream.text;
  let i = offset;
  while (i < text.length && /\s/.test(text[i] as string)) i++;
  return i < text.length ? stream.lineOf(i) : null;
}

export function placeComments(stream: SStream, doc: SDocument, comments: SComment[]): Placements {
  const out: Placements = new Map();
  const put = (c: SCollection | null, slot: number, cm: SComment, inline = false): void => {
    const list = out.get(c) ?? [];
    list.push({ slot, offset: cm.offset, comment: new Comment(cm.text, inline) });
    out.set(c, list);
  };
  const root = doc.root;
  const rootCollection = root && (root.kind === 'map' || root.kind === 'seq') ? root : null;
  if (!rootCollection) {
    for (const c of comments) put(null, 0, c);
    return out;
  }
  const { marks, flows } = collectMarks(rootCollection);
  // The flow collections found are disjoint (nested ones are not collected): sort them once and
  // find the one holding a comment by binary search instead of a scan per comment.
  flows.sort((a, b) => a.start - b.start);
  const flowAt = (offset: number): SCollection | undefined => {
    let lo = 0;
    let hi = flows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((flows[mid] as SCollection).start < offset) lo = mid + 1;
      else hi = mid;
    }
    const f = flows[lo - 1];
    return f !== undefined && offset < f.end ? f : undefined;
  };
  // Index of the first value mark at or after each mark (computed once, from the end).
  let nextValueFrom: Int32Array | undefined;
  const nextValueMark = (from: number): Mark | undefined => {
    if (nextValueFrom === undefined) {
      nextValueFrom = new Int32Array(marks.length + 1).fill(-1);
      for (let k = marks.length - 1; k >= 0; k--) {
        nextValueFrom[k] = (marks[k] as Mark).kind === 'value' ? k : (nextValueFrom[k + 1] as number);
      }
    }
    const k = from < marks.length ? (nextValueFrom[from] as number) : -1;
    return k >= 0 ? marks[k] : undefined;
  };

  const lineComment = (c: SComment): void => {
    const prev = lastBefore(marks, c.offset);
    if (!prev) return put(rootCollection, 0, c);
    if (prev.kind === 'value') {
      if (prev.flow && prev.container.kind === 'map') return put(prev.flow, 0, c);
      return put(prev.container, prev.index, c, true);
    }
    if (prev.kind === 'dash') {
      if (prev.empty) return put(prev.container, prev.index + 1, c);
      if (prev.nested) return put(prev.nested, 0, c);
    }
    put(prev.container, prev.index, c);
  };

  const ownLineRun = (run: SComment[]): void => {
    const first = run[0] as SComment;
    const last = run[run.length - 1] as SComment;
    const prev = lastBefore(marks, first.offset);
    const next = firstAfter(marks, last.offset);
    if (!prev) {
      for (const c of run) put(rootCollection, slotAt(rootCollection, c.offset), c);
      return;
    }
    if (prev.nested && next && next.start >= (entryStarts(prev.nested)[0] ?? prev.nested.start)) {
      // Quirk: when the line after the first block (the first line and those at its column) is
      // left of the key or dash, that first block goes to the end of the collection instead.
      const keyCol = stream.colOf(prev.start);
      let blockEnd = 1;
      while (blockEnd < run.length && (run[blockEnd] as SComment).col === first.col) blockEnd++;
      const toEnd = blockEnd < run.length && (run[blockEnd] as SComment).col < keyCol;
      const end = entryStarts(prev.nested).length;
      run.forEach((c, i) => put(prev.nested as SCollection, toEnd && i < blockEnd ? end : 0, c));
      return;
    }
    if (prev.kind === 'dash' && !prev.empty && next?.container === prev.container && next.kind === 'value') {
      for (const c of run) put(prev.container, prev.index, c);
      return;
    }
    const chain = prev.chain;
    let nextLevel = next ? chain.indexOf(next.container) : 0;
    if (nextLevel < 0) nextLevel = chain.length - 1;
    const after = lineOfTextAfter(stream, last.offset + last.text.length + 1);
    const shape: RunShape = {
      cols: run.map((c) => c.col),
      blankBefore: run.map((c, i) => {
        const before = i === 0 ? lineOfTextBefore(stream, c.offset) : (run[i - 1] as SComment).line;
        return c.line - before > 1;
      }),
      blankAfter: after === null || after - last.line > 1,
    };
    const levels = closingLevels(
      shape,
      chain.map((c) => c.col),
      nextLevel,
      chain.map((c) => c.kind === 'seq'),
    );
    const nextCol = (chain[nextLevel] as SCollection).col;
    const firstBlockLevel = levels[0] as number;
    const nextScalar = nextValueMark(firstIndexFrom(marks, last.offset));
    run.forEach((c, i) => {
      const target = chain[levels[i] as number] as SCollection;
      // Quirk: when deeper collections closed before the next item of a list, a later line that
      // lands in that list without being at its column follows the next scalar instead.
      const deferred =
        target.kind === 'seq' &&
        i > 0 &&
        levels[i] === nextLevel &&
        firstBlockLevel > nextLevel &&
        c.col !== nextCol;
      if (deferred && nextScalar) put(nextScalar.container, nextScalar.index + 1, c);
      else put(target, slotAt(target, c.offset), c);
    });
  };

  let run: SComment[] = [];
  const flush = (): void => {
    if (run.length > 0) ownLineRun(run);
    run = [];
  };
  for (const c of comments) {
    const flow = flowAt(c.offset);
    if (flow) {
      flush();
      const slot = slotAt(flow, c.offset);
      if (!c.ownLine && slot > 0) put(flow, slot - 1, c, true);
      else if (slot < entryStarts(flow).length) put(flow, slot, c);
      continue;
    }
    if (!c.ownLine) {
      flush();
      lineComment(c);
      continue;
    }
    const prevOfRun = run.length > 0 ? lastBefore(marks, (run[0] as SComment).offset) : undefined;
    if (run.length > 0 && lastBefore(marks, c.offset) !== prevOfRun) flush();
    run.push(c);
  }
  flush();
  for (const list of out.values()) list.sort((a, b) => a.offset - b.offset);
  return out;
}
