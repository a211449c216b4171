/**
 * Line-geometry queries the comment reader asks of a whole file at once, each in one pass: where a
 * mapping's lines end, which mapping owns a comment line, and whether an offset lies inside a
 * scalar or flow collection (where a `#` is content, not a comment).
 */
import type { KeyRegion } from './flatten.js';

export interface ContentLine {
  line: number;
  indent: number;
}

/**
 * For each query, the first content line after `after` indented at most `maxIndent` (Infinity
 * when none), for all queries in O((lines + queries) log lines): queries are answered from the
 * last line backwards, keeping only the lines no earlier line with as little indent hides.
 */
export function firstContentAfter(
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
export function regionOwners(
  regions: readonly KeyRegion[],
): (c: { line: number; column: number }) => KeyRegion | undefined {
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
export function excludedRanges(ranges: ReadonlyArray<[number, number]>): (offset: number) => boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let i = 0;
  let reach = Number.NEGATIVE_INFINITY; // the furthest end of the ranges starting at or before offset
  return (offset) => {
    while (i < sorted.length && sorted[i]![0] <= offset) reach = Math.max(reach, sorted[i++]![1]);
    return offset < reach;
  };
}
