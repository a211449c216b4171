/** SOPS fixtures made at test time with the real `sops` and `age-keygen` binaries. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { peerPath } from '../peers.js';
import { TEST_TMP } from './helpers.js';

export interface AgeKey {
  identity: string;
  recipient: string;
}

/** A fresh age key pair from `age-keygen`. */
export function newAgeKey(): AgeKey {
  const dir = mkdtempSync(path.join(TEST_TMP, 'smc-age-'));
  try {
    const file = path.join(dir, 'key.txt');
    execFileSync(peerPath('age'), ['-o', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    const identity = text.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
    const recipient = /# public key: (age1\w+)/.exec(text)?.[1];
    if (!identity || !recipient) throw new Error('age-keygen printed no key');
    return { identity, recipient };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Encrypt `file` in place with `sops encrypt --age`; the format follows the file name, as in the CLI. */
export function sopsEncryptInPlace(file: string, recipient: string, extra: string[] = []): void {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SOPS_')) delete env[k];
  execFileSync(peerPath('sops'), ['encrypt', '--age', recipient, ...extra, '--in-place', file], {
    cwd: path.dirname(file),
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
