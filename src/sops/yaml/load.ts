/**
 * YAML text -> sops tree branches (one per document): typed scalars, ordered mappings, lists,
 * aliases expanded, comments placed as sops places them.
 */
import {
  Branch,
  type Comment,
  GoFloat,
  GoInt,
  GoTimeValue,
  type TreeItem,
  type TreeValue,
} from '../values.js';
import { type Placed, type Placements, placeComments } from './comments.js';
import { type SComment, type SDocument, type SMap, type SNode, type SStream, parseStream } from './parse.js';
import { type Resolved, TagError, resolveTagged } from './resolve.js';

export { YamlSyntaxError } from './parse.js';

/** YAML that parses but that sops cannot turn into a tree. */
export class UnsupportedYaml extends Error {}

function typed(r: Resolved): TreeValue {
  switch (r.kind) {
    case 'null':
      return null;
    case 'bool':
      return r.value;
    case 'int':
      return new GoInt(r.value);
    case 'uint':
      throw new UnsupportedYaml('an integer larger than int64');
    case 'float':
      return new GoFloat(r.value);
    case 'timestamp':
      return new GoTimeValue(r.value);
    case 'merge':
      return '<<';
    case 'str':
      return r.value;
  }
}

function scalarValue(n: SNode): TreeValue {
  if (n.kind === 'alias') return scalarValue(n.target);
  if (n.kind !== 'scalar') throw new UnsupportedYaml('a mapping or list used as a mapping key');
  return typed(resolveTagged(n.tag, n.text, n.style === 'plain'));
}

/** Builds tree values, inserting the placed comments. */
class Builder {
  constructor(private readonly placements: Placements) {}

  private commentsOf(c: SNode): CommentSlots {
    return new CommentSlots(c.kind === 'map' || c.kind === 'seq' ? (this.placements.get(c) ?? []) : []);
  }

  value(n: SNode): TreeValue {
    switch (n.kind) {
      case 'alias':
        return this.value(n.target);
      case 'scalar':
        return scalarValue(n);
      case 'map':
        return new Branch(this.mapItems(n));
      case 'seq': {
        const placed = this.commentsOf(n);
        const out: TreeValue[] = [];
        n.items.forEach((it, i) => {
          for (const c of placed.at(i)) out.push(c);
          out.push(this.value(it.value));
        });
        for (const c of placed.atOrAfter(n.items.length)) out.push(c);
        return out;
      }
    }
  }

  mapItems(n: SMap): TreeItem[] {
    const placed = this.commentsOf(n);
    const items: TreeItem[] = [];
    const addComments = (cs: Comment[]): void => {
      for (const c of cs) items.push({ key: c, value: null });
    };
    n.entries.forEach((e, i) => {
      addComments(placed.at(i));
      const key = scalarValue(e.key);
      if (typeof key !== 'string') throw new UnsupportedYaml('a mapping key that is not a string');
      items.push({ key, value: this.value(e.value) });
    });
    addComments(placed.atOrAfter(n.entries.length));
    return items;
  }

  document(doc: SDocument): Branch {
    const root = doc.root;
    if (
      root === null ||
      (root.kind === 'scalar' && root.style === 'plain' && root.text === '' && !root.tag)
    ) {
      return new Branch((this.placements.get(null) ?? []).map((p) => ({ key: p.comment, value: null })));
    }
    const top = root.kind === 'alias' ? root.target : root;
    if (top.kind === 'seq') throw new UnsupportedYaml('YAML documents that are sequences are not supported');
    if (top.kind !== 'map') throw new UnsupportedYaml('YAML documents that are values are not supported');
    return new Branch(this.mapItems(top));
  }
}

/** The placed comments of one collection by slot, in placement order (grouped once: linear). */
class CommentSlots {
  private readonly bySlot = new Map<number, Comment[]>();
  constructor(private readonly placed: Placed[]) {
    for (const p of placed) {
      const list = this.bySlot.get(p.slot);
      if (list) list.push(p.comment);
      else this.bySlot.set(p.slot, [p.comment]);
    }
  }
  at(slot: number): Comment[] {
    return this.bySlot.get(slot) ?? [];
  }
  /** Comments at `slot` or past it (the end of the collection). */
  atOrAfter(slot: number): Comment[] {
    return this.placed.filter((p) => p.slot >= slot).map((p) => p.comment);
  }
}

/** The text of a mapping key as go-yaml compares keys for duplicates. */
function keyText(n: SNode): string | null {
  if (n.kind === 'alias') return keyText(n.target);
  return n.kind === 'scalar' ? n.text : null;
}

const deref = (n: SNode): SNode => (n.kind === 'alias' ? deref(n.target) : n);

/** A `<<` key that go-yaml treats as a merge: plain, or tagged `!!merge`. */
function isMergeKey(n: SNode): boolean {
  const k = deref(n);
  if (k.kind !== 'scalar' || k.text !== '<<') return false;
  if (k.tag === null) return k.style === 'plain';
  return k.tag === '!' || k.tag === 'tag:yaml.org,2002:merge';
}

/**
 * sops also decodes the first document into a Go map, where go-yaml refuses a mapping key defined
 * twice (compared as text) and a merge whose value is not a mapping or a list of mappings.
 */
function checkFirstDocument(n: SNode): void {
  if (n.kind === 'map') {
    const seen = new Set<string>();
    for (const e of n.entries) {
      if (isMergeKey(e.key)) {
        const v = deref(e.value);
        const ok =
          v.kind === 'map' || (v.kind === 'seq' && v.items.every((it) => deref(it.value).kind === 'map'));
        if (!ok) throw new UnsupportedYaml('map merge requires map or sequence of maps as the value');
      } else {
        const k = keyText(e.key);
        if (k !== null) {
          if (seen.has(k)) throw new UnsupportedYaml(`mapping key "${k}" is defined twice`);
          seen.add(k);
        }
      }
      checkFirstDocument(e.value);
    }
  } else if (n.kind === 'seq') {
    for (const it of n.items) checkFirstDocument(it.value);
  }
}

/**
 * Which document a comment belongs to: the one whose content it follows, unless a `---` or
 * `...` marker lies between that content and the comment, then the next one.
 */
function commentsPerDocument(stream: SStream): SComment[][] {
  const docs = stream.documents;
  const out: SComment[][] = docs.map(() => []);
  // Binary searches over the sorted documents and markers: a scan per comment is quadratic.
  for (const c of stream.comments) {
    let d = 0;
    // The last document starting at or before the comment (documents are in order).
    const i = lastIndexAtOrBefore(docs.length, (k) => (docs[k] as SDocument).start, c.offset);
    if (i >= 0) {
      const doc = docs[i] as SDocument;
      d = i;
      // An empty document's own `---` sits at its start.
      const contentEnd = doc.root ? doc.root.end : doc.start + 1;
      const m = firstIndexAtOrAfter(stream.markers, contentEnd);
      const ended = m < stream.markers.length && (stream.markers[m] as number) < c.offset;
      if (c.offset > contentEnd && ended && i + 1 < docs.length) d = i + 1;
    }
    out[d]?.push(c);
  }
  return out;
}

/** Index of the last of `n` increasing values at or before `x` (-1 when none). */
function lastIndexAtOrBefore(n: number, at: (k: number) => number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(mid) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first sorted value at or after `x` (the length when none). */
function firstIndexAtOrAfter(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function loadDocuments(text: string): Branch[] {
  const stream = parseStream(text);
  const perDoc = commentsPerDocument(stream);
  return stream.documents.map((doc, i) => {
    if (i === 0 && doc.root) checkFirstDocument(doc.root);
    try {
      return new Builder(placeComments(stream, doc, perDoc[i] ?? [])).document(doc);
    } catch (e) {
      if (e instanceof TagError) throw new UnsupportedYaml(e.message);
      throw e;
    }
  });
}
