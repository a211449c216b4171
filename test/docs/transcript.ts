/**
 * Runs a `console` block of the docs as a reader would type it, and compares what each command
 * prints with what the doc shows.
 *
 * A block is a shell transcript: a line starting with `$ ` is a command, the lines after it (up to
 * the next command) are what it prints, stdout and stderr together as a terminal shows them. Exit
 * codes are shown the shell's way: `$ echo $?` and the number. The whole block runs in one bash
 * process, in order, in a scratch directory holding a copy of `examples/`; `msmctl` is the built
 * `bin/msmctl.js` run by this Node, and `npx msmctl …` runs the same (in a checkout, npx runs the
 * package's own bin). Paths the doc names that tests must not share (`/tmp/msm-demo`) are
 * relocated into the scratch directory, and translated back in the output.
 *
 * Comparison: each line's runs of spaces count as one (table columns may be wider or narrower),
 * trailing spaces are ignored, and what changes from run to run is masked on both sides: ages
 * (`12s`, `3d`, `41s (x2)`), times (RFC 3339), commit ids (`sha1:…`). A `…` in the doc matches any
 * text on its line; a line holding only `…` matches any number of lines.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../peers.js';
import type { DocBlock } from './doc-blocks.js';
import { msmctlEntry } from './msmctl-entry.js';

export interface Step {
  command: string;
  /** What the doc shows after the command. */
  expected: string;
}

export interface StepResult extends Step {
  actual: string;
  status: number;
}

export function parseTranscript(text: string): Step[] {
  const steps: Step[] = [];
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: '' });
    else if (steps.length === 0) throw new Error(`a transcript starts with a "$ " command, not: ${line}`);
    else steps.at(-1)!.expected += `${line}\n`;
  }
  return steps;
}

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Doc path → real path, for commands (forward) and output (backward). */
  relocate: [string, string][];
  cleanup(): Promise<void>;
}

/** A scratch directory with a copy of examples/ and charts/ (a checkout's), and `msmctl` on PATH. */
export async function sandbox(env: NodeJS.ProcessEnv = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'smc-doc-console-'));
  await cp(join(repoRoot, 'examples'), join(dir, 'examples'), { recursive: true });
  await cp(join(repoRoot, 'charts'), join(dir, 'charts'), { recursive: true });
  const bin = join(dir, '.bin');
  await mkdir(bin);
  await writeFile(join(bin, 'msmctl'), `#!/bin/sh\nexec '${process.execPath}' '${msmctlEntry()}' "$@"\n`, {
    mode: 0o755,
  });
  return {
    dir,
    env: { ...process.env, ...env, PATH: `${bin}:${env.PATH ?? process.env.PATH ?? ''}` },
    relocate: [['/tmp/msm-demo', join(dir, 'msm-demo')]],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const MARK = '\x1e';

/** Runs every command of the block in one bash, in order; resolves with each one's output and status. */
export async function runTranscript(block: DocBlock, box: Sandbox): Promise<StepResult[]> {
  const steps = parseTranscript(block.text);
  const forward = (s: string) => box.relocate.reduce((t, [doc, real]) => t.split(doc).join(real), s);
  const backward = (s: string) => box.relocate.reduce((t, [doc, real]) => t.split(real).join(doc), s);
  const script = [
    'exec 2>&1',
    'npx() { "$@"; }', // `npx msmctl …` in a checkout runs the package's own bin: the one on PATH
    ...steps.map(
      (s) => `${forward(s.command)}\n__rc=$?; printf '\\n${MARK}%d${MARK}\\n' "$__rc"; (exit "$__rc")`,
    ),
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-c', script], {
      cwd: box.dir,
      env: box.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (text += c));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  const parts = backward(out).split(new RegExp(`\\n${MARK}(\\d+)${MARK}\\n`));
  return steps.map((s, i) => {
    const actual = parts[2 * i];
    const status = parts[2 * i + 1];
    if (actual === undefined || status === undefined)
      throw new Error(
        `${block.file}:${block.line}: no output for step ${i + 1} (${s.command}); all output:\n${out}`,
      );
    return { ...s, actual, status: Number(status) };
  });
}

/** What varies from run to run, masked; runs of spaces as one; no trailing spaces. */
export function normalise(text: string): string {
  return text
    .split('\n')
    .map((l) =>
      l
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>')
        .replace(/sha1:(?:[0-9a-f]{7,40}…?|…)/g, 'sha1:<commit>')
        .replace(/(^|[\s(])\d+(?:ms|s|m|h|d)(?: \(x\d+\))?(?=[\s)]|$)/g, '$1<age>')
        .replace(/ {2,}/g, ' ')
        .trimEnd(),
    )
    .join('\n');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `actual` is what the doc shows as `expected` (see the top of this file). */
export function matchesDoc(expected: string, actual: string): boolean {
  const exp = normalise(expected.replace(/\n$/, '')).split('\n');
  const act = `${normalise(actual.replace(/\n$/, ''))}\n`;
  if (expected === '') return actual === '';
  const re = exp
    .map((l) => (l.trim() === '…' ? '(?:.*\\n)*?' : `${l.split('…').map(escapeRe).join('.*?')}\\n`))
    .join('');
  return new RegExp(`^${re}$`).test(act);
}

/** A readable report of the steps whose output differs from the doc. */
export function mismatches(block: DocBlock, results: StepResult[]): string[] {
  return results
    .filter((r) => !matchesDoc(r.expected, r.actual))
    .map(
      (r) =>
        `${block.file}:${block.line} (test=${block.tag}) $ ${r.command}\n--- the doc shows:\n${r.expected}--- it printed (exit ${r.status}):\n${r.actual}`,
    );
}

/** Runs a `sh` block as a bash script (`set -e`) in the sandbox; resolves with its status and output. */
export async function runScript(block: DocBlock, box: Sandbox): Promise<{ status: number; output: string }> {
  const script = box.relocate.reduce((t, [doc, real]) => t.split(doc).join(real), block.text);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-e', '-c', script], {
      cwd: box.dir,
      env: box.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, output }));
  });
}
