/**
 * The status writer: one merge patch of an SMC's status subresource per changed status
 * (docs/architecture.md, "The controller": computed by `status.ts`, written once). An idle pass
 * writes nothing; keys that disappeared are nulled; the fields other writers own are left out.
 */
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '../kube/client-node.js';
import { API_GROUP, API_VERSION_NAME, PLURAL, type SecretManagerConfigStatus } from '../api/index.js';
import { type Backoff, backoffDelayMs } from '../backoff.js';
import { statusChanged } from './status.js';

/**
 * The status write's own retry, on a conflict, throttling or a 5xx: at most this many attempts,
 * 200 ms after the first, doubling (the shared formula, src/backoff.ts).
 */
const STATUS_WRITE_ATTEMPTS = 5;
const STATUS_WRITE_BACKOFF: Backoff = { baseMs: 200 };

export class StatusWriter {
  constructor(private readonly custom: CustomObjectsApi) {}

  /** One merge patch of the status subresource; keys that disappeared are nulled. Retried on conflict/5xx. */
  async write(
    namespace: string,
    name: string,
    previous: SecretManagerConfigStatus | undefined,
    status: SecretManagerConfigStatus,
  ): Promise<void> {
    if (!statusChanged(previous, status)) return; // idle passes write nothing
    const patch: Record<string, unknown> = { ...status };
    for (const k of Object.keys(previous ?? {})) if (!(k in patch)) patch[k] = null;
    // status.hotReload.configMap is written by the settings reloader alone, lastWorkloadReload,
    // workloadsNotified and workloads by the workload reloader alone (a cached copy may be stale).
    if (patch.hotReload && typeof patch.hotReload === 'object') {
      const {
        configMap: _own,
        lastWorkloadReload: _reloaded,
        workloadsNotified: _notified,
        workloads: _results,
        ...rest
      } = patch.hotReload as Record<string, unknown>;
      patch.hotReload = rest;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.custom.patchNamespacedCustomObjectStatus(
          {
            group: API_GROUP,
            version: API_VERSION_NAME,
            namespace,
            plural: PLURAL,
            name,
            body: { status: patch },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404) return; // deleted meanwhile
        const retriable = code === 409 || code === 429 || (code !== undefined && code >= 500);
        if (!retriable || attempt >= STATUS_WRITE_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, backoffDelayMs(STATUS_WRITE_BACKOFF, attempt)));
      }
    }
  }
}
