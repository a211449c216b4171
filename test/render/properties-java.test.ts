/**
 * Conformance: the same corpus through properties.ts and through java.util.Properties.load.
 * Needs a JDK (`java`, 11+ for single-file source launch) on PATH: without one this test fails
 * saying so (it never skips). This machine has OpenJDK 17 (/usr/bin/java).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProperties } from '../../src/render/properties.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Runs `java ARGS`; a missing JDK is an error naming it, not a reason to skip. */
function java(args: string[]): string {
  try {
    return execFileSync('java', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('this test needs a JDK (java 11 or later) on PATH, and `java` was not found', {
        cause: err,
      });
    }
    throw err;
  }
}

const CORPUS = [
  'a=1',
  'b:2',
  'c 3',
  'd = 4',
  'e : 5',
  'f\t6',
  'g   =   7',
  'h =',
  'i',
  'j:=x',
  'k==y',
  '# comment',
  '! comment',
  '   # indented comment',
  '\t! tab comment',
  'list = a, \\',
  '     b, \\',
  '\t\fc',
  'z=x\\\\',
  '  # y',
  'zz=x\\',
  '  # y',
  '# c \\',
  'b2=2',
  'my\\ key\\=x\\:y = v',
  't=a\\tb\\nc\\rd\\fe',
  'u=\\u00e9\\u20AC\\uD83D\\uDE00',
  'bs=\\\\',
  'other=\\q\\#\\!',
  'tr=x  ',
  'utf8=été',
  'a=redefined',
  'r1=1\r\nr2=2\rr3=3',
  'last=x\\',
].join('\n');

describe('parseProperties matches java.util.Properties', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smc-props-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a corpus of separators, comments, continuations and escapes', () => {
    const file = path.join(dir, 'corpus.properties');
    writeFileSync(file, CORPUS);
    const fromJava = JSON.parse(java([path.join(here, 'fixtures/PropertiesDump.java'), file])) as Record<
      string,
      string
    >;
    const ours = Object.fromEntries(
      parseProperties(CORPUS, 'corpus.properties').map((e) => [e.key, e.value]),
    );
    expect(ours).toEqual(fromJava);
  });
});
