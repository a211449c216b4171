/**
 * The Python and Go programs of docs/hot-reload.md, written out from the doc's tagged blocks and
 * made runnable: Python files run by the `python-reload` peer (a venv with watchdog and Flask), Go
 * programs built with the machine's Go against the `go-fsnotify` peer's module cache (offline:
 * GOPROXY=off).
 *
 * A *probe* shows the test which values the program has in use without the program printing any:
 * the test passes it a map from each test value to a label (`PROBE_LABELS`), and the probe prints
 * `PROBE current <label>` each time the program swaps its values. For Python the probe imports the
 * doc's module (test/docs/fixtures/probe.py); for Go it is one more file in the same package
 * (test/docs/fixtures/probe.go), since a main package cannot be imported.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { peerDir, peerPath, repoRoot } from '../peers.js';
import { docBlock } from './doc-blocks.js';

const run = promisify(execFile);
export const HOT_RELOAD_DOC = 'docs/hot-reload.md';
export const FIXTURES = join(repoRoot, 'test/docs/fixtures');

export function pythonBin(): string {
  return peerPath('python-reload');
}

/** Writes the doc block `tag` to `dir/file`; returns the path. */
export async function writeDocBlock(tag: string, dir: string, file: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, file);
  await writeFile(path, docBlock(HOT_RELOAD_DOC, tag).text);
  return path;
}

/** The Python programs, under the names the doc gives them: secrets_reload.py, reload_endpoint.py, naive.py. */
export async function writePythonPrograms(dir: string): Promise<void> {
  await writeDocBlock('reload-python', dir, 'secrets_reload.py');
  await writeDocBlock('reload-python-http', dir, 'reload_endpoint.py');
  await writeDocBlock('naive-python', dir, 'naive.py');
}

/**
 * Builds the Go doc block `tag` (with the probe when `probe`) into `dir/bin/<tag>`: the go-fsnotify
 * peer's go.mod/go.sum, its module cache, no network.
 */
export async function buildGoProgram(
  tag: string,
  dir: string,
  opts: { probe?: boolean } = {},
): Promise<string> {
  const src = join(dir, tag);
  await writeDocBlock(tag, src, 'main.go');
  const mod = peerDir('go-fsnotify');
  await copyFile(join(mod, 'module/go.mod'), join(src, 'go.mod'));
  await copyFile(join(mod, 'module/go.sum'), join(src, 'go.sum'));
  if (opts.probe) await copyFile(join(FIXTURES, 'probe.go'), join(src, 'probe.go'));
  const out = join(dir, 'bin', tag);
  await run('go', ['build', '-trimpath', '-o', out, '.'], {
    cwd: src,
    env: {
      ...process.env,
      GOMODCACHE: join(mod, 'mod'),
      GOPROXY: 'off',
      GOFLAGS: '-mod=mod',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
    },
  }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`go build of ${HOT_RELOAD_DOC} block test=${tag} failed: ${e.stderr || e.message}`);
  });
  return out;
}
