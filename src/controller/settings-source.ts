/**
 * The settings ConfigMap as a stream of states (docs/hot-reload.md): list it by name, report what is there
 * (or that it is absent), then watch from the list's resourceVersion. The list/watch loop is
 * client-node's `ListWatch`, as for every watched collection (src/controller/informers.ts): it
 * resumes a watch the server ended from the last resourceVersion and lists again on 410 Gone. A
 * failed list is reported and retried with backoff (src/backoff.ts: 0.5 s doubling to 30 s, reset
 * by the next list that succeeds); a watch that failed is restarted after 0.5 s, unreported (the
 * list it restarts with, after a 410, says whether the ConfigMap can still be read). Needs only get/list/watch
 * on ConfigMaps in its namespace (the shipped Role).
 */
import { CoreV1Api, type KubeConfig, ListWatch, type V1ConfigMap, Watch } from '../kube/client-node.js';
import { backoffDelayMs } from '../backoff.js';
import type { Logger } from '../observability/logger.js';

export interface ConfigMapRef {
  namespace: string;
  name: string;
}

/** What the ConfigMap holds now; `undefined` when it does not exist. */
export interface ConfigMapSnapshot {
  resourceVersion: string;
  data: Record<string, string>;
}

export interface SettingsSourceHandlers {
  /** The current state: after each (re)list and on every watch event. May repeat a state. */
  onState(state: ConfigMapSnapshot | undefined): void;
  /** Listing or watching failed (value-free; e.g. `HTTP 403`); retried with backoff. */
  onError(message: string): void;
}

/** Watches one ConfigMap until stopped. A fake implements this in the unit tests. */
export type SettingsSource = (ref: ConfigMapRef, handlers: SettingsSourceHandlers) => { stop(): void };

/** Waits before restarting after a failed list: 0.5 s, doubling to 30 s; after a failed watch, 0.5 s. */
const RESTART_BACKOFF = { baseMs: 500, maxMs: 30_000 };
/** Cap on ListWatch's pause before re-watching after a watch the server ended normally. */
const REWATCH_MAX_MS = 500;

function snapshot(cm: V1ConfigMap): ConfigMapSnapshot {
  return { resourceVersion: cm.metadata?.resourceVersion ?? '', data: { ...(cm.data ?? {}) } };
}

/** The real source: the Kubernetes API. */
export function kubernetesSettingsSource(kubeConfig: KubeConfig, logger: Logger): SettingsSource {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return (ref, handlers) => {
    let stopped = false;
    /** Failed lists since the last one that succeeded. */
    let failures = 0;
    let listFailure: unknown;
    const fieldSelector = `metadata.name=${ref.name}`;
    const list = async () => {
      try {
        const l = await core.listNamespacedConfigMap({ namespace: ref.namespace, fieldSelector });
        failures = 0;
        if (!stopped) {
          const cm = l.items.find((i) => i.metadata?.name === ref.name);
          handlers.onState(cm ? snapshot(cm) : undefined);
        }
        return l;
      } catch (e) {
        listFailure = e;
        throw e;
      }
    };
    const informer = new ListWatch<V1ConfigMap>(
      `/api/v1/namespaces/${ref.namespace}/configmaps`,
      new Watch(kubeConfig),
      list,
      false,
      undefined,
      fieldSelector,
      { delayFn: (ms) => new Promise<void>((r) => setTimeout(r, Math.min(ms, REWATCH_MAX_MS))) },
    );
    const report = (cm: V1ConfigMap, present: boolean) => {
      if (stopped || cm?.metadata?.name !== ref.name) return;
      handlers.onState(present ? snapshot(cm) : undefined);
    };
    informer.on('add', (cm) => report(cm, true));
    informer.on('update', (cm) => report(cm, true));
    informer.on('delete', (cm) => report(cm, false));
    const restart = (e: unknown) => {
      if (stopped) return;
      let delayMs = RESTART_BACKOFF.baseMs;
      if (e === listFailure) {
        delayMs = backoffDelayMs(RESTART_BACKOFF, ++failures);
        const code = (e as { code?: number }).code;
        logger.warn(
          { configMap: `${ref.namespace}/${ref.name}`, code },
          'settings ConfigMap watch failed; retrying',
        );
        handlers.onError(`watching ConfigMap ${ref.namespace}/${ref.name} failed (HTTP ${code ?? 'error'})`);
      }
      setTimeout(() => {
        if (!stopped) informer.start().catch(restart);
      }, delayMs).unref?.();
    };
    informer.on('error', restart);
    informer.start().catch(restart);
    return {
      stop() {
        stopped = true;
        void informer.stop();
      },
    };
  };
}
