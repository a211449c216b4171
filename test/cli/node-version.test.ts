/**
 * Both binaries check the Node.js version before importing anything (bin/node-version.js): run with
 * an older Node (the machine's system Node 20, found on PATH), they say which version package.json's
 * `engines` needs instead of crashing in a dependency (`TypeError: Cannot read properties of
 * undefined (reading 'bind')` from undici under Node 20).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript module of bin/ (no declarations)
import { nodeVersionProblem } from '../../bin/node-version.js';
import { repoRoot } from '../peers.js';

const engines = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }
).engines.node;

/** The first `node` on PATH (all of them, as `which -a` lists them) that is older than `engines`. */
function olderNode(): { path: string; version: string } {
  const paths = execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).trim().split('\n');
  for (const path of paths) {
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    if ((nodeVersionProblem as (v: string, r: string) => string | undefined)(version, engines))
      return { path, version };
  }
  throw new Error(
    `no node older than ${engines} on PATH (${paths.join(', ')}): this test needs the system Node 20`,
  );
}

describe('a Node.js older than package.json engines', () => {
  it.each([
    ['bin/msmctl.js', 'msmctl', ['--version']],
    ['bin/secret-manager-controller.js', 'secret-manager-controller', ['--version']],
  ])('%s says what is needed and exits 2', (bin, name, args) => {
    const node = olderNode();
    const r = spawnSync(node.path, [join(repoRoot, bin), ...args], {
      encoding: 'utf8',
      env: { ...process.env },
    });
    expect(r.stderr).toBe(
      `${name}: needs Node.js ${engines} (package.json engines); this is Node.js ${node.version} (${node.path})\n`,
    );
    expect(r.stderr).not.toContain('TypeError');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });

  it('this Node (the pinned one) runs them', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/msmctl.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('nodeVersionProblem', () => {
  const check = nodeVersionProblem as (v: string, r: string) => string | undefined;
  it.each([
    ['v22.15.0', '>=22.15', undefined],
    ['v24.1.0', '>=22.15', undefined],
    ['v22.14.9', '>=22.15', 'needs Node.js >=22.15'],
    ['v20.20.2', '>=22.15.1', 'needs Node.js >=22.15.1'],
    ['v22.15.0', '>=22.15.1', 'needs Node.js >=22.15.1'],
  ])('%s against %s', (version, range, problem) => {
    const got = check(version, range);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });

  it('refuses a range it cannot read rather than letting every version through', () => {
    expect(check('v24.1.0', '^22 || ^24')).toMatch(/cannot read package.json engines.node "\^22 \|\| \^24"/);
  });
});
