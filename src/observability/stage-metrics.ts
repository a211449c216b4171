/**
 * Pipeline stage metrics (docs/observability.md): a stage hook for the pipeline (src/sync.ts) that feeds
 * `sops_decryption_total{result,reason}`, `sops_decrypt_duration_seconds` (one SOPS file) and
 * `kustomize_build_duration_seconds` (the private decrypted copy and `kustomize build`), around
 * whatever hook runs inside it (tracing). `reason` is `ok`, or the error code of a failed decryption.
 */
import type { StageHook } from '../sync.js';
import type { ControllerMetrics } from './metrics.js';
import { errorCode } from './tracing.js';

export function stageMetricsHook(metrics: ControllerMetrics, inner?: StageHook): StageHook {
  const run: StageHook = inner ?? ((_stage, _attributes, fn) => fn());
  return async (stage, attributes, fn) => {
    if (stage === 'kustomize') {
      const end = metrics.kustomizeBuildDuration.startTimer();
      try {
        return await run(stage, attributes, fn);
      } finally {
        end();
      }
    }
    if (stage !== 'decrypt') return run(stage, attributes, fn);
    const end = metrics.sopsDecryptDuration.startTimer();
    try {
      const result = await run(stage, attributes, fn);
      metrics.sopsDecryption.inc({ result: 'success', reason: 'ok' });
      return result;
    } catch (e) {
      metrics.sopsDecryption.inc({ result: 'error', reason: errorCode(e) });
      throw e;
    } finally {
      end();
    }
  };
}
