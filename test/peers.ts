/** Paths of the command-line peers for tests (built by scripts/peers; see test/setup/peers.ts). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function peerPath(peer: 'sops' | 'kustomize' | 'age' | 'crdcheck' | 'goregexp'): string {
  try {
    return execFileSync(path.join(repoRoot, 'scripts/peers'), ['path', peer], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`test peer ${peer} is not installed: run scripts/peers install ${peer}`);
  }
}
