/**
 * Flattening a parsed YAML mapping into `a.b.c` entries (see the rules in `../yaml.ts`): plain scalar
 * keys only, no merge keys, sequences as one JSON value, scalars as written; and, for the real
 * document, where each block mapping and each empty `key:` sits, for the comment reader.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Alias,
  type Node as YamlNode,
  type Pair,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { toPlainValue } from '../../limits/yaml.js';
import { parseError } from '../parsed.js';

/** A block mapping whose column can hold commented-out keys, and the lines it spans. */
export interface KeyRegion {
  column: number;
  path: string[];
  /** Line of the key that opens the mapping (0 for the root); the region starts after it. */
  afterLine: number;
  /** First line past the region (computed once all content lines are known). */
  endLine: number;
  /** Set for the virtual region of an empty `key:` — the key whose empty value it replaces. */
  emptyKey?: string;
}

export interface EmptyValue {
  key: string;
  path: string[];
  line: number;
  column: number;
}

export interface FlattenContext {
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

export function flattenMap(map: YAMLMap, path: string[], ctx: FlattenContext): void {
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
