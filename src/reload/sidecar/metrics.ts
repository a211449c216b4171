/** The reloader's own Prometheus metrics (its own registry: nothing global). Never a value or a digest. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../observability/process-metrics.js';

export interface ReloaderMetrics {
  registry: Registry;
  reloads: Counter<'result'>;
  lastReloadTimestamp: Gauge;
  lastReloadSuccess: Gauge;
  watchErrors: Counter;
  changesDetected: Counter;
  deliveryAttempts: Counter<'target' | 'result'>;
  reloadDuration: Histogram;
}

export function createReloaderMetrics(): ReloaderMetrics {
  const registry = new Registry();
  collectProcessMetrics(registry);
  const registers = [registry];
  const reloads = new Counter({
    name: 'secret_manager_reloader_reloads_total',
    help: 'Reloads delivered to the application (after retries), by result: success or failure',
    labelNames: ['result'] as const,
    registers,
  });
  reloads.inc({ result: 'success' }, 0);
  reloads.inc({ result: 'failure' }, 0);
  const deliveryAttempts = new Counter({
    name: 'secret_manager_reloader_delivery_attempts_total',
    help: 'Single delivery attempts (signal or HTTP request), by target kind and result',
    labelNames: ['target', 'result'] as const,
    registers,
  });
  return {
    registry,
    reloads,
    deliveryAttempts,
    lastReloadTimestamp: new Gauge({
      name: 'secret_manager_reloader_last_reload_timestamp_seconds',
      help: 'Unix time of the last successful reload (0: none yet)',
      registers,
    }),
    lastReloadSuccess: new Gauge({
      name: 'secret_manager_reloader_last_reload_success',
      help: '1 if the last reload was delivered to every target, 0 if not (1 before the first)',
      registers,
    }),
    watchErrors: new Counter({
      name: 'secret_manager_reloader_watch_errors_total',
      help: 'Errors while watching or reading the watched directories',
      registers,
    }),
    changesDetected: new Counter({
      name: 'secret_manager_reloader_changes_detected_total',
      help: 'Content changes detected in the watched directories',
      registers,
    }),
    reloadDuration: new Histogram({
      name: 'secret_manager_reloader_reload_duration_seconds',
      help: 'Time from the start of a delivery to its end, retries included',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
  };
}
