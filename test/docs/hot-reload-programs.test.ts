/**
 * The Python and Go programs of docs/hot-reload.md, run as the reader would run them (the text of
 * the doc's tagged blocks, test/docs/doc-blocks.ts), against a directory updated the way the
 * kubelet updates a Secret volume (test/reload/fs-writers.ts: AtomicWriter's `..data` swap):
 *
 * - each reloads exactly once per real change, never for a swap with identical content, keeps its
 *   old values on an invalid update (and compares later content with those), and prints no value;
 * - the naive snippets the doc warns against fail as the doc says: reacting to every event reloads
 *   several times per update (Python), watching the file loses the watch at the first update and
 *   never reloads (Go: seen in the process's inotify watches).
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtomicWriterSim, tempBase } from '../reload/fs-writers.js';
import { FIXTURES, buildGoProgram, pythonBin, writePythonPrograms } from './doc-programs.js';
import { type Program, startProgram } from './program.js';

/** Between two writes that must be told apart: well past the programs' 100 ms debounce. */
const SPACING_MS = 1_000;

let base: string;
let cleanup: () => Promise<void>;
let goReload: string;
let goNaive: string;
const programs: Program[] = [];

beforeAll(async () => {
  ({ base, cleanup } = await tempBase('smc-doc-programs-'));
  await writePythonPrograms(join(base, 'py'));
  [goReload, goNaive] = await Promise.all([
    buildGoProgram('reload-go', join(base, 'go'), { probe: true }),
    buildGoProgram('naive-go', join(base, 'go')),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all(programs.map((p) => p.stop('SIGKILL')));
  await cleanup?.();
});

const canary = (what: string) => `canary-${what}-${randomBytes(6).toString('hex')}`;

/** Inotify watches the process holds (`/proc/PID/fdinfo`: one `inotify wd:` line per watch). */
async function inotifyWatches(pid: number): Promise<number> {
  let n = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target !== 'anon_inode:inotify') continue;
    const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
    n += info.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
  }
  return n;
}

const LANGS = [
  {
    lang: 'Python',
    start: (dir: string, env: NodeJS.ProcessEnv) =>
      startProgram(
        'python secrets_reload.py',
        pythonBin(),
        [join(FIXTURES, 'probe.py'), join(base, 'py'), 'secrets_reload'],
        {
          env: { ...env, SECRETS_DIR: dir },
        },
      ),
    /** Reload lines logged at start: none for Python. */
    startReloads: 0,
  },
  {
    lang: 'Go',
    start: (dir: string, env: NodeJS.ProcessEnv) =>
      startProgram('go reload-go', goReload, [], { env: { ...env, SECRETS_DIR: dir } }),
    /** Go's first reload() at start logs `secrets reloaded`. */
    startReloads: 1,
  },
];

describe.concurrent.each(LANGS)(
  'docs/hot-reload.md: the $lang program',
  { timeout: 180_000 },
  ({ lang, start, startReloads }) => {
    it('reloads once per change, never for an identical swap, keeps the old values on a bad update, prints no value', async () => {
      const dir = join(base, `secrets-${lang}`);
      const kubelet = new AtomicWriterSim(dir);
      const v = { v1: canary('pw1'), v2: canary('pw2'), v3: canary('pw3') };
      const api = [canary('api1'), canary('api2')];
      const labels = Object.fromEntries(Object.entries(v).map(([label, value]) => [value, label]));
      await kubelet.write({ DB_PASSWORD: v.v1, API_KEY: api[0]! });

      const app = start(dir, { PROBE_LABELS: JSON.stringify(labels) });
      programs.push(app);
      const RELOADED = /secrets reloaded/;
      const REFUSED = /secrets reload refused, keeping the previous values: DB_PASSWORD: missing or empty/;
      const current = (label: string) => new RegExp(`^PROBE current ${label}$`);
      await app.waitForCount(current('v1'), 1, 'the initial values in use');
      await app.waitForCount(/watching/, 1, 'the program to watch');

      // A swap with identical content: nothing.
      await kubelet.write({ DB_PASSWORD: v.v1, API_KEY: api[0]! });
      await sleep(SPACING_MS);
      // A real change: one reload.
      await kubelet.write({ DB_PASSWORD: v.v2, API_KEY: api[0]! });
      await app.waitForCount(current('v2'), 1, 'v2 in use');
      await sleep(SPACING_MS);
      // An invalid update: refused, v2 stays.
      await kubelet.write({ DB_PASSWORD: '', API_KEY: api[1]! });
      await app.waitForCount(REFUSED, 1, 'the invalid update refused');
      await sleep(SPACING_MS);
      // v2's content again: compared with the values in use (v2), not with the refused ones: nothing.
      await kubelet.write({ DB_PASSWORD: v.v2, API_KEY: api[0]! });
      await sleep(SPACING_MS);
      // Another real change, with a changed key set.
      await kubelet.write({ DB_PASSWORD: v.v3, API_KEY: api[1]!, NEW_KEY: canary('new') });
      await app.waitForCount(current('v3'), 1, 'v3 in use');
      await sleep(SPACING_MS); // a duplicate reload would come now

      const probe = app.lines().filter((l) => l.startsWith('PROBE'));
      expect(probe).toEqual(['PROBE current v1', 'PROBE current v2', 'PROBE current v3']);
      expect(app.count(RELOADED) - startReloads).toBe(2);
      expect(app.count(REFUSED)).toBe(1);
      const out = app.output();
      for (const value of [...Object.values(v), ...api]) expect(out).not.toContain(value);
      expect(out).not.toMatch(/canary-/);
      expect(app.proc.exitCode).toBeNull();
    });
  },
);

describe.concurrent(
  'docs/hot-reload.md: the naive snippets fail as the doc says',
  { timeout: 180_000 },
  () => {
    it('Python, reacting to every event: several reloads for one update', async () => {
      const dir = join(base, 'secrets-naive-python');
      const kubelet = new AtomicWriterSim(dir);
      await kubelet.write({ DB_PASSWORD: canary('n1') });
      const app = startProgram('python naive.py', pythonBin(), [join(base, 'py', 'naive.py')], {
        env: { SECRETS_DIR: dir },
      });
      programs.push(app);
      await app.waitForCount(/watching/, 1, 'the naive program to watch');
      const RELOADED = /secrets reloaded/;
      for (let update = 1; update <= 3; update++) {
        const before = app.count(RELOADED);
        await kubelet.write({ DB_PASSWORD: canary(`n${update + 1}`) });
        await app.waitForCount(RELOADED, before + 2, `2 or more reloads for update ${update}`);
        await sleep(SPACING_MS);
        expect(app.count(RELOADED) - before).toBeGreaterThanOrEqual(2);
      }
    });

    it('Go, watching the file: the watch dies with the first update and no update reloads', async () => {
      const dir = join(base, 'secrets-naive-go');
      const kubelet = new AtomicWriterSim(dir);
      await kubelet.write({ DB_PASSWORD: canary('g1') });
      const app = startProgram('go naive-go', goNaive, [], { env: { SECRETS_DIR: dir } });
      programs.push(app);
      await app.waitForCount(/watching/, 1, 'the naive program to watch');
      const pid = app.proc.pid!;
      expect(await inotifyWatches(pid)).toBe(1);
      await kubelet.write({ DB_PASSWORD: canary('g2') });
      // The payload directory holding the watched file is deleted: the kernel drops the watch.
      const deadline = Date.now() + 20_000;
      while ((await inotifyWatches(pid)) !== 0) {
        if (Date.now() > deadline) throw new Error(`the watch never died; output:\n${app.output()}`);
        await sleep(20);
      }
      await kubelet.write({ DB_PASSWORD: canary('g3') });
      await sleep(SPACING_MS);
      expect(app.count(/secrets reloaded/)).toBe(0);
      expect(app.proc.exitCode).toBeNull(); // silently: the program runs on, deaf
    });
  },
);
