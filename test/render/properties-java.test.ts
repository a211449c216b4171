/**
 * Conformance: the same corpus through properties.ts and through java.util.Properties.load.
 * Runs when a JDK (`java`, 11+ for single-file source launch) is on PATH.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProperties } from '../../src/render/properties.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const hasJava = (() => {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

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

describe.skipIf(!hasJava)('parseProperties matches java.util.Properties', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smc-props-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a corpus of separators, comments, continuations and escapes', () => {
    const file = path.join(dir, 'corpus.properties');
    writeFileSync(file, CORPUS);
    const java = JSON.parse(
      execFileSync('java', [path.join(here, 'fixtures/PropertiesDump.java'), file], { encoding: 'utf8' }),
    ) as Record<string, string>;
    const ours = Object.fromEntries(
      parseProperties(CORPUS, 'corpus.properties').map((e) => [e.key, e.value]),
    );
    expect(ours).toEqual(java);
  });
});
