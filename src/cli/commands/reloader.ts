import { constants } from 'node:os';
import type { Command } from 'commander';
import { pino, type Level } from 'pino';
import { parseDuration } from '../../api/duration.js';
import { SmcError } from '../../errors.js';
import type { ReloadTarget } from '../../reload/sidecar/delivery.js';
import { httpTarget } from '../../reload/sidecar/http-target.js';
import { startReloader } from '../../reload/sidecar/reloader.js';
import { pidFileTarget, processNameTarget } from '../../reload/sidecar/signal-target.js';

interface ReloaderOptions {
  watch?: string[];
  signal: string;
  pidFile?: string;
  process?: string;
  post?: string;
  tokenFile?: string;
  retries: string;
  backoff: string;
  maxBackoff: string;
  timeout: string;
  debounce: string;
  pollInterval: string;
  metricsPort?: string;
  listen: string;
  logLevel: string;
}

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export function registerReloader(program: Command): void {
  program
    .command('reloader')
    .description(
      'sidecar: watch mounted secret directories and signal or call the application when their content changes',
    )
    .option(
      '--watch <dir>',
      'directory to watch, e.g. the Secret volume mount (repeatable; required)',
      append,
    )
    .option('--signal <name>', 'signal sent with --pid-file / --process', 'HUP')
    .option('--pid-file <file>', 'signal the process whose pid this file holds (read at each delivery)')
    .option('--process <name>', 'signal every process with this name (needs shareProcessNamespace: true)')
    .option('--post <url>', 'POST to this reload endpoint, e.g. http://127.0.0.1:8080/reload')
    .option('--token-file <file>', 'bearer token for --post (read at each delivery, so it can rotate)')
    .option('--retries <n>', 'retries after a failed delivery', '5')
    .option('--backoff <duration>', 'delay before the first retry; doubles each time', '1s')
    .option('--max-backoff <duration>', 'longest delay between retries', '30s')
    .option('--timeout <duration>', 'HTTP request timeout', '10s')
    .option('--debounce <duration>', 'quiet time after file events before reading the directory', '100ms')
    .option('--poll-interval <duration>', 'safety-net poll for missed file events', '30s')
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port (0: any free port)')
    .option('--listen <address>', 'address for --metrics-port (0.0.0.0 for probes and scraping)', '127.0.0.1')
    .option('--log-level <level>', LEVELS.join(' | '), 'info')
    .action(async (opts: ReloaderOptions) => {
      const config = parseOptions(opts);
      const logger = pino(
        {
          level: config.logLevel,
          base: { component: 'msmctl-reloader' },
          timestamp: pino.stdTimeFunctions.isoTime,
        },
        pino.destination({ dest: 1, sync: true }),
      );
      const reloader = await startReloader({ ...config, logger });
      logger.info(
        {
          watch: config.dirs,
          targets: config.targets.map((t) => t.description),
          ...(reloader.statusPort !== undefined && {
            status: `http://${hostForUrl(config.status!.host)}:${reloader.statusPort}`,
          }),
        },
        'reloader started',
      );
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const onSignal = (s: NodeJS.Signals) => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve(s);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      logger.info({ signal }, 'stopping');
      await reloader.stop();
      logger.info('stopped');
    });
}

function parseOptions(opts: ReloaderOptions) {
  if (!opts.watch?.length) throw new SmcError('InvalidSpec', 'reloader: --watch DIR is required');
  if (!opts.pidFile && !opts.process && !opts.post) {
    throw new SmcError(
      'InvalidSpec',
      'reloader: give a target: --pid-file FILE, --process NAME or --post URL',
    );
  }
  if (opts.tokenFile && !opts.post) throw new SmcError('InvalidSpec', 'reloader: --token-file needs --post');
  const signal = parseSignal(opts.signal);
  const targets: ReloadTarget[] = [];
  if (opts.pidFile) targets.push(pidFileTarget(opts.pidFile, signal));
  if (opts.process) targets.push(processNameTarget(opts.process, signal));
  const timeoutMs = parseDuration(opts.timeout, { field: '--timeout' });
  if (opts.post) targets.push(httpTarget(opts.post, { tokenFile: opts.tokenFile, timeoutMs }));

  const retries = Number(opts.retries);
  if (!Number.isInteger(retries) || retries < 0) {
    throw new SmcError('InvalidSpec', '--retries: must be a whole number, 0 or more');
  }
  const baseDelayMs = parseDuration(opts.backoff, { field: '--backoff' });
  const maxDelayMs = Math.max(baseDelayMs, parseDuration(opts.maxBackoff, { field: '--max-backoff' }));
  let status: { host: string; port: number } | undefined;
  if (opts.metricsPort !== undefined) {
    const port = Number(opts.metricsPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new SmcError('InvalidSpec', '--metrics-port: must be a port number (0–65535)');
    }
    status = { host: opts.listen, port };
  }
  if (!LEVELS.includes(opts.logLevel as Level)) {
    throw new SmcError('InvalidSpec', `--log-level: must be one of ${LEVELS.join(', ')}`);
  }
  return {
    dirs: opts.watch,
    targets,
    retry: { maxAttempts: retries + 1, baseDelayMs, maxDelayMs },
    debounceMs: parseDuration(opts.debounce, { field: '--debounce', allowZero: true }),
    pollIntervalMs: parseDuration(opts.pollInterval, { field: '--poll-interval' }),
    status,
    logLevel: opts.logLevel as Level,
  };
}

const append = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `HUP`, `hup` and `SIGHUP` all mean SIGHUP. */
function parseSignal(name: string): NodeJS.Signals {
  const upper = name.toUpperCase();
  const full = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
  if (!(full in constants.signals) || full === 'SIGKILL' || full === 'SIGSTOP') {
    throw new SmcError(
      'InvalidSpec',
      `--signal: "${name}" is not a signal that can be handled (e.g. HUP, USR1)`,
    );
  }
  return full;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
