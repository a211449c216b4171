/**
 * Benchmark: every parser on inputs shaped to hit a quadratic path, at sizes n, 2n and 4n. A
 * linear parser shows time ratios near 2 and 4; a quadratic one near 4 and 16.
 *
 *   npm run bench:parsers [-- n]      (default n = 20000 lines)
 */
import { parseEnv } from '../src/render/env.js';
import { parseProperties } from '../src/render/properties.js';
import { parseYaml } from '../src/render/yaml.js';
import { loadDotenv } from '../src/sops/dotenv.js';
import { loadIni } from '../src/sops/ini.js';
import { loadJson } from '../src/sops/json.js';
import { decryptBranches } from '../src/sops/tree.js';
import { Branch, Comment } from '../src/sops/values.js';
import { loadYaml } from '../src/sops/yaml.js';

const N = Number(process.argv[2] ?? 20_000);
const lines = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';
const bytes = (s: string) => Buffer.from(s);

const NO_RULES = {
  unencryptedSuffix: 'a',
  encryptedSuffix: '',
  unencryptedRegex: '',
  encryptedRegex: '',
  unencryptedCommentRegex: '',
  encryptedCommentRegex: 'never-matches',
  macOnlyEncrypted: false,
};

const cases: Array<{ name: string; input: (n: number) => unknown; run: (input: never) => unknown }> = [
  {
    name: 'render YAML, a comment after every key',
    input: (n) => lines(n, (i) => `k${i}: v${i}\n# note ${i}`),
    run: (t: string) => parseYaml(t, 'a.yaml'),
  },
  {
    name: 'render YAML, nested maps and empty keys',
    input: (n) => lines(n / 2, (i) => `m${i}:\n  a: x\n  # b: y\ne${i}:\n  # c: y`),
    run: (t: string) => parseYaml(t, 'a.yaml'),
  },
  {
    name: 'render YAML, commented-out keys',
    input: (n) => lines(n, (i) => `# k${i}: v`),
    run: (t: string) => parseYaml(t, 'a.yaml'),
  },
  {
    name: 'render env, commented-out lines',
    input: (n) => lines(n, (i) => `K${i}=v${i}\n# D${i}=x`),
    run: (t: string) => parseEnv(t, 'a.env'),
  },
  {
    name: 'render env, a long run of blanks',
    input: (n) => `A=x${' '.repeat(n * 10)}y\n`,
    run: (t: string) => parseEnv(t, 'a.env'),
  },
  {
    name: 'render properties, continuation lines',
    input: (n) => 'k = ' + 'ab\\\n'.repeat(n) + 'end\n',
    run: (t: string) => parseProperties(t, 'a.properties'),
  },
  {
    name: 'SOPS YAML, comments after every key',
    input: (n) => bytes(lines(n, (i) => `k${i}: v # c${i}\n# own ${i}`)),
    run: (b: Buffer) => loadYaml(b, 'a.yaml'),
  },
  {
    name: 'SOPS YAML, documents with comments',
    input: (n) => bytes(lines(n, (i) => `k: ${i}\n# c\n---`)),
    run: (b: Buffer) => loadYaml(b, 'a.yaml'),
  },
  {
    name: 'SOPS YAML, flow values with line comments',
    input: (n) => bytes(lines(n, (i) => `k${i}: [a] # c`)),
    run: (b: Buffer) => loadYaml(b, 'a.yaml'),
  },
  {
    name: 'SOPS YAML, many aliases',
    input: (n) => bytes(`a: &a x\nl:\n${lines(Math.min(n, 9_000), () => '  - *a')}`),
    run: (b: Buffer) => loadYaml(b, 'a.yaml'),
  },
  {
    name: 'SOPS JSON, many keys',
    input: (n) => bytes(`{${Array.from({ length: n }, (_, i) => `"k${i}": "v${i}"`).join(',')}}`),
    run: (b: Buffer) => loadJson(b, 'a.json'),
  },
  {
    name: 'SOPS dotenv, many lines',
    input: (n) => bytes(lines(n, (i) => `K${i}=v${i}\n#c`)),
    run: (b: Buffer) => loadDotenv(b, 'a.env'),
  },
  {
    name: 'SOPS INI, many keys in one section',
    input: (n) => bytes(lines(n, (i) => `k${i} = v${i}`)),
    run: (b: Buffer) => loadIni(b, 'a.ini'),
  },
  {
    name: 'SOPS INI, continuation lines',
    input: (n) => bytes('k = a\\\n' + 'b\\\n'.repeat(n) + 'c\n'),
    run: (b: Buffer) => loadIni(b, 'a.ini'),
  },
  {
    name: 'SOPS tree walk, a run of comments (comment regex set)',
    input: (n) => n,
    run: (n: number) =>
      decryptBranches(
        [
          new Branch([
            { key: 'a', value: 'plain' },
            ...Array.from({ length: n }, (_, i) => ({ key: new Comment(`c${i}`), value: null })),
          ]),
        ],
        NO_RULES,
        new Uint8Array(32),
        'a.yaml',
      ),
  },
];

function time(run: () => unknown): number {
  // Best of three, after a warm-up run.
  run();
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

console.log(`sizes n=${N}, 2n, 4n (lines, or blanks/10); times are the best of 3 runs`);
console.log(['case'.padEnd(56), 'n ms', '2n ms', '4n ms', '2n/n', '4n/n'].join('\t'));
for (const c of cases) {
  const t = [1, 2, 4].map((k) => {
    const input = c.input(N * k);
    return time(() => c.run(input as never));
  });
  const [t1, t2, t4] = t as [number, number, number];
  console.log(
    [
      c.name.padEnd(56),
      t1.toFixed(1),
      t2.toFixed(1),
      t4.toFixed(1),
      (t2 / t1).toFixed(2),
      (t4 / t1).toFixed(2),
    ].join('\t'),
  );
}
