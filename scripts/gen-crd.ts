/**
 * Writes the CRD and its reference doc from the zod schema (src/api/schema.ts).
 *   tsx scripts/gen-crd.ts           regenerate config/crd/secretmanagerconfig.yaml and docs/crd-reference.md
 *                                    (and the Helm chart's byte-identical copy of the CRD)
 *   tsx scripts/gen-crd.ts --check   exit 1 when a checked-in copy differs from a fresh generation
 *   --root DIR                       act on another checkout (default: this script's repository)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CRD_FILE, generatedFiles } from '../src/api/generated.js';

/** The Helm chart ships the same CRD in its crds/ directory: a byte-identical copy of CRD_FILE. */
const CHART_CRD_FILE = 'charts/secret-manager-controller/crds/secretmanagerconfig.yaml';

function withChartCopy(files: { path: string; content: string }[]): { path: string; content: string }[] {
  const crd = files.find((f) => f.path === CRD_FILE);
  return crd ? [...files, { path: CHART_CRD_FILE, content: crd.content }] : files;
}

let args;
try {
  args = parseArgs({
    options: { check: { type: 'boolean', default: false }, root: { type: 'string' } },
  }).values;
} catch (e) {
  console.error(`${(e as Error).message}\nusage: tsx scripts/gen-crd.ts [--check] [--root DIR]`);
  process.exit(2);
}
const root = resolve(args.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'));

let stale = 0;
for (const { path, content } of withChartCopy(generatedFiles())) {
  const file = join(root, path);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) {
    console.log(`${path}: up to date`);
  } else if (args.check) {
    stale++;
    console.error(
      `${path}: ${current === undefined ? 'missing' : 'stale'} — regenerate it with \`npm run gen:crd\` and commit the result`,
    );
  } else {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    console.log(`${path}: written`);
  }
}
if (stale > 0)
  console.error(`gen-crd --check: ${stale} generated file(s) out of date with src/api/schema.ts`);
process.exit(stale > 0 ? 1 : 0);
