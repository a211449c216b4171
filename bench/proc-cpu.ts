/**
 * CPU time read from /proc, for the benchmarks that run the kube-apiserver + etcd peer beside the
 * code they measure (bench/fleet.ts, bench/kube-requests.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';

/** Clock ticks per second, the unit of /proc's CPU times. */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU seconds used so far by the processes of the given process groups — for the kube peer,
 * `kube.pids`: each peer runs under a watchdog shell that leads its group
 * (test/peers/kube/process.ts), so this counts etcd and kube-apiserver together.
 */
export async function processGroupsCpuS(leaders: Iterable<number>): Promise<number> {
  const groups = new Set(leaders);
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    const fields = stat?.split(') ')[1]?.split(' ');
    if (fields && groups.has(Number(fields[2]))) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLK_TCK;
}
