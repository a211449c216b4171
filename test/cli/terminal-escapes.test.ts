/**
 * Keys from Git end up in msmctl's tables, lines and errors. One that carries control characters
 * (`a\e]0;PWNED\a` retitles the terminal, `x\nFAKE-ROW` prints a row of its own, U+202E reverses
 * what follows) must be printed escaped; JSON and YAML must still give back the exact key.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { escapeControlCharacters } from '../../src/control-characters.js';
import { formatStructured, formatTable } from '../../src/cli/output.js';
import { peerPath, repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');
const DEMO_RECIPIENT = 'age1ps90qeg09yp0qgcuexjeplv6z220ke42egwut39zcl9stum57ajszjg5r2';
const CANARY = 'CANARY-term-9c41-VALUE';

const HOSTILE_KEYS = [
  'a\x1b]0;PWNED\x07',
  'x\nFAKE-ROW',
  'y\u202ez',
  'c\u009b31m',
  'd\x7f',
  '\u2066iso\u2069',
  't\tab',
];
/** Every character a terminal may act on; only the line feeds that end lines may be printed raw. */
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function expectNoRawControl(text: string): void {
  expect(RAW_CONTROL.exec(text), JSON.stringify(text)).toBeNull();
}

/** A YAML secrets file with `keys`, encrypted by the real sops to the demo key. */
function writeSecrets(dir: string, keys: readonly string[]): void {
  const profile = path.join(dir, 'svc/deployment-configuration/profiles/dev');
  mkdirSync(profile, { recursive: true });
  const file = path.join(profile, 'application.secrets.yaml');
  // Double-quoted YAML keys with every non-ASCII or control character as a `\uXXXX` escape.
  const quoted = (k: string) =>
    `"${k.replace(/[^ -~]|["\\]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
  writeFileSync(file, keys.map((k, i) => `${quoted(k)}: ${CANARY}-${i}\n`).join(''));
  const encrypted = execFileSync(peerPath('sops'), ['-e', '--age', DEMO_RECIPIENT, file], {
    env: { ...process.env, SOPS_DISABLE_VERSION_CHECK: '1' },
  });
  writeFileSync(file, encrypted);
}

describe('msmctl prints keys with control characters escaped', () => {
  let work: string;
  let repo: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-escapes-'));
    repo = path.join(work, 'repo');
    writeSecrets(repo, HOSTILE_KEYS);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('render and sync tables: one row per key, each key escaped', () => {
    const store = path.join(work, 'store');
    for (const args of [
      ['render', repo, '--env', 'dev', '--age-key-file', demoKey],
      ['sync', repo, '--env', 'dev', '--store', `local:${store}`, '--age-key-file', demoKey],
    ]) {
      const r = msmctl(args);
      expect(r.status, r.stderr).toBe(0);
      expectNoRawControl(r.stdout);
      expect(r.stdout).not.toContain(CANARY);
      const rows = r.stdout.split('\n');
      expect(rows.filter((l) => / secret /.test(l))).toHaveLength(HOSTILE_KEYS.length);
      for (const key of HOSTILE_KEYS) {
        const escaped = escapeControlCharacters(key);
        expect(
          rows.filter((l) => l.includes(escaped)),
          `${args[0]}: ${escaped}`,
        ).toHaveLength(1);
      }
      expect(r.stdout).not.toMatch(/^FAKE-ROW/m);
      expect(r.stdout).toContain('a\\x1b]0;PWNED\\x07');
      expect(r.stdout).toContain('y\\u202Ez');
    }
  });

  it('sync -o json and -o yaml give back every key exactly, with no raw control character', () => {
    const store = path.join(work, 'store-structured');
    for (const output of ['json', 'yaml']) {
      const r = msmctl([
        'sync',
        repo,
        '--env',
        'dev',
        '--store',
        `local:${store}`,
        '--age-key-file',
        demoKey,
        '-o',
        output,
      ]);
      expect(r.status, r.stderr).toBe(0);
      expectNoRawControl(r.stdout);
      const parsed = (output === 'json' ? JSON.parse(r.stdout) : parseYaml(r.stdout)) as {
        entries: { key: string }[];
      };
      expect(parsed.entries.map((e) => e.key).sort()).toEqual([...HOSTILE_KEYS].sort());
    }
  });

  it('an error quoting a key is one escaped line on stderr', () => {
    // `a\e]0;PWNED\a` and `a__0_PWNED_` both map to the store name `svc-a__0_PWNED_`.
    const collide = path.join(work, 'collide');
    writeSecrets(collide, ['a\x1b]0;PWNED\x07', 'a__0_PWNED_', 'x\nFAKE-ROW', 'x_FAKE-ROW']);
    const r = msmctl([
      'sync',
      collide,
      '--env',
      'dev',
      '--store',
      `local:${path.join(work, 'store-collide')}`,
      '--age-key-file',
      demoKey,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^msmctl: error: NameCollision: .*a\\x1b\]0;PWNED\\x07.*x\\nFAKE-ROW/);
    expect(r.stderr.split('\n')).toHaveLength(2); // one line and its line feed
    expectNoRawControl(r.stderr);
    expect(r.stderr).not.toContain(CANARY);
  });

  it('a command-line value in a usage error is escaped too', () => {
    const r = msmctl(['sync', repo, '--env', 'dev', '--store', 'aws:\x1b]0;PWNED\x07\nFAKE']);
    expect(r.status).toBe(2);
    expectNoRawControl(r.stderr);
    expect(r.stderr).toContain('\\x1b]0;PWNED\\x07\\nFAKE');
    expect(r.stderr).not.toMatch(/^FAKE/m);
  });
});

describe('output formatting (property)', () => {
  const text = fc.string({ unit: 'binary', maxLength: 20 });
  it('a table has one line per row and no raw control character, whatever the cells', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 5 }), (rows) => {
        const lines = formatTable(['A', 'B'], rows);
        expect(lines).toHaveLength(rows.length + 1);
        for (const l of lines) expectNoRawControl(l.replace(/\n/g, '\\n'));
        expect(lines.join('')).not.toContain('\n');
      }),
    );
  });

  it('JSON and YAML parse back to the same data and carry no raw control character', () => {
    const data = fc.dictionary(text, fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.constant(null)), {
      maxKeys: 4,
    });
    fc.assert(
      fc.property(fc.record({ entries: fc.array(data, { maxLength: 3 }) }), (value) => {
        const json = formatStructured(value, 'json');
        expect(JSON.parse(json)).toEqual(value);
        expectNoRawControl(json);
        const yaml = formatStructured(value, 'yaml');
        expect(parseYaml(yaml)).toEqual(value);
        expectNoRawControl(yaml);
      }),
    );
  });
});
