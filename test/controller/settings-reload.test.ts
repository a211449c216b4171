/**
 * The settings reload state machine (docs/hot-reload.md) with a fake ConfigMap source: start/stop/move of
 * the watch as SMCs gain or lose hotReload, whole-change validation, atomic swap, deleted ConfigMap
 * → environment/defaults, restart-only keys, status/Event/metric reports, and no value ever leaking.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { startStatusServer } from '../../src/observability/status-server.js';
import { describe, expect, it } from 'vitest';
import type { EventTarget, SmcEvent } from '../../src/controller/runtime/events.js';
import { type Settings, type SettingKey, parseSettings } from '../../src/controller/settings.js';
import {
  type ConfigMapReloadStatus,
  type HotReloadTarget,
  SettingsReloader,
} from '../../src/controller/settings-reload.js';
import type {
  ConfigMapRef,
  ConfigMapSnapshot,
  SettingsSourceHandlers,
} from '../../src/controller/settings-source.js';

interface Harness {
  reloader: SettingsReloader;
  watches: { ref: ConfigMapRef; handlers: SettingsSourceHandlers; stopped: boolean }[];
  applied: { next: Settings; changed: readonly SettingKey[] }[];
  counts: Record<string, number>;
  reports: { target: EventTarget; status: ConfigMapReloadStatus; event: SmcEvent | undefined }[];
  logs: string[];
  /** Latest ConfigMap state on the live watch. */
  push(state: ConfigMapSnapshot | undefined): Promise<void>;
}

function harness(env: Record<string, string> = {}): Harness {
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void logs.push(l) });
  const h: Omit<Harness, 'reloader' | 'push'> = { watches: [], applied: [], counts: {}, reports: [], logs };
  const initial = parseSettings(env).settings!;
  const reloader = new SettingsReloader({
    env,
    initial,
    controllerNamespace: 'ctrl',
    defaultConfigMapName: 'secret-manager-controller-config',
    source: (ref, handlers) => {
      const w = { ref, handlers, stopped: false };
      h.watches.push(w);
      return { stop: () => void (w.stopped = true) };
    },
    logger,
    countReload: (r) => void (h.counts[r] = (h.counts[r] ?? 0) + 1),
    apply: (next, changed) => void h.applied.push({ next, changed }),
    report: async (target, status, event) => void h.reports.push({ target, status, event }),
    now: () => new Date('2026-01-02T03:04:05Z'),
  });
  return {
    ...h,
    reloader,
    async push(state) {
      const live = h.watches.filter((w) => !w.stopped);
      expect(live).toHaveLength(1);
      live[0]!.handlers.onState(state);
      await reloader.settled();
    },
  };
}

const smc = (
  name: string,
  hotReload?: HotReloadTarget['hotReload'],
  namespace = 'team',
): HotReloadTarget => ({
  namespace,
  name,
  uid: `uid-${name}`,
  hotReload,
});
const cm = (resourceVersion: string, data: Record<string, string>): ConfigMapSnapshot => ({
  resourceVersion,
  data,
});

describe('SettingsReloader', () => {
  it('watches only while some SMC has hotReload enabled, and follows the named ConfigMap', () => {
    const h = harness();
    h.reloader.setTargets([smc('a'), smc('b', { enabled: false })]);
    expect(h.watches).toHaveLength(0);
    h.reloader.setTargets([smc('a'), smc('b', { enabled: true })]);
    expect(h.watches.map((w) => w.ref)).toEqual([
      { namespace: 'ctrl', name: 'secret-manager-controller-config' },
    ]);
    // Another SMC enabling it too: the same watch.
    h.reloader.setTargets([smc('a', { enabled: true }), smc('b', { enabled: true })]);
    expect(h.watches).toHaveLength(1);
    // The first enabled SMC names another ConfigMap: the watch moves.
    h.reloader.setTargets([
      smc('a', { enabled: true, configMapName: 'other', configMapNamespace: 'cfg' }),
      smc('b', { enabled: true }),
    ]);
    expect(h.watches).toHaveLength(2);
    expect(h.watches[0]!.stopped).toBe(true);
    expect(h.watches[1]!.ref).toEqual({ namespace: 'cfg', name: 'other' });
    // Nobody left: the watch stops.
    h.reloader.setTargets([smc('a', { enabled: false })]);
    expect(h.watches[1]!.stopped).toBe(true);
    expect(h.reloader.watching).toBeUndefined();
  });

  it('applies a valid change whole and live, reports it, and counts it', async () => {
    const h = harness();
    h.reloader.setTargets([smc('a', { enabled: true }), smc('b', { enabled: true }), smc('c')]);
    await h.push(cm('10', { max_concurrent_reconciles: '9', log_level: 'debug', provider_max_rps: '3' }));
    expect(h.applied).toHaveLength(1);
    expect([...h.applied[0]!.changed].sort()).toEqual([
      'log_level',
      'max_concurrent_reconciles',
      'provider_max_rps',
    ]);
    expect(h.reloader.current.max_concurrent_reconciles).toBe(9);
    expect(h.reloader.current.log_level).toBe('debug');
    expect(h.counts).toEqual({ applied: 1 });
    const last = h.reports.filter((r) => r.event);
    expect(last.map((r) => r.target.name).sort()).toEqual(['a', 'b']);
    expect(last[0]!.event).toMatchObject({ type: 'Normal', reason: 'ConfigReloaded' });
    expect(last[0]!.status).toEqual({
      name: 'secret-manager-controller-config',
      namespace: 'ctrl',
      resourceVersion: '10',
      appliedAt: '2026-01-02T03:04:05Z',
      lastError: undefined,
    });
    expect(h.logs.join('')).toContain('"msg":"settings applied"');
  });

  it('refuses an invalid change whole: old settings stay; status, Event and metric say which key, never the value', async () => {
    const h = harness();
    h.reloader.setTargets([smc('a', { enabled: true })]);
    await h.push(cm('10', { max_concurrent_reconciles: '8' }));
    const before = h.reloader.current;
    await h.push(
      cm('11', { max_concurrent_reconciles: '2', log_level: 'SUPERSECRETVALUE', backoff_max_ms: 'hunter2' }),
    );
    expect(h.reloader.current).toBe(before);
    expect(h.reloader.current.max_concurrent_reconciles).toBe(8);
    expect(h.applied).toHaveLength(1);
    expect(h.counts).toEqual({ applied: 1, rejected: 1 });
    const r = h.reports.at(-1)!;
    expect(r.event).toMatchObject({ type: 'Warning', reason: 'ConfigRejected' });
    expect(r.event!.message).toContain('log_level');
    expect(r.event!.message).toContain('backoff_max_ms');
    expect(r.status.resourceVersion).toBe('10'); // what is still running
    expect(r.status.lastError).toMatch(/log_level.*must be one of/);
    expect(r.status.lastError).toContain('backoff_max_ms');
    const everything = JSON.stringify(h.reports) + h.logs.join('');
    expect(everything).not.toContain('SUPERSECRETVALUE');
    expect(everything).not.toContain('hunter2');
    // An unknown key is refused too (a typo must not pass silently).
    await h.push(cm('12', { max_concurent_reconciles: '3' }));
    expect(h.reloader.current.max_concurrent_reconciles).toBe(8);
    expect(h.reports.at(-1)!.status.lastError).toContain('max_concurent_reconciles');
    // Fixed: applied, and lastError cleared.
    await h.push(cm('13', { max_concurrent_reconciles: '3' }));
    expect(h.reloader.current.max_concurrent_reconciles).toBe(3);
    expect(h.reports.at(-1)!.status.lastError).toBeUndefined();
    expect(h.reports.at(-1)!.event?.reason).toBe('ConfigReloaded');
  });

  it('goes back to environment/defaults when the ConfigMap is deleted (counted as applied)', async () => {
    const h = harness({ LOG_LEVEL: 'warn' });
    h.reloader.setTargets([smc('a', { enabled: true })]);
    await h.push(cm('10', { log_level: 'debug', max_concurrent_reconciles: '7' }));
    await h.push(undefined);
    expect(h.reloader.current.log_level).toBe('warn'); // environment
    expect(h.reloader.current.max_concurrent_reconciles).toBe(4); // default
    expect(h.counts).toEqual({ applied: 2 });
    const r = h.reports.at(-1)!;
    expect(r.event?.message).toContain('deleted');
    expect(r.status.resourceVersion).toBeUndefined();
  });

  it('ignores a relist repeating the same state, and applies nothing for an identical ConfigMap', async () => {
    const h = harness();
    h.reloader.setTargets([smc('a', { enabled: true })]);
    await h.push(cm('10', {}));
    await h.push(cm('10', {}));
    expect(h.counts).toEqual({ applied: 1 });
    expect(h.applied[0]!.changed).toEqual([]);
    expect(h.reports.filter((r) => r.event)).toHaveLength(0); // nothing changed: no Event
    expect(h.reports.at(-1)!.status.resourceVersion).toBe('10');
  });

  it('keeps restart-only settings running as they are and says so', async () => {
    const h = harness();
    h.reloader.setTargets([smc('a', { enabled: true })]);
    await h.push(cm('10', { metrics_port: '9999', watch_namespaces: 'x', max_concurrent_reconciles: '2' }));
    expect(h.reloader.current.metrics_port).toBe(5000);
    expect(h.reloader.current.watch_namespaces).toEqual([]);
    expect(h.reloader.current.max_concurrent_reconciles).toBe(2);
    expect(h.applied[0]!.changed).toEqual(['max_concurrent_reconciles']);
    expect(h.reports.at(-1)!.event?.message).toMatch(/needs a restart.*metrics_port/);
    expect(h.logs.join('')).toContain('take effect only after a restart');
  });

  it('tells SMCs naming another ConfigMap that it is not watched, and new SMCs the current state', async () => {
    const h = harness();
    h.reloader.setTargets([smc('a', { enabled: true })]);
    await h.push(cm('10', { max_concurrent_reconciles: '5' }));
    h.reloader.setTargets([
      smc('a', { enabled: true }),
      smc('b', { enabled: true, configMapName: 'mine' }),
      smc('c', { enabled: true }),
    ]);
    await h.reloader.settled();
    const b = h.reports.filter((r) => r.target.name === 'b').at(-1)!;
    expect(b.status.lastError).toContain('not watched');
    const c = h.reports.filter((r) => r.target.name === 'c').at(-1)!;
    expect(c.status).toMatchObject({ resourceVersion: '10', lastError: undefined });
    expect(c.event).toBeUndefined();
  });

  it('records a watch error in status without changing the settings', async () => {
    const h = harness();
    h.reloader.setTargets([smc('a', { enabled: true })]);
    h.watches[0]!.handlers.onError(
      'watching ConfigMap ctrl/secret-manager-controller-config failed (HTTP 403)',
    );
    await h.reloader.settled();
    expect(h.reports.at(-1)!.status.lastError).toContain('HTTP 403');
    expect(h.applied).toHaveLength(0);
  });

  it('metrics_enabled toggles /metrics live (the server asks on each request)', async () => {
    let enabled = true;
    const registry = new Registry();
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      registry: () => (enabled ? registry : undefined),
    });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(200);
      enabled = false;
      expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
