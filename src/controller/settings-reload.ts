/**
 * Controller-level hot reload (docs/hot-reload.md). While any SecretManagerConfig has
 * `spec.hotReload.enabled`, the settings ConfigMap it names is watched; each new state is parsed
 * and validated whole (`parseSettings(env, data)`) and then either swapped in at once or refused
 * at once (the running settings stay). A deleted ConfigMap means environment/defaults. Each outcome
 * is logged, counted (`config_reloads_total{result="applied"|"rejected"}`), announced with an Event
 * (`ConfigReloaded` / `ConfigRejected`) and recorded in `status.hotReload.configMap` of every SMC
 * that has hot reload enabled. Nothing here ever logs or records a refused value.
 *
 * One controller runs one set of settings, so it follows one ConfigMap: the one named by the first
 * enabled SMC in `namespace/name` order. SMCs naming another are told so in their status.
 */
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '../kube/client-node.js';
import { API_GROUP, API_VERSION_NAME, PLURAL } from '../api/index.js';
import type { Logger } from '../observability/logger.js';
import type { EventRecorder, EventTarget, SmcEvent } from './runtime/events.js';
import {
  RESTART_ONLY_SETTINGS,
  type SettingKey,
  type Settings,
  changedSettings,
  parseSettings,
} from './settings.js';
import type { ConfigMapRef, ConfigMapSnapshot, SettingsSource } from './settings-source.js';
import { rfc3339 } from './status.js';

/**
 * Settings read once when the controller starts (the objects built from them are not rebuilt
 * live): a change is reported as needing a restart and the running value stays.
 */
export const NOT_LIVE_SETTINGS: readonly SettingKey[] = [
  ...RESTART_ONLY_SETTINGS,
  'log_format',
  'watch_namespaces',
  'no_cross_namespace_refs',
  'controller_key_namespaces',
  'shard_key',
];

/** An SMC as far as hot reload cares. */
export interface HotReloadTarget extends EventTarget {
  hotReload?: { enabled?: boolean; configMapName?: string; configMapNamespace?: string };
}

/** `status.hotReload.configMap`; `undefined` fields are cleared. */
export interface ConfigMapReloadStatus {
  name: string;
  namespace: string;
  resourceVersion: string | undefined;
  appliedAt: string | undefined;
  lastError: string | undefined;
}

export interface SettingsReloaderOptions {
  /** The environment the settings are overlaid on (`process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The settings running now. */
  initial: Settings;
  /** Default `configMapNamespace`. */
  controllerNamespace: string;
  defaultConfigMapName: string;
  source: SettingsSource;
  logger: Logger;
  countReload(result: 'applied' | 'rejected'): void;
  /** Make `next` the running settings (`changed`: the keys that differ, all live). */
  apply(next: Settings, changed: readonly SettingKey[]): void;
  /** Write `status.hotReload.configMap` of one SMC and record the Event, if any. Best effort. */
  report(target: EventTarget, status: ConfigMapReloadStatus, event: SmcEvent | undefined): Promise<void>;
  now?: () => Date;
}

type Seen = { kind: 'none' } | { kind: 'absent' } | { kind: 'present'; resourceVersion: string };

export class SettingsReloader {
  private settings: Settings;
  private readonly targets = new Map<string, HotReloadTarget>();
  private watched: { ref: ConfigMapRef; key: string; handle: { stop(): void } } | undefined;
  private seen: Seen = { kind: 'none' };
  /** What the followers' status says now (without name/namespace). */
  private state: Omit<ConfigMapReloadStatus, 'name' | 'namespace'> = {
    resourceVersion: undefined,
    appliedAt: undefined,
    lastError: undefined,
  };
  /** What each SMC was last told (`key` → JSON), to write only changes. */
  private readonly told = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: SettingsReloaderOptions) {
    this.settings = o.initial;
  }

  /** The running settings. */
  get current(): Settings {
    return this.settings;
  }

  /** The ConfigMap followed now (undefined: hot reload is off). */
  get watching(): ConfigMapRef | undefined {
    return this.watched?.ref;
  }

  /** Reports written so far are done (tests). */
  async settled(): Promise<void> {
    let c: Promise<void>;
    do {
      c = this.chain;
      await c;
    } while (c !== this.chain);
  }

  /** Every SMC the controller sees (call again on each change); starts/stops/moves the watch. */
  setTargets(all: readonly HotReloadTarget[]): void {
    if (this.stopped) return;
    this.targets.clear();
    for (const t of all) if (t.hotReload?.enabled) this.targets.set(`${t.namespace}/${t.name}`, t);
    for (const k of [...this.told.keys()]) if (!this.targets.has(k)) this.told.delete(k);
    const ordered = [...this.targets.keys()].sort();
    const first = ordered.length ? this.targets.get(ordered[0]!) : undefined;
    const ref = first ? this.refOf(first) : undefined;
    const key = ref ? `${ref.namespace}/${ref.name}` : undefined;
    if (this.watched && this.watched.key !== key) {
      this.watched.handle.stop();
      this.o.logger.info(
        { configMap: this.watched.key },
        key
          ? 'hot reload: following another settings ConfigMap'
          : 'hot reload off: settings stay as they are',
      );
      this.watched = undefined;
      this.seen = { kind: 'none' };
      this.state = { resourceVersion: undefined, appliedAt: undefined, lastError: undefined };
    }
    if (ref && key && !this.watched) {
      this.o.logger.info(
        { configMap: key, smc: ordered[0] },
        'hot reload on: watching the settings ConfigMap',
      );
      const handle = this.o.source(ref, {
        onState: (s) => this.onState(key, s),
        onError: (message) => {
          if (this.watched?.key !== key) return;
          this.state = { ...this.state, lastError: message };
          this.tellAll(undefined);
        },
      });
      this.watched = { ref, key, handle };
    }
    this.tellAll(undefined);
  }

  /** Stop watching (the controller is stopping). */
  stop(): void {
    this.stopped = true;
    this.watched?.handle.stop();
    this.watched = undefined;
  }

  private refOf(t: HotReloadTarget): ConfigMapRef {
    return {
      namespace: t.hotReload?.configMapNamespace || this.o.controllerNamespace,
      name: t.hotReload?.configMapName || this.o.defaultConfigMapName,
    };
  }

  private onState(key: string, s: ConfigMapSnapshot | undefined): void {
    if (this.stopped || this.watched?.key !== key) return;
    const seen: Seen = s ? { kind: 'present', resourceVersion: s.resourceVersion } : { kind: 'absent' };
    if (JSON.stringify(seen) === JSON.stringify(this.seen)) return; // a relist repeating a state
    const first = this.seen.kind === 'none';
    this.seen = seen;
    const parsed = parseSettings(this.o.env, s?.data ?? {});
    const now = rfc3339((this.o.now ?? (() => new Date()))());
    const where = { configMap: key, resourceVersion: s?.resourceVersion };
    if (!parsed.settings) {
      const log = this.o.logger.child(where);
      const keys = [...new Set(parsed.errors.map((e) => e.key))];
      const lastError =
        `refused, running settings kept: ${parsed.errors.map((e) => e.message).join('; ')}`.slice(0, 4096);
      this.o.countReload('rejected');
      log.warn({ keys, errors: parsed.errors.map((e) => e.message) }, 'settings change refused');
      this.state = { ...this.state, lastError };
      this.tellAll({
        type: 'Warning',
        reason: 'ConfigRejected',
        message: `settings ConfigMap ${key} refused (invalid: ${keys.join(', ')}); running settings kept`,
      });
      return;
    }
    const before = this.settings;
    const next: Settings = { ...parsed.settings };
    const changed = changedSettings(before, next);
    const notLive = changed.filter((k) => NOT_LIVE_SETTINGS.includes(k));
    for (const k of notLive) (next as Record<string, unknown>)[k] = before[k];
    const live = changed.filter((k) => !notLive.includes(k));
    this.settings = next;
    this.o.apply(next, live);
    this.o.countReload('applied');
    // Made after the swap, so these lines carry the new settings' context.
    const log = this.o.logger.child(where);
    log.debug({ max_concurrent_reconciles: next.max_concurrent_reconciles }, 'running settings');
    const applied = Object.fromEntries(live.map((k) => [k, next[k]]));
    log.info(
      { changed: live, applied, ...(notLive.length ? { needsRestart: notLive } : {}) },
      'settings applied',
    );
    if (notLive.length)
      log.warn(
        { keys: notLive },
        'settings changed that take effect only after a restart; running values kept',
      );
    const hadError = this.state.lastError !== undefined;
    this.state = { resourceVersion: s?.resourceVersion, appliedAt: now, lastError: undefined };
    const what = s
      ? `settings ConfigMap ${key} (resourceVersion ${s.resourceVersion}) applied`
      : `settings ConfigMap ${key} deleted: settings are back to the environment and defaults`;
    const detail = `${live.length ? `; changed: ${live.join(', ')}` : '; nothing changed'}${
      notLive.length ? `; needs a restart (not applied): ${notLive.join(', ')}` : ''
    }`;
    const announce = live.length > 0 || notLive.length > 0 || hadError || (!first && !s);
    this.tellAll(
      announce ? { type: 'Normal', reason: 'ConfigReloaded', message: `${what}${detail}` } : undefined,
    );
  }

  /** Bring every enabled SMC's status up to date; `event` goes to the followers of the watched ConfigMap. */
  private tellAll(event: SmcEvent | undefined): void {
    for (const [k, t] of this.targets) {
      const ref = this.refOf(t);
      const follows = this.watched !== undefined && `${ref.namespace}/${ref.name}` === this.watched.key;
      const status: ConfigMapReloadStatus = follows
        ? { ...ref, ...this.state }
        : {
            ...ref,
            resourceVersion: undefined,
            appliedAt: undefined,
            lastError: `not watched: this controller follows one settings ConfigMap, ${this.watched?.key ?? 'none'}`,
          };
      const json = JSON.stringify(status);
      const ev = follows ? event : undefined;
      if (!ev && this.told.get(k) === json) continue;
      this.told.set(k, json);
      this.chain = this.chain
        .then(() => this.o.report({ namespace: t.namespace, name: t.name, uid: t.uid }, status, ev))
        .catch((e: unknown) => this.o.logger.warn({ smc: k, err: e }, 'hot reload status not recorded'));
    }
  }
}

/**
 * `report` for the real cluster: one merge patch of `status.hotReload.configMap` (cleared fields
 * sent as null) through the status subresource, then the Event. Never throws.
 */
export function kubernetesReport(
  kubeConfig: KubeConfig,
  events: Pick<EventRecorder, 'record'>,
  logger: Logger,
): SettingsReloaderOptions['report'] {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (target, status, event) => {
    const configMap = Object.fromEntries(Object.entries(status).map(([k, v]) => [k, v ?? null]));
    try {
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: API_GROUP,
          version: API_VERSION_NAME,
          namespace: target.namespace,
          plural: PLURAL,
          name: target.name,
          body: { status: { hotReload: { configMap } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== 404)
        logger.warn({ smc: `${target.namespace}/${target.name}`, code }, 'hot reload status not written');
    }
    if (event) await events.record(target, event);
  };
}
