/**
 * The built msmctl (`bin/msmctl.js`, which imports `dist/`): ~1 s a run against ~2.5 s through tsx,
 * which matters for the many commands of the docs. `npm ci` builds dist (the `prepare` script);
 * after editing src/, run `npm run build`. A dist older than src/ is refused, naming the newest
 * source file, so a test never checks stale code.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../peers.js';

function newest(dir: string): { file: string; mtimeMs: number } {
  let best = { file: dir, mtimeMs: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const n = e.isDirectory() ? newest(p) : { file: p, mtimeMs: statSync(p).mtimeMs };
    if (n.mtimeMs > best.mtimeMs) best = n;
  }
  return best;
}

let checked: string | undefined;

export function msmctlEntry(): string {
  if (checked) return checked;
  const built = join(repoRoot, 'dist/cli/msmctl.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run npm run build (npm ci runs it)`);
  }
  const src = newest(join(repoRoot, 'src'));
  if (src.mtimeMs > builtAt)
    throw new Error(`dist/ is older than ${src.file}: run npm run build before the doc tests`);
  checked = join(repoRoot, 'bin/msmctl.js');
  return checked;
}
