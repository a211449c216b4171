/**
 * Plaintext temporary files (issue 10, item 7): the decrypted copy a kustomize-mode sync builds
 * lives in a private 0700 directory under SMC_PRIVATE_TMP_DIR; SIGINT/SIGTERM of msmctl removes it;
 * after a SIGKILL the start-up sweep removes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepStaleTempDirs } from '../../src/private-tmp.js';
import { peerPath, repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');
const PASSWORD = 'demo-orders-password'; // in examples/gitops/base/orders.enc.env, encrypted

let work: string;
let privateDir: string;
let rec: string;
let wrapper: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'smc-tmpclean-'));
  privateDir = path.join(work, 'private');
  rec = path.join(work, 'rec');
  wrapper = path.join(work, 'kustomize-wrapper.sh');
  // A kustomize that records what it sees, says so, and then hangs: the sync is caught mid-build,
  // with the decrypted copy on disk.
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      'd=$(dirname "$(dirname "$2")")', // <tmp>/src/<kustomizePath> → <tmp>
      `while [ "$(basename "$d")" = src ] || [ ! -d "$d/src" ]; do d=$(dirname "$d"); done`,
      `echo "$d" > '${rec}.path'`,
      `stat -c %a "$d" > '${rec}.mode'`,
      `stat -c %a '${privateDir}' > '${rec}.basemode'`,
      `echo $$ > '${rec}.pid'`,
      `touch '${rec}.started'`,
      'exec sleep 600',
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
});
afterEach(() => {
  if (existsSync(`${rec}.pid`)) {
    try {
      process.kill(Number(readFileSync(`${rec}.pid`, 'utf8').trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
});

function startSync(): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/cli/msmctl.ts'),
      'sync',
      path.join(repoRoot, 'examples/gitops'),
      '--env',
      'dev',
      '--kustomize-path',
      'overlays/dev',
      '--prefix',
      'orders',
      '--store',
      `local:${path.join(work, 'out')}`,
      '--age-key-file',
      demoKey,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, SMC_PRIVATE_TMP_DIR: privateDir, SMC_KUSTOMIZE_BIN: wrapper },
      stdio: 'ignore',
    },
  );
}

async function untilStarted(child: ChildProcess): Promise<string> {
  let exited = false;
  child.once('exit', () => (exited = true));
  while (!existsSync(`${rec}.started`)) {
    if (exited) throw new Error('msmctl exited before kustomize started');
    await new Promise((r) => setTimeout(r, 50));
  }
  return readFileSync(`${rec}.path`, 'utf8').trim();
}

/** Whether any file under `dir` holds the decrypted password. */
function holdsPlaintext(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).some(
    (e) => e.isFile() && readFileSync(path.join(e.parentPath, e.name), 'utf8').includes(PASSWORD),
  );
}

describe('decrypted temporary copies', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s of msmctl mid-build leaves nothing; the directories are 0700',
    async (signal, code) => {
      const child = startSync();
      const copy = await untilStarted(child);
      expect(path.dirname(copy)).toBe(privateDir);
      expect(path.basename(copy)).toMatch(new RegExp(`^smc-kustomize-${child.pid}-`));
      expect(holdsPlaintext(copy)).toBe(true);
      expect(readFileSync(`${rec}.mode`, 'utf8').trim()).toBe('700');
      expect(readFileSync(`${rec}.basemode`, 'utf8').trim()).toBe('700');
      const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill(signal);
      expect(await exit).toBe(code);
      expect(readdirSync(privateDir)).toEqual([]);
    },
    120_000,
  );

  it('after a SIGKILL mid-build the plaintext is left, and the start-up sweep removes it', async () => {
    const child = startSync();
    const copy = await untilStarted(child);
    const exit = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exit;
    // What a killed run leaves: the decrypted copy, password included.
    expect(holdsPlaintext(copy)).toBe(true);
    // A live process's directory is never swept; a gone one's is.
    expect(await sweepStaleTempDirs(privateDir)).toEqual([path.basename(copy)]);
    expect(readdirSync(privateDir)).toEqual([]);
  }, 120_000);

  it("msmctl's own start sweeps a killed run's leftovers", async () => {
    const child = startSync();
    const copy = await untilStarted(child);
    const exit = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exit;
    expect(existsSync(copy)).toBe(true);
    const r = msmctl(['--version'], { env: { SMC_PRIVATE_TMP_DIR: privateDir } });
    expect(r.status).toBe(0);
    expect(existsSync(copy)).toBe(false);
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
  }, 120_000);
});

// The real kustomize is the one a successful run uses (the wrapper above stands in only to hang).
it('a finished kustomize-mode sync leaves nothing in the private directory', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smc-tmpclean-ok-'));
  try {
    const priv = path.join(dir, 'private');
    const r = msmctl(
      [
        'sync',
        path.join(repoRoot, 'examples/gitops'),
        '--env',
        'dev',
        '--kustomize-path',
        'overlays/dev',
        '--prefix',
        'orders',
        '--store',
        `local:${path.join(dir, 'out')}`,
        '--age-key-file',
        demoKey,
      ],
      { env: { SMC_PRIVATE_TMP_DIR: priv, SMC_KUSTOMIZE_BIN: peerPath('kustomize') } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(priv)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
