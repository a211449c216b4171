/** Fixture trees for render tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Captured at load: some tests point TMPDIR elsewhere to watch what render leaves behind. */
export const TEST_TMP = os.tmpdir();

export function makeTree(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(path.join(TEST_TMP, 'smc-render-test-'));
  writeTree(root, files);
  return root;
}

export function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}
