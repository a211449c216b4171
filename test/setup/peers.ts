/**
 * Vitest global setup, run before any test starts (for the kube project, before its cluster
 * starts): install every test peer that is missing (`scripts/peers install`, the default set, with
 * progress on stderr; ~16 min on a fresh 2-core machine, ~0.2 s when cached), then put the CLI
 * peers on PATH for every test worker and make the environment hermetic. A peer that cannot be
 * installed fails the run here, naming the peer and its log; no test ever finds a peer missing.
 */
import path from 'node:path';
import { installDefaultPeers, peerPath } from '../peers.js';

/** The peers tests run by name from PATH (the others are found with peerPath()). */
const ON_PATH = ['sops', 'kustomize', 'age', 'crdcheck'] as const;

/** Set once the peers are in place: the setup is listed by both projects and the root, and runs once. */
const READY = 'SMC_TEST_PEERS_READY';

export default async function setup(): Promise<void> {
  if (process.env[READY] === '1') return;
  await installDefaultPeers();
  const dirs = ON_PATH.map((p) => path.dirname(peerPath(p)));
  process.env.PATH = [...new Set(dirs), process.env.PATH].join(path.delimiter);
  // Keep tests hermetic: cloud SDKs must never probe metadata servers, and no user key leaks in.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.SOPS_DISABLE_VERSION_CHECK = '1'; // sops --version otherwise asks GitHub
  delete process.env.SOPS_AGE_KEY_FILE;
  delete process.env.SOPS_AGE_KEY;
  process.env[READY] = '1';
}
