/**
 * `msmctl completion bash|zsh|fish`: the bash script, sourced in a real bash, completes command
 * names and each command's options (generated from the command definitions, so a new option is
 * completed without editing the script); the zsh and fish scripts name the same commands and
 * options; an unknown shell is refused (exit 2).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { msmctl } from './run.js';

const script = (shell: string) => {
  const r = msmctl(['completion', shell]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
};

describe('msmctl completion', () => {
  it('bash: completes command names and options in a real bash', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'msmctl-completion-')), 'msmctl.bash');
    writeFileSync(file, script('bash'));
    const complete = (...words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _msmctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
          'x',
          file,
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n');
    expect(complete('msmctl', 'st')).toEqual(['status']);
    expect(complete('msmctl', 're').sort()).toEqual(
      ['reconcile', 'reloader', 'render', 'resume', 'resume-git-pulls'].sort(),
    );
    expect(complete('msmctl', 'install', '--im')).toEqual(['--image']);
    expect(complete('msmctl', 'list', '--all')).toEqual(['--all-namespaces']);
  });

  it('zsh and fish: every command and each of its long options', () => {
    const program = buildProgram();
    for (const shell of ['zsh', 'fish']) {
      const text = script(shell);
      for (const c of program.commands) {
        expect(text, `${shell}: ${c.name()}`).toContain(c.name());
        for (const o of c.options)
          if (o.long) expect(text, `${shell}: ${c.name()} ${o.long}`).toContain(o.long.slice(2));
      }
    }
  });

  it('refuses an unknown shell (exit 2)', () => {
    const r = msmctl(['completion', 'tcsh']);
    expect(r.stderr).toBe('msmctl: completion: unknown shell "tcsh" (bash, zsh or fish)\n');
    expect(r.status).toBe(2);
  });
});
