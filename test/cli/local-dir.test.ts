/** `msmctl sync --store local:DIR` into a directory that is not a store of ours (issue 10, item 6). */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');
const userPayload = '..2020_01_01_00_00_00.000000000';

describe('msmctl sync into a non-empty directory', () => {
  let work: string;
  let repo: string;
  let out: string;
  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-localdir-'));
    repo = path.join(work, 'gitops');
    out = path.join(work, 'out');
    cpSync(path.join(repoRoot, 'examples/gitops'), repo, { recursive: true });
    mkdirSync(path.join(out, userPayload), { recursive: true });
    writeFileSync(path.join(out, userPayload, 'notes.txt'), 'mine');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const sync = (...extra: string[]) =>
    msmctl([
      'sync',
      repo,
      '--env',
      'dev',
      '--store',
      `local:${out}`,
      '--age-key-file',
      demoKey,
      '-o',
      'json',
      ...extra,
    ]);

  it('refuses it, naming the directory, and leaves the user data alone; --allow-non-empty-dir writes beside it', async () => {
    const refused = sync();
    expect(refused.status).toBe(1);
    const entries = (JSON.parse(refused.stdout) as { entries: { result: string; message: string | null }[] })
      .entries;
    const failed = entries.filter((e) => e.result !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]?.message).toContain(`${out} is not empty and not a local store written by this tool`);
    expect(readFileSync(path.join(out, userPayload, 'notes.txt'), 'utf8')).toBe('mine');

    const allowed = sync('--allow-non-empty-dir');
    expect(allowed.status, allowed.stderr).toBe(0);
    // Twice more (a payload swap each time): the user's payload-named directory is never taken for ours.
    expect(sync('--deletion-policy', 'Delete').status).toBe(0);
    expect(readFileSync(path.join(out, userPayload, 'notes.txt'), 'utf8')).toBe('mine');
  }, 180_000);
});
