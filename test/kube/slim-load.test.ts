/**
 * The controller loads only the parts of @kubernetes/client-node it uses (src/kube/client-node.ts,
 * docs/performance.md "Memory"): not the package's entry, not the generated index of every API
 * group, and of the generated API groups only the four it calls. Each case runs in its own Node
 * process and lists the client-node files that process loaded
 * (fixtures/loaded-client-node.mjs).
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
const fixture = join(import.meta.dirname, 'fixtures', 'loaded-client-node.mjs');

/** The generated API groups the controller calls (src/kube/api-clients.ts). */
const USED_GROUPS = ['AppsV1Api', 'CoordinationV1Api', 'CoreV1Api', 'CustomObjectsApi'];

async function loadedClientNodeFiles(...modules: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', fixture, ...modules.map((m) => join(repoRoot, m))],
    { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
}

/** Files whose presence means the whole generated API came back. */
function heavy(files: string[]): string[] {
  return files.filter(
    (f) =>
      f === 'index.js' ||
      f === 'api.js' ||
      f === 'gen/index.js' ||
      f.startsWith('gen/types/') ||
      (/^gen\/apis\/\w+Api\.js$/.test(f) && !USED_GROUPS.some((g) => f === `gen/apis/${g}.js`)),
  );
}

describe('client-node loaded in part', () => {
  it.each(['src/controller/main.ts', 'src/kube/client-node.ts'])(
    'importing %s loads KubeConfig and four API groups, not the generated index',
    async (module) => {
      const loaded = await loadedClientNodeFiles(module);
      expect(loaded).toContain('config.js'); // the hook saw client-node load
      expect(loaded).toContain('gen/configuration.js');
      for (const group of USED_GROUPS) expect(loaded).toContain(`gen/apis/${group}.js`);
      expect(heavy(loaded)).toEqual([]);
    },
  );

  it('the fixture sees the generated index when the package entry is imported', async () => {
    const loaded = await loadedClientNodeFiles('test/kube/fixtures/import-client-node.ts');
    expect(loaded).toContain('gen/index.js');
    expect(loaded).toContain('gen/types/ObjectParamAPI.js');
  });
});
