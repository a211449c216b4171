/**
 * The fenced code blocks of the docs that the tests run, found by a tag in their info string:
 *
 *     ```python test=watch-python
 *
 * Renderers (GitHub, CommonMark) take only the first word of an info string as the language and
 * show nothing of the rest, so the tag is invisible to readers and the test runs exactly the text
 * they see. Blocks without a `test=` tag are ignored.
 *
 * Hand-written rather than a Markdown library (none is a dependency, and only fences matter here):
 * CommonMark's fence rules — an opening of 3+ backticks or tildes indented by up to 3 spaces (or
 * inside a list item, by its indentation), closed by a fence of the same character at least as long;
 * the opening's indentation is removed from each content line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../peers.js';

export interface DocBlock {
  /** Path from the repository root, e.g. `docs/hot-reload.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word (`python`, `console`, …). */
  lang: string;
  /** The `test=` tag. */
  tag: string;
  /** Other `key=value` words of the info string. */
  attrs: Record<string, string>;
  /** The content, as a reader copies it (ends with a newline). */
  text: string;
}

const FENCE = /^( *)(`{3,}|~{3,})(.*)$/;

/** Every fenced block of `file` (relative to the repository root) carrying a `test=` tag. */
export function taggedBlocks(file: string): DocBlock[] {
  const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    if (fence[0] === '`' && info.includes('`')) continue; // not a fence (inline code)
    const close = new RegExp(`^ *${fence[0] === '`' ? '`' : '~'}{${fence.length},} *$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j]!)) {
      const l = lines[j]!;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
      j++;
    }
    const words = info.trim().split(/\s+/).filter(Boolean);
    const attrs = Object.fromEntries(
      words
        .slice(1)
        .map((w) => /^([\w-]+)=(.*)$/.exec(w))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    if (attrs.test !== undefined) {
      const { test: tag, ...rest } = attrs;
      blocks.push({
        file,
        line: i + 1,
        lang: words[0] ?? '',
        tag,
        attrs: rest,
        text: `${body.join('\n')}\n`,
      });
    }
    i = j;
  }
  return blocks;
}

/** The one block of `file` tagged `tag`; throws (naming file and tag) when there is none or several. */
export function docBlock(file: string, tag: string): DocBlock {
  const found = taggedBlocks(file).filter((b) => b.tag === tag);
  if (found.length !== 1)
    throw new Error(`${file}: expected one code block tagged test=${tag}, found ${found.length}`);
  return found[0]!;
}
