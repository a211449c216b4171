/**
 * The reloader sidecar: watch mounted directories with the application library, and on each real
 * change signal the application or POST to it, with retries; count everything; stop cleanly.
 */
import type { Logger } from 'pino';
import { coalesce } from '../app/coalesce.js';
import { describeError } from '../app/describe-error.js';
import { watchSecretDir, type SecretWatcher } from '../app/watch-secret-dir.js';
import type { RetryPolicy } from '../../backoff.js';
import { startStatusServer, type StatusServer } from '../../observability/status-server.js';
import { describeDeliveryError, withRetries, type ReloadTarget } from './delivery.js';
import { createReloaderMetrics, type ReloaderMetrics } from './metrics.js';

export interface ReloaderConfig {
  dirs: string[];
  targets: ReloadTarget[];
  retry: RetryPolicy;
  debounceMs: number;
  pollIntervalMs: number;
  /** Serve `/metrics` and `/healthz` here; none when undefined. */
  status?: { host: string; port: number };
  logger: Logger;
}

export interface RunningReloader {
  /** Port of the status server, when there is one. */
  statusPort?: number;
  metrics: ReloaderMetrics;
  /** Stop watching, let a delivery in progress finish its current attempt (no more retries), close. */
  stop(): Promise<void>;
}

export async function startReloader(config: ReloaderConfig): Promise<RunningReloader> {
  const log = config.logger;
  const metrics = createReloaderMetrics();
  metrics.lastReloadSuccess.set(1);
  const stopping = new AbortController(); // cuts backoff waits short
  const pending = new Set<string>();
  let running = false;

  const deliverOnce = async (): Promise<void> => {
    if (pending.size === 0) return;
    const changed = [...pending].sort();
    pending.clear();
    const end = metrics.reloadDuration.startTimer();
    let ok = true;
    for (const target of config.targets) {
      try {
        const result = await withRetries(
          () => target.deliver({ changed }),
          config.retry,
          stopping.signal,
          (error, attempt, delayMs) => {
            metrics.deliveryAttempts.inc({ target: target.kind, result: 'failure' });
            log.warn(
              {
                target: target.description,
                attempt,
                retryInMs: Math.round(delayMs),
                error: describeDeliveryError(error),
              },
              'reload delivery failed; retrying',
            );
          },
        );
        metrics.deliveryAttempts.inc({ target: target.kind, result: 'success' });
        log.info({ target: target.description, result, changed }, 'reload delivered');
      } catch (error) {
        ok = false;
        metrics.deliveryAttempts.inc({ target: target.kind, result: 'failure' });
        log.error(
          { target: target.description, error: describeDeliveryError(error), changed },
          'reload not delivered; the next change will try again',
        );
      }
    }
    end();
    metrics.reloads.inc({ result: ok ? 'success' : 'failure' });
    metrics.lastReloadSuccess.set(ok ? 1 : 0);
    if (ok) metrics.lastReloadTimestamp.setToCurrentTime();
  };
  // Changes during a delivery are folded into one delivery after it.
  const deliver = coalesce(deliverOnce);

  const watchers: SecretWatcher[] = config.dirs.map((dir) =>
    watchSecretDir(
      dir,
      (change) => {
        metrics.changesDetected.inc();
        const qualify = config.dirs.length > 1;
        for (const key of change.changed) pending.add(qualify ? `${dir}/${key}` : key);
        log.info(
          {
            dir,
            added: change.added,
            modified: change.modified,
            removed: change.removed,
            trigger: change.trigger,
          },
          'change detected',
        );
        void deliver(); // never throws: failures are logged and counted inside
      },
      {
        debounceMs: config.debounceMs,
        pollIntervalMs: config.pollIntervalMs,
        onError: (error, context) => {
          metrics.watchErrors.inc();
          log.warn({ error: describeError(error) }, context);
        },
      },
    ),
  );

  let server: StatusServer | undefined;
  try {
    await Promise.all(watchers.map((w) => w.ready));
    if (config.status) {
      server = await startStatusServer({
        ...config.status,
        registry: metrics.registry,
        isHealthy: () => running,
      });
    }
  } catch (e) {
    await Promise.all(watchers.map((w) => w.close()));
    throw e;
  }
  running = true;

  return {
    statusPort: server?.port,
    metrics,
    async stop() {
      if (!running) return;
      running = false;
      await Promise.all(watchers.map((w) => w.close()));
      stopping.abort();
      await deliver().catch(() => undefined); // waits for a delivery in progress (its current attempt)
      if (pending.size > 0) log.warn({ changed: [...pending].sort() }, 'stopping with changes not delivered');
      await server?.close();
    },
  };
}
