/**
 * Commented-out keys in `application.secrets.yaml` (see the rules in `../yaml.ts`): which full-line
 * comments sit in the key column of a flattened mapping, and which runs of them parse as
 * `key: value` — the disabled entries.
 */
import { isMap, LineCounter } from 'yaml';
import { SmcError } from '../../errors.js';
import { parseBoundedYaml, YamlLimitError } from '../../limits/yaml.js';
import type { ParsedEntry } from '../parsed.js';
import { type EmptyValue, flattenMap, type KeyRegion } from './flatten.js';
import { type ContentLine, excludedRanges, firstContentAfter, regionOwners } from './regions.js';

const COMMENTED_KEY_LINE = /^[A-Za-z_][A-Za-z0-9_.-]*:(?:[ \t]|$)/;

interface CommentLine {
  line: number;
  column: number;
  /** Text after the `#`. */
  text: string;
}

export function commentedOutKeys(
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
