/**
 * Vitest global setup: make sure the command-line peers (sops, kustomize, age) are built and put
 * them on PATH for every test worker. Building is install-if-missing into a per-version cache
 * outside the repository (scripts/peers), so a warm run costs a fraction of a second.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const peersScript = path.join(repoRoot, 'scripts/peers');
const PEERS = ['sops', 'kustomize', 'age', 'crdcheck'] as const;

export default function setup(): void {
  execFileSync(peersScript, ['install', ...PEERS], { stdio: 'inherit' });
  const dirs = PEERS.map((p) =>
    path.dirname(execFileSync(peersScript, ['path', p], { encoding: 'utf8' }).trim()),
  );
  process.env.PATH = [...new Set(dirs), process.env.PATH].join(path.delimiter);
  // Keep tests hermetic: cloud SDKs must never probe metadata servers, and no user key leaks in.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.SOPS_DISABLE_VERSION_CHECK = '1'; // sops --version otherwise asks GitHub
  delete process.env.SOPS_AGE_KEY_FILE;
  delete process.env.SOPS_AGE_KEY;
}
