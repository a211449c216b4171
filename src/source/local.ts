import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SmcError } from '../errors.js';
import type { SourceCheckout } from './source.js';

const run = promisify(execFile);

/** A directory on this machine, used in place. Its revision is the git commit when it is a work tree. */
export async function openLocalSource(dir: string): Promise<SourceCheckout> {
  const root = path.resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new SmcError('SourceNotFound', `source directory ${root} does not exist or is not a directory`);
  }
  return { root, revision: await gitRevision(root), description: `local directory ${root}` };
}

async function gitRevision(root: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['-C', root, 'rev-parse', '--verify', '--quiet', 'HEAD'], {
      timeout: 5000,
    });
    return stdout.trim() || undefined;
  } catch {
    return undefined; // not a git work tree, or git missing: the revision is simply unknown
  }
}
