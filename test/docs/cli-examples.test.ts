/**
 * The cluster-free `msmctl` examples of README.md and docs/cli.md, run as written against the
 * example repository (test/docs/transcript.ts): each command's output and exit code is what the
 * doc shows. The blocks run concurrently, each in a sandbox of its own.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../peers.js';
import { docBlock, taggedBlocks } from './doc-blocks.js';
import { matchesDoc, mismatches, runTranscript, sandbox } from './transcript.js';

describe.concurrent('docs/cli.md console examples (cluster-free)', { timeout: 180_000 }, () => {
  it.each(['cli-diff', 'cli-pipeline'])('%s prints what the doc shows', async (tag) => {
    const block = docBlock('docs/cli.md', tag);
    const box = await sandbox();
    try {
      const results = await runTranscript(block, box);
      expect(mismatches(block, results)).toEqual([]);
    } finally {
      await box.cleanup();
    }
  });

  it('README.md: the first command runs the pipeline on the example, and again is all noop', async () => {
    const block = docBlock('README.md', 'readme-first-run');
    // `npm ci && npx msmctl sync …`: the sandbox's msmctl is the built one (npm ci's `prepare` builds it).
    const sync = /npx msmctl sync [^\n]*/.exec(block.text)?.[0];
    expect(sync).toBeDefined();
    const box = await sandbox();
    try {
      const results = await runTranscript(
        { ...block, text: `$ ${sync}\n$ ${sync}\n$ ls /tmp/msm-demo\n` },
        box,
      );
      const [first, second, ls] = results;
      expect(first!.status).toBe(0);
      expect(first!.actual).toMatch(/^10 create; 10 write\(s\), 0 failed$/m);
      expect(second!.status).toBe(0);
      expect(second!.actual).toMatch(/^10 noop; 0 write\(s\), 0 failed$/m);
      // "laid out exactly like a Secret the kubelet mounts into a pod"
      expect(ls!.actual).toMatch(/^payments-DATABASE_URL$/m);
      expect(ls!.status).toBe(0);
    } finally {
      await box.cleanup();
    }
  });
});

describe('the transcript comparison (test/docs/transcript.ts)', () => {
  it('ignores column widths, ages, times and commit ids, and nothing else', () => {
    expect(matchesDoc('NAME  AGE\npayments  12s\n', 'NAME      AGE\npayments  3d\n')).toBe(true);
    expect(
      matchesDoc('Last sync: 2026-12-07T16:51:40Z (18s ago)\n', 'Last sync: 2027-01-01T00:00:00Z (3m ago)\n'),
    ).toBe(true);
    expect(matchesDoc('rev main@sha1:…\n', `rev main@sha1:${'a'.repeat(40)}\n`)).toBe(true);
    expect(matchesDoc('9 noop, 1 update\n', '9 noop, 2 update\n')).toBe(false);
    expect(matchesDoc('a\nb\n', 'a\n')).toBe(false);
    expect(matchesDoc('', 'something\n')).toBe(false);
  });

  it('`…` matches any text on its line, or any lines on a line of its own', () => {
    expect(matchesDoc('KEY=…\n', 'KEY=value\n')).toBe(true);
    expect(matchesDoc('first\n…\nlast\n', 'first\nx\ny\nlast\n')).toBe(true);
    expect(matchesDoc('first\n…\nlast\n', 'first\nlast\n')).toBe(true);
    expect(matchesDoc('first\n…\nlast\n', 'first\nx\n')).toBe(false);
    expect(matchesDoc('KEY=…\n', 'OTHER=value\n')).toBe(false);
  });
});

describe('docs/testing.md lists every doc block the suite runs', () => {
  it('each tagged block is in its table, each row has its block and a test file that runs it', () => {
    const docs = ['README.md', ...readdirSync(join(repoRoot, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
      f.endsWith('.md'),
    );
    const tagged = docs.flatMap((f) => taggedBlocks(f).map((b) => b.tag));
    expect(new Set(tagged).size).toBe(tagged.length); // tags are unique
    const table = readFileSync(join(repoRoot, 'docs/testing.md'), 'utf8').split('## Docs that run')[1] ?? '';
    const rows = table.split('\n').filter((l) => /^\| `/.test(l));
    const listed = rows.flatMap((r) => [...r.split('|')[1]!.matchAll(/`([\w-]+)`/g)].map((m) => m[1]!));
    expect([...listed].sort()).toEqual([...tagged].sort());
    const helpers = readFileSync(join(repoRoot, 'test/docs/doc-programs.ts'), 'utf8');
    for (const row of rows) {
      const [, tags, , files] = row.split('|');
      for (const file of [...files!.matchAll(/`(test\/[^`]+)`/g)].map((m) => m[1]!)) {
        const source = readFileSync(join(repoRoot, file), 'utf8');
        for (const [, tag] of tags!.matchAll(/`([\w-]+)`/g))
          expect(source.includes(`'${tag}'`) || helpers.includes(`'${tag}'`), `${file} runs ${tag}`).toBe(
            true,
          );
      }
    }
  });
});
