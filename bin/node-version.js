/**
 * The Node.js version check both binaries run before importing anything else: an older Node fails
 * deep inside a dependency (undici under Node 20: `TypeError: Cannot read properties of undefined
 * (reading 'bind')`), so say what is needed instead. The requirement is package.json's
 * `engines.node` (`>=MAJOR[.MINOR[.PATCH]]`). Plain JavaScript with Node builtins only, so that it
 * runs on any Node that can load an ES module.
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

/** Exit code of a run that could not start (msmctl's usage/bad-input code, the controller's too). */
export const EXIT_WRONG_NODE = 2;

/** Why `version` (e.g. `v20.20.2`) does not satisfy `range`, or undefined when it does. */
export function nodeVersionProblem(version, range) {
  const need = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(range).trim());
  if (!need) return `cannot read package.json engines.node "${range}" (expected >=MAJOR.MINOR.PATCH)`;
  const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!have) return `cannot read the Node.js version "${version}"`;
  for (let i = 1; i <= 3; i++) {
    const h = Number(have[i]);
    const n = Number(need[i] ?? 0);
    if (h > n) return undefined;
    if (h < n) return `needs Node.js ${range} (package.json engines)`;
  }
  return undefined;
}

/** Exits with a one-line message when this Node is too old for the package. */
export function requireNodeVersion(program) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const problem = nodeVersionProblem(process.version, pkg.engines && pkg.engines.node);
  if (!problem) return;
  process.stderr.write(`${program}: ${problem}; this is Node.js ${process.version} (${process.execPath})\n`);
  process.exit(EXIT_WRONG_NODE);
}
