/**
 * The chart's checked-in files that must follow the rest of the repository: appVersion follows
 * package.json; crds/ holds a byte-identical copy of the generated CRD, which `npm run gen:crd`
 * writes and `gen-crd --check` (CI) refuses when stale; values.yaml lists every controller setting
 * (except watch_namespaces, which comes from `watchNamespaces`) at the default of the kustomize
 * ConfigMap.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CRD_FILE } from '../../src/api/index.js';
import { SETTING_KEYS } from '../../src/controller/settings.js';
import { repoRoot } from '../peers.js';

const run = promisify(execFile);
const CHART = 'charts/secret-manager-controller';
const CHART_CRD = `${CHART}/crds/secretmanagerconfig.yaml`;
const read = (p: string) => readFile(join(repoRoot, p), 'utf8');

describe('Helm chart files', () => {
  it('Chart.yaml: appVersion is the package version', async () => {
    const chart = parse(await read(`${CHART}/Chart.yaml`)) as Record<string, string>;
    const pkg = JSON.parse(await read('package.json')) as { version: string };
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('secret-manager-controller');
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('crds/ holds a byte-identical copy of the generated CRD (run `npm run gen:crd` when this fails)', async () => {
    expect(await read(CHART_CRD)).toBe(await read(CRD_FILE));
  });

  it('gen-crd --check fails, naming the file, when the chart copy is stale, and gen:crd repairs it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gen-crd-chart-'));
    try {
      for (const d of ['config', 'docs', 'charts'])
        await cp(join(repoRoot, d), join(dir, d), { recursive: true });
      const gen = (...args: string[]) =>
        run('npx', ['tsx', 'scripts/gen-crd.ts', '--root', dir, ...args], { cwd: repoRoot });
      await gen('--check');
      await writeFile(join(dir, CHART_CRD), `# edited by hand\n${await read(CHART_CRD)}`);
      const failed = await gen('--check').then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(`${CHART_CRD}: stale`);
      expect(failed?.stderr).not.toContain(`${CRD_FILE}: stale`);
      await gen();
      await gen('--check');
      expect(await readFile(join(dir, CHART_CRD), 'utf8')).toBe(await read(CRD_FILE));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('values.yaml lists every setting at the default of config/manager/settings.yaml', async () => {
    const values = parse(await read(`${CHART}/values.yaml`)) as { settings: Record<string, unknown> };
    const configMap = parse(await read('config/manager/settings.yaml')) as { data: Record<string, string> };
    const expected = SETTING_KEYS.filter((k) => k !== 'watch_namespaces');
    expect(Object.keys(values.settings).sort()).toEqual([...expected].sort());
    for (const k of expected) expect(String(values.settings[k]), k).toBe(configMap.data[k]);
    expect(configMap.data.watch_namespaces).toBe('');
  });

  it('values.schema.json knows every setting and every top-level value', async () => {
    const schema = JSON.parse(await read(`${CHART}/values.schema.json`)) as {
      additionalProperties: boolean;
      properties: Record<string, { additionalProperties?: boolean; properties?: Record<string, unknown> }>;
    };
    const values = parse(await read(`${CHART}/values.yaml`)) as Record<string, unknown>;
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual([...Object.keys(values), 'global'].sort());
    // Unknown settings keys are refused at install (the controller would refuse them at start).
    expect(schema.properties.settings!.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.settings!.properties!).sort()).toEqual([...SETTING_KEYS].sort());
  });
});
