/**
 * One reconcile, observed: a `reconcile` span with a child span per stage (`source` around the
 * artifact fetch or the Git checkout, then the pipeline's own stages), a log line per step in the
 * step's area, and the SOPS and kustomize stage metrics (docs/observability.md). The reconcile
 * itself (`reconcile.ts`) knows nothing of this: its world is wrapped.
 */
import type { Tracer } from '@opentelemetry/api';
import type { LoggingArea } from '../api/index.js';
import { type ReconcileSteps, type SmcLogger, logStep, stageLogHook } from '../observability/logger.js';
import type { ControllerMetrics } from '../observability/metrics.js';
import { stageMetricsHook } from '../observability/stage-metrics.js';
import { traceReconcile } from '../observability/tracing.js';
import { displayRepoURL } from '../source/argo-git.js';
import { withStageHook } from '../sync.js';
import { type ReconcileOutcome, type ReconcileWorld, type SmcObject, reconcile } from './reconcile.js';

export interface TracedReconcile {
  outcome: ReconcileOutcome;
  /** The area of the step a failed reconcile failed in (its "reconcile failed" line goes there). */
  failedIn?: LoggingArea;
}

export async function tracedReconcile(
  smc: SmcObject,
  world: ReconcileWorld,
  o: { tracer: Tracer | undefined; metrics: ControllerMetrics; log: SmcLogger },
): Promise<TracedReconcile> {
  let failedIn: LoggingArea | undefined;
  const outcome = await traceReconcile(
    o.tracer,
    { 'smc.namespace': smc.metadata.namespace, 'smc.name': smc.metadata.name },
    async (span) => {
      const steps: ReconcileSteps = { log: o.log };
      const argo = world.argo;
      const traced: ReconcileWorld = {
        ...world,
        fetchArtifact: (artifact, sourceName) =>
          span('source', { 'source.name': sourceName }, () =>
            logStep(steps, 'git', 'artifact fetch', { source: sourceName, revision: artifact.revision }, () =>
              world.fetchArtifact(artifact, sourceName),
            ),
          ),
        sopsKeyring: (sp, fresh) =>
          logStep(steps, 'sops', 'SOPS key loading', {}, () => world.sopsKeyring(sp, fresh)),
        openStores: (sp) =>
          logStep(steps, 'provider', 'store opening', {}, () => Promise.resolve(world.openStores(sp))),
        ...(argo
          ? {
              argo: {
                ...argo,
                fetch: (src, commit, credentials) =>
                  span('source', { 'source.revision': commit }, () =>
                    logStep(
                      steps,
                      'git',
                      'Git checkout',
                      { repo: displayRepoURL(src.repoURL), revision: commit },
                      () => argo.fetch(src, commit, credentials),
                    ),
                  ),
              },
            }
          : {}),
      };
      const result = await withStageHook(stageMetricsHook(o.metrics, stageLogHook(steps, span)), () =>
        reconcile(smc, traced),
      );
      if (result.error && steps.failedIn) failedIn = steps.failedIn;
      return result;
    },
    (r) => ({
      attributes: {
        'smc.result': r.result,
        'smc.writes': r.writes,
        ...(r.revision ? { 'smc.revision': r.revision } : {}),
        ...(r.error ? { 'smc.error.reason': r.error.reason } : {}),
      },
      error: r.error?.reason,
    }),
  );
  return { outcome, ...(failedIn ? { failedIn } : {}) };
}
