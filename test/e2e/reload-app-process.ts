/** The hot-reload e2e test's application (./reload-app.ts) as a separate process, its JSON lines kept. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../peers.js';
import { CONTROLLER_READY_TIMEOUT_MS, WAIT_TIMEOUT_MS, exitStatus, waitFor } from './controller-process.js';

export interface AppEvent {
  event: 'ready' | 'reload';
  at: number;
  ok?: boolean;
  generation?: number;
  changed?: string[];
  keys?: string[];
  value?: string;
}

export interface ReloadApp {
  readonly events: AppEvent[];
  reloads(): AppEvent[];
  output(): string;
  waitFor(what: string, match: (e: AppEvent) => boolean, timeoutMs?: number): Promise<AppEvent>;
  stop(): Promise<number | null>;
}

export async function startReloadApp(dir: string, key: string): Promise<ReloadApp> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'test/e2e/reload-app.ts'), '--dir', dir, '--key', key],
    { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: AppEvent[] = [];
  let out = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) if (p.startsWith('{')) events.push(JSON.parse(p) as AppEvent);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  let ended: string | undefined;
  child.once('error', (e) => (ended ??= `could not be run: ${e.message}`));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      ended ??= `the app exited (${exitStatus(code, signal)})`;
      resolve(code);
    }),
  );
  const app: ReloadApp = {
    events,
    reloads: () => events.filter((e) => e.event === 'reload'),
    output: () => out,
    waitFor: (what, match, timeoutMs = WAIT_TIMEOUT_MS) =>
      waitFor(what, async () => events.find(match), {
        timeoutMs,
        intervalMs: 20,
        log: () => out,
        // An event already printed still counts; a dead app prints no more.
        stopIf: () => (ended !== undefined && !events.some(match) ? ended : undefined),
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  // Started through tsx, like the controller: as slow to start on a loaded machine.
  await app.waitFor('the app to start', (e) => e.event === 'ready', CONTROLLER_READY_TIMEOUT_MS);
  return app;
}
