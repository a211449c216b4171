/**
 * Rendering results for people (tables, lines) and for scripts (JSON, YAML). Never prints a value.
 *
 * Every human-readable line goes out through `writeLines` (or `formatTable`), which escape control
 * characters (see ../control-characters.ts): a key, name or message from Git or from a store can
 * neither drive the terminal nor print a line of its own. JSON and YAML stay exact (they parse back
 * to the same data) but never carry such a character raw either: it is written as an escape of the
 * format.
 */
import { Option } from 'commander';
import { Document, visit } from 'yaml';
import { escapeControlCharacters, hasControlCharacters } from '../control-characters.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `-o, --output table|json|yaml` (commander refuses any other value, naming the choices). */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table');
}

/** Write human-readable lines to `stream`, each with its control characters escaped. */
export function writeLines(stream: NodeJS.WritableStream, lines: string | readonly string[]): void {
  const all = typeof lines === 'string' ? [lines] : lines;
  stream.write(all.map((l) => escapeControlCharacters(l) + '\n').join(''));
}

/** A plain left-aligned table, like kubectl's: one string per line, cells escaped. */
export function formatTable(headers: string[], rows: (string | undefined)[][]): string[] {
  const widths = columnWidths(headers, rows);
  return [headers, ...rows].map((r) => formatRow(widths, r));
}

/** The width of each column of a table (cells measured escaped, as they are printed). */
export function columnWidths(headers: string[], rows: (string | undefined)[][]): number[] {
  const cells = [headers, ...rows].map((r) => r.map((c) => escapeControlCharacters(c ?? '')));
  return headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
}

/** One table line: cells escaped and padded to `widths` (the last one is not padded). */
export function formatRow(widths: number[], row: (string | undefined)[]): string {
  return row
    .map((c, i) => {
      const cell = escapeControlCharacters(c ?? '');
      return i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
    })
    .join('  ')
    .trimEnd();
}

/** Control characters JSON.stringify leaves raw (it escapes only U+0000–U+001F). */
const RAW_AFTER_STRINGIFY = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Every control character but the line feed that separates YAML lines. */
const RAW_IN_YAML =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function formatStructured(data: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') {
    // These characters can only stand inside JSON strings, where `\uXXXX` means the same.
    return JSON.stringify(data, null, 2).replace(RAW_AFTER_STRINGIFY, hex4);
  }
  // A string holding a control character is written double-quoted, the only YAML style with
  // escapes (`\e`, `\n`, `\x9b`, `\u202e`); then no control character stands raw outside one.
  const doc = new Document(data);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && hasControlCharacters(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc
    .toString({ doubleQuotedMinMultiLineLength: Number.MAX_SAFE_INTEGER })
    .replace(RAW_IN_YAML, hex4)
    .trimEnd();
}

/** Time since `from` the way kubectl shows an AGE: `42s`, `5m`, `3h`, `12d` (`-` when unknown). */
export function formatAge(from: string | undefined, now: Date = new Date()): string {
  const t = from ? Date.parse(from) : NaN;
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.floor((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
