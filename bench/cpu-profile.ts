/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. `npm run bench:fleet -- --cpu-prof
 * DIR`): the functions with the most self time, and the files (ours and each dependency's) with
 * the most self time, as percentages of the sampled time.
 *
 *   npx tsx bench/cpu-profile.ts FILE.cpuprofile [--top 25] [--last SECONDS | --from S --to S]
 *
 * `--from S --to S`: only the samples between S seconds after the profile started and S seconds
 * after (e.g. bench:fleet's create window, whose times it logs).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    last: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
});
const file = positionals[0];
if (!file) {
  throw new Error(
    'usage: npx tsx bench/cpu-profile.ts FILE.cpuprofile [--top N] [--last SECONDS | --from S --to S]',
  );
}
const top = Number(values.top);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;

// Self time per node: each sample's time delta goes to the node sampled. `--last S`: only the
// samples of the profile's last S seconds (e.g. bench:fleet's idle window, which ends the run).
const from =
  values.last !== undefined
    ? profile.endTime - Number(values.last) * 1e6
    : values.from !== undefined
      ? profile.startTime + Number(values.from) * 1e6
      : -Infinity;
const to = values.to !== undefined ? profile.startTime + Number(values.to) * 1e6 : Infinity;
const selfUs = new Map<number, number>();
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at >= from && at <= to) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/** `our src/x.ts`, `pkg @kubernetes/client-node`, `node:internal/...` or `(program)`. */
function where(url: string): string {
  if (!url) return '';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg ${pkg[1]}`;
  const ours = /\/(dist|src)\/(.*)$/.exec(url);
  if (ours) return `our ${ours[1]}/${ours[2]}`;
  return url.replace(/^file:\/\//, '');
}

const functions = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const w = where(n.callFrame.url);
  const fn = `${n.callFrame.functionName || '(anonymous)'}${w ? ` ${w}:${n.callFrame.lineNumber + 1}` : ''}`;
  functions.set(fn, (functions.get(fn) ?? 0) + us);
  const f = w || n.callFrame.functionName;
  files.set(f, (files.get(f) ?? 0) + us);
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
};
console.log(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`,
);
print('self time by function', functions);
print('self time by file or package', files);
