/**
 * The monitoring assets speak the controller's real metrics: every metric the Grafana dashboard and
 * the PrometheusRule query is one src/observability/metrics.ts registers (histogram series only
 * through `_bucket`/`_sum`/`_count`), every label they group or filter by is one that metric has (or
 * a scrape target label), and the dashboard covers the panels docs/packaging.md promises. The chart
 * ships a byte-identical copy of the dashboard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC_LABELS, createControllerMetrics } from '../../src/observability/metrics.js';
import { repoRoot } from '../peers.js';

const DASHBOARD = 'config/monitoring/grafana-dashboard.json';
const CHART_DASHBOARD = 'charts/secret-manager-controller/dashboards/grafana-dashboard.json';
/** Labels Prometheus adds to every scraped series (target labels of a ServiceMonitor). */
const TARGET_LABELS = new Set(['job', 'instance', 'pod', 'namespace', 'service', 'container', 'endpoint']);

let types: Map<string, string>;
beforeAll(async () => {
  const metrics = createControllerMetrics({ processMetrics: false });
  types = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
});

interface Resolved {
  metric: string;
  series: string;
}

/** `secret_manager_x_bucket` → the registered metric it belongs to (or an error message). */
function resolve(series: string): Resolved | string {
  if (types.has(series)) {
    return types.get(series) === 'histogram'
      ? `${series} is a histogram: query ${series}_bucket, _sum or _count`
      : { metric: series, series };
  }
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (m && types.get(m[1]!) === 'histogram') return { metric: m[1]!, series };
  return `${series} is not a metric of src/observability/metrics.ts`;
}

/** Problems of one PromQL expression: unknown metrics, labels the metric does not have. */
function problems(expr: string): string[] {
  const out: string[] = [];
  const used: Resolved[] = [];
  // Metric names: identifiers followed by `{`, `[`, `)` or whitespace, not label names or functions.
  for (const m of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)) {
    const name = m[1]!;
    // Functions, keywords, label names and aggregations; groupings are checked below.
    if (!name.startsWith('secret_manager_')) continue;
    const r = resolve(name);
    if (typeof r === 'string') {
      out.push(r);
      continue;
    }
    used.push(r);
    const labels = new Set<string>([...(METRIC_LABELS[r.metric as keyof typeof METRIC_LABELS] ?? [])]);
    if (r.series.endsWith('_bucket')) labels.add('le');
    for (const sel of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
      if (!labels.has(sel[1]!) && !TARGET_LABELS.has(sel[1]!)) out.push(`${r.series} has no label ${sel[1]}`);
    }
  }
  if (used.length === 0 && !/\bup\b/.test(expr)) out.push(`no secret_manager_ metric in: ${expr}`);
  // `by (…)` / `without (…)` labels must exist on one of the metrics of the expression.
  const known = new Set<string>(TARGET_LABELS);
  for (const u of used) {
    for (const l of METRIC_LABELS[u.metric as keyof typeof METRIC_LABELS] ?? []) known.add(l);
    if (u.series.endsWith('_bucket')) known.add('le');
  }
  for (const g of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const l of g[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!known.has(l)) out.push(`grouping by ${l}, which no metric of the expression has: ${expr}`);
    }
  }
  return out;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { uid: string };
  targets?: { expr: string; legendFormat?: string }[];
  panels?: Panel[];
}

const dashboardText = readFileSync(join(repoRoot, DASHBOARD), 'utf8');
const dashboard = JSON.parse(dashboardText) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = panels.filter((p) => p.type !== 'row');

describe('PromQL checker', () => {
  it('flags unknown metrics, raw histograms and labels a metric does not have', () => {
    expect(problems('sum(rate(secret_manager_reconciliations_total{result="error"}[5m]))')).toEqual([]);
    expect(problems('rate(secret_manager_reconcilations_total[5m])')[0]).toMatch(/is not a metric/);
    expect(problems('secret_manager_sync_latency_seconds')[0]).toMatch(/histogram/);
    expect(problems('secret_manager_queue_depth{provider="gcp"}')[0]).toMatch(/no label provider/);
    expect(problems('sum by (provider) (secret_manager_queue_depth)')[0]).toMatch(/grouping by provider/);
    expect(
      problems('histogram_quantile(0.9, sum by (le) (rate(secret_manager_sync_latency_seconds_bucket[5m])))'),
    ).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  it('queries only metrics and labels the controller exports', () => {
    const found = queryPanels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => problems(t.expr).map((e) => `${p.title}: ${e}`)),
    );
    expect(found).toEqual([]);
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const q = JSON.stringify(v.query);
      const metric = /label_values\((\w+)/.exec(q)?.[1];
      expect(types.has(metric!), `variable ${v.name} reads ${metric}`).toBe(true);
    }
  });

  it('has a panel, with a query, for every metric operators watch', () => {
    const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of [
      'secret_manager_reconciliations_total',
      'secret_manager_reconciliation_duration_seconds_bucket',
      'secret_manager_queue_depth',
      'secret_manager_provider_operations_total',
      'secret_manager_provider_throttled_total',
      'secret_manager_sync_latency_seconds_bucket',
      'secret_manager_secrets_managed',
      'secret_manager_secrets_diff_detected_total',
      'secret_manager_sops_decryption_total',
      'secret_manager_config_reloads_total',
      'secret_manager_workload_reloads_total',
    ]) {
      expect(exprs, m).toMatch(new RegExp(`\\b${m}\\b`));
    }
    for (const p of queryPanels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.description, p.title).toBeTruthy();
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
    }
  });

  it('is a well-formed dashboard: unique panel ids, a stable uid, a data source variable', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe('secret-manager-controller');
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    // Every query filters by the job variable, so two installs in one Prometheus stay apart.
    for (const p of queryPanels)
      for (const t of p.targets ?? []) expect(t.expr, p.title).toContain('job=~"$job"');
  });

  it('is shipped byte-identical by the Helm chart', () => {
    expect(readFileSync(join(repoRoot, CHART_DASHBOARD), 'utf8')).toBe(dashboardText);
  });
});

describe('PrometheusRule (config/monitoring)', () => {
  it('alerts only on metrics and labels the controller exports', () => {
    const rule = parse(readFileSync(join(repoRoot, 'config/monitoring/prometheusrule.yaml'), 'utf8')) as {
      spec: { groups: { rules: { alert: string; expr: string }[] }[] };
    };
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(0);
    const found = rules.flatMap((r) => problems(r.expr).map((e) => `${r.alert}: ${e}`));
    expect(found).toEqual([]);
  });
});
