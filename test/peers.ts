/**
 * The test peers (scripts/peers): where an installed one is, and installing the default set (what
 * the vitest global setup, test/setup/peers.ts, does before any test starts).
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const peersScript = path.join(repoRoot, 'scripts/peers');

/** Every peer of scripts/peers.d (all in the default set). */
export type PeerName =
  | 'age'
  | 'argo-crds'
  | 'crdcheck'
  | 'etcd'
  | 'flux-crds'
  | 'gcp-sm-emulator'
  | 'go-fsnotify'
  | 'goregexp'
  | 'helm'
  | 'image-base'
  | 'image-tools'
  | 'kube'
  | 'kustomize'
  | 'moto'
  | 'python-reload'
  | 'sops';

/** A peer that is not installed: the message names it and says why (with its install log when one failed). */
export class PeerMissingError extends Error {
  constructor(
    readonly peer: string,
    why: string,
  ) {
    super(
      `test peer ${peer} is not installed: ${why} (the vitest global setup test/setup/peers.ts installs every peer)`,
    );
    this.name = 'PeerMissingError';
  }
}

/** The installed peer's main binary (`scripts/peers path PEER`), or a PeerMissingError. */
export function peerPath(peer: PeerName): string {
  try {
    return execFileSync(peersScript, ['path', peer], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new PeerMissingError(peer, stderr.replace(/^peers: /, '') || `run scripts/peers install ${peer}`);
  }
}

/** The peer's cache directory (`scripts/peers dir PEER`), whether or not it is installed. */
export function peerDir(peer: PeerName): string {
  return execFileSync(peersScript, ['dir', peer], { encoding: 'utf8' }).trim();
}

/**
 * `scripts/peers install` (the default set: every peer any test needs). Its progress (which peer,
 * time so far, log path) goes to this process's stderr as it comes; a no-op taking ~0.2 s when
 * everything is cached. Rejects with the failed peers and their logs.
 */
export function installDefaultPeers(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(peersScript, ['install'], { stdio: ['ignore', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      tail = (tail + chunk).slice(-8192);
    });
    child.once('error', (err) => reject(new Error(`cannot run ${peersScript}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      // The last lines of scripts/peers' output say which peers failed and where their logs are.
      const failed = tail.slice(tail.lastIndexOf('peers: FAILED to install')).trim();
      reject(
        new Error(
          `scripts/peers install failed (${signal ? `signal ${signal}` : `exit code ${code}`}), so no test runs.\n${failed}`,
        ),
      );
    });
  });
}
