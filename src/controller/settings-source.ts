/**
 * The settings ConfigMap as a stream of states (docs/hot-reload.md): list it by name, report what is there
 * (or that it is absent), then watch from the list's resourceVersion; whenever the watch ends, list
 * and watch again. Needs only get/list/watch on ConfigMaps in its namespace (the shipped Role).
 */
import { CoreV1Api, type KubeConfig, type V1ConfigMap, Watch } from '@kubernetes/client-node';
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

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

function snapshot(cm: V1ConfigMap): ConfigMapSnapshot {
  return { resourceVersion: cm.metadata?.resourceVersion ?? '', data: { ...(cm.data ?? {}) } };
}

/** The real source: the Kubernetes API. */
export function kubernetesSettingsSource(kubeConfig: KubeConfig, logger: Logger): SettingsSource {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(kubeConfig);
  return (ref, handlers) => {
    let stopped = false;
    let abort: AbortController | undefined;
    const fieldSelector = `metadata.name=${ref.name}`;
    const run = async (delay: number): Promise<void> => {
      if (stopped) return;
      try {
        const list = await core.listNamespacedConfigMap({ namespace: ref.namespace, fieldSelector });
        if (stopped) return;
        const cm = list.items.find((i) => i.metadata?.name === ref.name);
        handlers.onState(cm ? snapshot(cm) : undefined);
        let ended = false;
        const a: AbortController = await watch.watch(
          `/api/v1/namespaces/${ref.namespace}/configmaps`,
          { fieldSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false },
          (phase, obj: V1ConfigMap) => {
            if (stopped || obj?.metadata?.name !== ref.name) return;
            if (phase === 'ADDED' || phase === 'MODIFIED') handlers.onState(snapshot(obj));
            else if (phase === 'DELETED') handlers.onState(undefined);
          },
          () => {
            if (ended) return;
            ended = true;
            if (!stopped) setTimeout(() => void run(RESTART_MIN_MS), RESTART_MIN_MS).unref?.();
          },
        );
        abort = a;
        if (stopped) a.abort();
      } catch (e) {
        if (stopped) return;
        const code = (e as { code?: number }).code;
        const message = `watching ConfigMap ${ref.namespace}/${ref.name} failed (HTTP ${code ?? 'error'})`;
        logger.warn(
          { configMap: `${ref.namespace}/${ref.name}`, code },
          'settings ConfigMap watch failed; retrying',
        );
        handlers.onError(message);
        setTimeout(() => void run(Math.min(delay * 2, RESTART_MAX_MS)), delay).unref?.();
      }
    };
    void run(RESTART_MIN_MS);
    return {
      stop() {
        stopped = true;
        abort?.abort();
      },
    };
  };
}
