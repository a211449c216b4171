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
import { isMap, isScalar, LineCounter, visit } from 'yaml';
import { readBoundedYaml } from '../limits/yaml.js';
import { duplicateKeyError, mergeDefinitions, parseError, stripBom, type ParsedEntry } from './parsed.js';
import { commentedOutKeys } from './yaml/comments.js';
import { type EmptyValue, type FlattenContext, flattenMap, type KeyRegion } from './yaml/flatten.js';

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
