/** Rendering results for people (tables) and for scripts (JSON, YAML). Never prints a value. */
import { stringify as toYaml } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'json' || value === 'yaml') return value;
  throw new Error(`-o must be one of table, json, yaml (got "${value}")`);
}

/** A plain left-aligned table, like kubectl's. */
export function formatTable(headers: string[], rows: (string | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => c ?? ''))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatStructured(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(data, null, 2) : toYaml(data).trimEnd();
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
