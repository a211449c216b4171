/**
 * Benchmark: the CPU an idle process spends on its own process metrics. Three child processes
 * side by side for the same time: Node alone (the baseline), prom-client's default process
 * metrics (event-loop delay sampled every 10 ms), and ours (src/observability/process-metrics.ts,
 * every 100 ms). Prints each one's CPU and its excess over the baseline as a share of one core.
 *
 *   npm run bench:idle-process [-- --seconds 20]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
const seconds = Number(values.seconds);
const repoRoot = join(import.meta.dirname, '..');

const setups: Record<string, string> = {
  'Node alone (baseline)': '',
  "prom-client's default process metrics": `
    const { Registry, collectDefaultMetrics } = await import('prom-client');
    collectDefaultMetrics({ register: new Registry() });`,
  'ours (collectProcessMetrics)': `
    const { Registry } = await import('prom-client');
    const { collectProcessMetrics } = await import(${JSON.stringify(join(repoRoot, 'src/observability/process-metrics.ts'))});
    collectProcessMetrics(new Registry());`,
};

/** CPU milliseconds the child used over `seconds` after its setup (its own process.cpuUsage). */
function run(setup: string): Promise<number> {
  const script = `${setup}
    const start = process.cpuUsage();
    setTimeout(() => {
      const u = process.cpuUsage(start);
      process.stdout.write(String((u.user + u.system) / 1000));
    }, ${seconds * 1000});`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`child exited ${code}`)),
    );
  });
}

const names = Object.keys(setups);
const cpu = await Promise.all(names.map((n) => run(setups[n]!)));
const base = cpu[0]!;
console.log(`\n| process (idle ${seconds} s) | CPU | above the baseline, share of one core |\n|---|---|---|`);
names.forEach((n, i) => {
  const excess = cpu[i]! - base;
  console.log(
    `| ${n} | ${cpu[i]!.toFixed(0)} ms | ${i === 0 ? '—' : `${((excess / (seconds * 1000)) * 100).toFixed(2)} %`} |`,
  );
});
const ratio = (cpu[1]! - base) / Math.max(cpu[2]! - base, 1);
console.log(`\nprom-client's default costs ${ratio.toFixed(1)}× what ours does above the baseline`);
