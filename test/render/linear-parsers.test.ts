/**
 * Every parser is linear: inputs shaped to hit a quadratic path (a comment after every key, a long
 * run of blanks, many continuation lines, many keys in one section, long comment runs) parse
 * within the default test timeout and give the right result. Timings per size are printed by
 * `npm run bench:parsers`, not asserted here.
 */
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/render/env.js';
import { parseProperties } from '../../src/render/properties.js';
import { parseYaml } from '../../src/render/yaml.js';
import { loadIni } from '../../src/sops/ini.js';
import { decryptBranches } from '../../src/sops/tree.js';
import { Branch, Comment } from '../../src/sops/values.js';
import { loadYaml } from '../../src/sops/yaml.js';

const N = 200_000;
const lines = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';

describe('linear parsing', () => {
  it('secrets YAML with a comment after every key', () => {
    const entries = parseYaml(
      lines(N, (i) => `k${i}: v${i}\n# note ${i}`),
      'big.yaml',
    );
    expect(entries).toHaveLength(N);
    expect(entries[N - 1]).toMatchObject({ key: `k${N - 1}`, value: `v${N - 1}`, enabled: true });
  });

  it('secrets YAML with many nested mappings, empty keys and commented-out children', () => {
    const n = 30_000;
    const entries = parseYaml(
      lines(n, (i) => `m${i}:\n  a: x\n  # b: disabled\ne${i}:\n  # c: y`),
      'nested.yaml',
    );
    // The empty `eN:` is replaced by its commented-out child.
    expect(entries).toHaveLength(3 * n);
    expect(entries.filter((e) => !e.enabled)).toHaveLength(2 * n);
    expect(entries.find((e) => e.key === `e${n - 1}.c`)).toMatchObject({ value: 'y', enabled: false });
  });

  it('secrets YAML with one long block of commented-out keys', () => {
    const entries = parseYaml(
      lines(N, (i) => `# k${i}: v`),
      'comments.yaml',
    );
    expect(entries).toHaveLength(N);
  });

  it('env file with long runs of blanks inside values', () => {
    const blanks = ' '.repeat(200_000);
    const entries = parseEnv(`A=x${blanks}y\nB=x${blanks}# c\n`, 'a.env');
    expect(entries.map((e) => e.value.length)).toEqual([200_002, 1]);
  });

  it('properties with many continuation lines', () => {
    const entries = parseProperties('k = ' + 'ab\\\n'.repeat(N) + 'end\n', 'a.properties');
    expect(entries[0]?.value).toHaveLength(2 * N + 3);
  });

  it('SOPS INI with many keys in one section', () => {
    const branches = loadIni(Buffer.from(lines(N, (i) => `k${i} = v${i}`)), 'a.ini');
    const section = branches[0]?.items[0]?.value as Branch;
    expect(section.items).toHaveLength(N);
  });

  it('SOPS INI with many continuation lines', () => {
    const branches = loadIni(Buffer.from('k = a\\\n' + 'b\\\n'.repeat(N) + 'c\n'), 'a.ini');
    const section = branches[0]?.items[0]?.value as Branch;
    expect(String(section.items[0]?.value)).toHaveLength(N + 2);
  });

  it('SOPS YAML with a comment after every key', () => {
    const branches = loadYaml(Buffer.from(lines(N / 2, (i) => `k${i}: v # c${i}\n# own ${i}`)), 'a.yaml');
    expect(branches[0]?.items).toHaveLength(N * 1.5);
  });

  it('SOPS YAML with many documents and comments', () => {
    const branches = loadYaml(Buffer.from(lines(N / 4, (i) => `k: ${i}\n# c\n---`)), 'a.yaml');
    expect(branches.length).toBeGreaterThanOrEqual(N / 4);
  });

  it('SOPS YAML with flow values and line comments', () => {
    const branches = loadYaml(Buffer.from(lines(N / 2, (i) => `k${i}: [a] # c`)), 'a.yaml');
    expect(branches[0]?.items).toHaveLength(N / 2);
  });

  it('SOPS tree walk over a long run of comments', () => {
    const items = [
      { key: 'a', value: 'plain' },
      ...Array.from({ length: N }, (_, i) => ({ key: new Comment(`c${i}`), value: null })),
    ];
    const rules = {
      unencryptedSuffix: 'a',
      encryptedSuffix: '',
      unencryptedRegex: '',
      encryptedRegex: '',
      unencryptedCommentRegex: '',
      encryptedCommentRegex: '',
      macOnlyEncrypted: false,
    };
    const mac = decryptBranches([new Branch(items)], rules, new Uint8Array(32), 'a.yaml');
    expect(mac).toMatch(/^[0-9A-F]{128}$/);
  });
});
