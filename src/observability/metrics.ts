/**
 * The controller's Prometheus metrics (docs/observability.md): one Registry per process (nothing global), every
 * metric under its stable `secret_manager_` name. Labels carry names and outcomes only — never a
 * value, a digest of one, or anything unbounded other than SMC identity.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProviderCall, StoreObserver } from '../stores/store.js';
import { collectProcessMetrics } from './process-metrics.js';

export const METRIC_PREFIX = 'secret_manager_';

/** Seconds buckets for quick operations (provider calls, decryption). */
const FAST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds buckets for whole reconciles, builds, downloads, fetches and end-to-end latency. */
const SLOW_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export interface ControllerMetrics {
  readonly registry: Registry;
  /** `result`: `success` | `error` | `skipped` (nothing to do). */
  readonly reconciliations: Counter<'result'>;
  readonly reconciliationDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly secretsManaged: Gauge<'namespace' | 'name'>;
  readonly providerOperations: Counter<'provider' | 'operation' | 'result'>;
  readonly providerOperationDuration: Histogram<'provider' | 'operation'>;
  readonly providerThrottled: Counter<'provider'>;
  readonly secretsPublished: Counter<'provider'>;
  readonly secretsSkipped: Counter<'provider' | 'reason'>;
  readonly secretsDiffDetected: Counter<'provider'>;
  readonly sopsDecryption: Counter<'result' | 'reason'>;
  readonly sopsDecryptDuration: Histogram;
  /** Requests to SOPS key services (retries included; a cached data key makes none). */
  readonly sopsKmsCalls: Counter<'service' | 'result'>;
  readonly kustomizeBuildDuration: Histogram;
  readonly artifactDownloadDuration: Histogram;
  readonly gitFetchDuration: Histogram;
  /** Source revision first seen → last store write of that revision. */
  readonly syncLatency: Histogram;
  readonly configReloads: Counter<'result'>;
  readonly workloadReloads: Counter<'strategy' | 'result'>;
}

/** Every metric name of docs/observability.md, with its label names (for tests and docs). */
export const METRIC_LABELS = {
  secret_manager_reconciliations_total: ['result'],
  secret_manager_reconciliation_duration_seconds: [],
  secret_manager_queue_depth: [],
  secret_manager_secrets_managed: ['namespace', 'name'],
  secret_manager_provider_operations_total: ['provider', 'operation', 'result'],
  secret_manager_provider_operation_duration_seconds: ['provider', 'operation'],
  secret_manager_provider_throttled_total: ['provider'],
  secret_manager_secrets_published_total: ['provider'],
  secret_manager_secrets_skipped_total: ['provider', 'reason'],
  secret_manager_secrets_diff_detected_total: ['provider'],
  secret_manager_sops_decryption_total: ['result', 'reason'],
  secret_manager_sops_decrypt_duration_seconds: [],
  secret_manager_sops_kms_calls_total: ['service', 'result'],
  secret_manager_kustomize_build_duration_seconds: [],
  secret_manager_artifact_download_duration_seconds: [],
  secret_manager_git_fetch_duration_seconds: [],
  secret_manager_sync_latency_seconds: [],
  secret_manager_config_reloads_total: ['result'],
  secret_manager_workload_reloads_total: ['strategy', 'result'],
} as const satisfies Record<string, readonly string[]>;

export type MetricName = keyof typeof METRIC_LABELS;

export interface MetricsOptions {
  /** Also export Node.js process metrics (`process_*`, `nodejs_*`); default true. */
  processMetrics?: boolean;
}

export function createControllerMetrics(options: MetricsOptions = {}): ControllerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectProcessMetrics(registry);
  const registers = [registry];
  const counter = <L extends string>(name: MetricName, help: string) =>
    new Counter<L>({ name, help, labelNames: METRIC_LABELS[name] as unknown as L[], registers });
  const histogram = <L extends string>(name: MetricName, help: string, buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames: METRIC_LABELS[name] as unknown as L[], buckets, registers });

  const metrics: ControllerMetrics = {
    registry,
    reconciliations: counter('secret_manager_reconciliations_total', 'Reconciles finished, by result'),
    reconciliationDuration: histogram(
      'secret_manager_reconciliation_duration_seconds',
      'Duration of one reconcile',
      SLOW_BUCKETS,
    ),
    queueDepth: new Gauge({
      name: 'secret_manager_queue_depth',
      help: 'SecretManagerConfigs waiting in the work queue (ready to run, not in flight)',
      registers,
    }),
    secretsManaged: new Gauge({
      name: 'secret_manager_secrets_managed',
      help: 'Store entries managed for each SecretManagerConfig',
      labelNames: ['namespace', 'name'] as const,
      registers,
    }),
    providerOperations: counter(
      'secret_manager_provider_operations_total',
      'Provider requests (retries included), by store type, SDK operation and result (ok | not_found | error)',
    ),
    providerOperationDuration: histogram(
      'secret_manager_provider_operation_duration_seconds',
      'Duration of one provider request',
      FAST_BUCKETS,
    ),
    providerThrottled: counter(
      'secret_manager_provider_throttled_total',
      'Throttled provider responses that were retried',
    ),
    secretsPublished: counter(
      'secret_manager_secrets_published_total',
      'Store entries created or updated (a new value written)',
    ),
    secretsSkipped: counter(
      'secret_manager_secrets_skipped_total',
      'Entries not written, by reason (unchanged, conflict, triggerUpdate, disabled, …)',
    ),
    secretsDiffDetected: counter(
      'secret_manager_secrets_diff_detected_total',
      'Store entries found changed outside Git (drift) during store verification',
    ),
    sopsDecryption: counter(
      'secret_manager_sops_decryption_total',
      'SOPS file decryptions, by result and reason',
    ),
    sopsDecryptDuration: histogram(
      'secret_manager_sops_decrypt_duration_seconds',
      'Duration of one SOPS file decryption',
      FAST_BUCKETS,
    ),
    sopsKmsCalls: counter(
      'secret_manager_sops_kms_calls_total',
      'Requests to SOPS key services (aws_kms, gcp_kms, azure_kv, hc_vault), retries included, by result (ok, auth_failed, throttled, …)',
    ),
    kustomizeBuildDuration: histogram(
      'secret_manager_kustomize_build_duration_seconds',
      'Duration of one kustomize build',
      SLOW_BUCKETS,
    ),
    artifactDownloadDuration: histogram(
      'secret_manager_artifact_download_duration_seconds',
      'Duration of one Flux artifact download and extraction',
      SLOW_BUCKETS,
    ),
    gitFetchDuration: histogram(
      'secret_manager_git_fetch_duration_seconds',
      'Duration of one git fetch of an Argo CD source',
      SLOW_BUCKETS,
    ),
    syncLatency: histogram(
      'secret_manager_sync_latency_seconds',
      'From a source revision first seen to the last store write for it',
      SLOW_BUCKETS,
    ),
    configReloads: counter(
      'secret_manager_config_reloads_total',
      'Settings ConfigMap changes applied (applied) or refused whole (rejected)',
    ),
    workloadReloads: counter(
      'secret_manager_workload_reloads_total',
      'Workload reloads triggered after a sync, by strategy and result',
    ),
  };
  // Counters without labels print 0 from the start; seed the outcome series a dashboard expects.
  for (const result of ['success', 'error'] as const) metrics.reconciliations.inc({ result }, 0);
  for (const result of ['applied', 'rejected'] as const) metrics.configReloads.inc({ result }, 0);
  return metrics;
}

/**
 * A StoreObserver (what every store reports to) that feeds the provider metrics for one store
 * type (`gcp`, `aws`, `azure`, `kubernetes`, …).
 */
export function storeMetricsObserver(metrics: ControllerMetrics, provider: string): StoreObserver {
  return {
    onCall(call: ProviderCall) {
      // A read of an entry that does not exist yet is an answer, not a failure: `not_found`, so an
      // error-rate alert does not fire on every first sync.
      const result = call.result === 'error' && call.reason === 'NotFound' ? 'not_found' : call.result;
      metrics.providerOperations.inc({ provider, operation: call.operation, result });
      metrics.providerOperationDuration.observe(
        { provider, operation: call.operation },
        Math.max(0, call.durationMs) / 1000,
      );
    },
    onThrottled() {
      metrics.providerThrottled.inc({ provider });
    },
  };
}

/** Time an async operation into a histogram (seconds), whether it succeeds or throws. */
export async function timed<T>(histogram: Histogram, run: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer();
  try {
    return await run();
  } finally {
    end();
  }
}
