/**
 * Per-SMC log levels (docs/crd-reference.md `logging`, docs/observability.md): area loggers filter by their own level whatever
 * the controller's, areas without one follow the controller's level (live, through the cache),
 * the per-entry and per-step lines carry names only — a canary value never reaches the output.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LOGGING_AREAS } from '../../src/api/index.js';
import { SmcError } from '../../src/errors.js';
import {
  type ReconcileSteps,
  SmcLoggerCache,
  areaOfReason,
  createLogger,
  entryLoggingStore,
  logStep,
  loggingLevels,
  setLogLevel,
  smcLogger,
  stageLogHook,
  type ControllerLogLevel,
} from '../../src/observability/logger.js';
import type { Action } from '../../src/plan/actions.js';
import type { SecretStore } from '../../src/stores/store.js';

const CANARY = `smclog${randomBytes(8).toString('hex')}q`;

interface Rec {
  level: string;
  msg: string;
  smc?: string;
  area?: string;
  [k: string]: unknown;
}

function capture(level: ControllerLogLevel = 'info') {
  const chunks: string[] = [];
  const destination = new Writable({
    write(c: Buffer | string, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  const logger = createLogger({ level, destination });
  const text = () => chunks.join('');
  const records = () =>
    text()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Rec);
  return { logger, text, records };
}

const SMC = { namespace: 'team-a', name: 'app', uid: 'uid-1' };

/** One line at each level in every area; returns `area:level` of what got through. */
function emitAll(log: ReturnType<typeof smcLogger>, records: () => Rec[]): string[] {
  const before = records().length;
  for (const area of LOGGING_AREAS) {
    const l = log.area(area);
    l.debug('d');
    l.info('i');
    l.warn('w');
    l.error('e');
  }
  return records()
    .slice(before)
    .map((r) => `${r.area}:${r.level}`);
}

describe('per-area levels', () => {
  it('DEBUG areas print debug under an info controller, ERROR areas drop info and warn', () => {
    const { logger, records } = capture('info');
    const log = smcLogger(logger, SMC, {
      reconciliation: 'DEBUG',
      secrets: 'DEBUG',
      sops: 'ERROR',
      git: 'WARN',
    });
    const got = emitAll(log, records);
    expect(got.filter((g) => g.startsWith('reconciliation:'))).toEqual([
      'reconciliation:debug',
      'reconciliation:info',
      'reconciliation:warn',
      'reconciliation:error',
    ]);
    expect(got.filter((g) => g.startsWith('secrets:'))).toHaveLength(4);
    expect(got.filter((g) => g.startsWith('sops:'))).toEqual(['sops:error']);
    expect(got.filter((g) => g.startsWith('git:'))).toEqual(['git:warn', 'git:error']);
    // Unset areas: the controller's info.
    expect(got.filter((g) => g.startsWith('provider:'))).toEqual([
      'provider:info',
      'provider:warn',
      'provider:error',
    ]);
    expect(records().every((r) => r.smc === 'team-a/app')).toBe(true);
  });

  it('an explicit INFO area stays at info under a debug controller', () => {
    const { logger, records } = capture('debug');
    const got = emitAll(smcLogger(logger, SMC, { kustomize: 'INFO' }), records);
    expect(got.filter((g) => g.startsWith('kustomize:'))).toEqual([
      'kustomize:info',
      'kustomize:warn',
      'kustomize:error',
    ]);
    expect(got).toContain('diffDiscovery:debug');
  });

  it('an area set to the level the controller had keeps it when the controller level changes', () => {
    const { logger, records } = capture('info');
    const log = smcLogger(logger, SMC, { secrets: 'INFO' });
    setLogLevel(logger, 'debug');
    log.area('secrets').debug('hidden: secrets at INFO');
    log.area('provider').debug('shown: provider follows the controller');
    setLogLevel(logger, 'error');
    log.area('secrets').info('shown: secrets at INFO');
    log.area('provider').warn('hidden: provider follows the controller');
    expect(records().map((r) => r.msg)).toEqual([
      'shown: provider follows the controller',
      'shown: secrets at INFO',
    ]);
  });

  it('an SMC without logging is at the controller level in every area', () => {
    const { logger, records } = capture('warn');
    const got = emitAll(smcLogger(logger, SMC), records);
    expect(got).toHaveLength(LOGGING_AREAS.length * 2);
    expect(got.every((g) => g.endsWith(':warn') || g.endsWith(':error'))).toBe(true);
  });

  it('keeps only valid levels of a raw spec.logging', () => {
    expect(loggingLevels(undefined)).toBeUndefined();
    expect(loggingLevels('DEBUG')).toBeUndefined();
    expect(loggingLevels({ sops: 'LOUD', git: 'debug', other: 'DEBUG' })).toBeUndefined();
    expect(loggingLevels({ sops: 'ERROR', git: 7, secrets: 'DEBUG' })).toEqual({
      sops: 'ERROR',
      secrets: 'DEBUG',
    });
  });
});

describe('SmcLoggerCache', () => {
  it('keeps one SmcLogger while nothing changes, a new one on a spec, uid or level change', () => {
    const { logger } = capture('info');
    const cache = new SmcLoggerCache();
    const a = cache.get(logger, SMC, { secrets: 'DEBUG' });
    expect(cache.get(logger, SMC, { secrets: 'DEBUG' })).toBe(a);
    const b = cache.get(logger, SMC, { secrets: 'ERROR' });
    expect(b).not.toBe(a);
    const c = cache.get(logger, { ...SMC, uid: 'uid-2' }, { secrets: 'ERROR' });
    expect(c).not.toBe(b);
    setLogLevel(logger, 'debug');
    const d = cache.get(logger, { ...SMC, uid: 'uid-2' }, { secrets: 'ERROR' });
    expect(d).not.toBe(c);
    expect(cache.size).toBe(1);
    cache.get(logger, { ...SMC, name: 'other' }, undefined);
    expect(cache.size).toBe(2);
    cache.forget(SMC.namespace, SMC.name);
    expect(cache.size).toBe(1);
  });

  it('areas without a level follow a live log_level change; explicit areas keep theirs', () => {
    const { logger, records } = capture('info');
    const cache = new SmcLoggerCache();
    const logging = { secrets: 'ERROR' };
    cache.get(logger, SMC, logging).area('provider').debug('hidden at info');
    cache.get(logger, SMC, logging).area('secrets').warn('hidden: secrets at ERROR');
    setLogLevel(logger, 'debug');
    cache.get(logger, SMC, logging).area('provider').debug('shown at debug');
    cache.get(logger, SMC, logging).area('secrets').warn('still hidden');
    setLogLevel(logger, 'warn');
    cache.get(logger, SMC, logging).area('provider').info('hidden at warn');
    cache.get(logger, SMC, logging).area('provider').warn('shown at warn');
    expect(records().map((r) => r.msg)).toEqual(['shown at debug', 'shown at warn']);
  });
});

describe('reconcile lines', () => {
  function store(): SecretStore & { applied: Action[] } {
    const applied: Action[] = [];
    return {
      type: 'gcp',
      target: 'project p1',
      naming: {} as SecretStore['naming'],
      limits: {} as SecretStore['limits'],
      applied,
      read: () => Promise.resolve([]),
      apply: (_owner, actions) => {
        applied.push(...actions);
        return Promise.resolve(
          actions.map((action) =>
            action.storeName === 'broken'
              ? { action, ok: false, wrote: false, message: 'permission denied on broken' }
              : { action, ok: true, wrote: action.type !== 'noop', version: '3' },
          ),
        );
      },
    };
  }
  const actions: Action[] = [
    {
      type: 'create',
      cause: 'missing',
      key: 'API_KEY',
      storeName: 'app-api-key',
      kind: 'secret',
      value: CANARY,
      reason: 'new',
    },
    { type: 'noop', key: 'DB_URL', storeName: 'app-db-url', kind: 'secret', reason: 'unchanged' },
    {
      type: 'update',
      cause: 'changed',
      key: 'timeout',
      storeName: 'app-timeout',
      kind: 'config',
      value: CANARY,
      reason: 'value changed',
    },
    {
      type: 'update',
      cause: 'changed',
      key: 'X',
      storeName: 'broken',
      kind: 'secret',
      value: CANARY,
      reason: 'value changed',
    },
  ];

  it('per-entry debug lines name key, store name, action and result, never the value', async () => {
    const { logger, records, text } = capture('info');
    const log = smcLogger(logger, SMC, { secrets: 'DEBUG' });
    const inner = store();
    const wrapped = entryLoggingStore(inner, log);
    expect([wrapped.type, wrapped.target]).toEqual(['gcp', 'project p1']);
    const results = await wrapped.apply({ namespace: 'team-a', name: 'app' }, actions);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(inner.applied).toHaveLength(4);
    const lines = records().filter((r) => r.msg === 'entry applied');
    // secrets at DEBUG: the three secret entries; properties at the controller's info: none.
    expect(lines.map((r) => [r.area, r.key, r.storeName, r.store, r.action, r.result])).toEqual([
      ['secrets', 'API_KEY', 'app-api-key', 'gcp', 'create', 'ok'],
      ['secrets', 'DB_URL', 'app-db-url', 'gcp', 'noop', 'ok'],
      ['secrets', 'X', 'broken', 'gcp', 'update', 'failed'],
    ]);
    expect(lines[2]!.message).toBe('permission denied on broken');
    expect(text()).not.toContain(CANARY);
  });

  it('properties at DEBUG log config entries', async () => {
    const { logger, records, text } = capture('info');
    const wrapped = entryLoggingStore(store(), smcLogger(logger, SMC, { properties: 'DEBUG' }));
    await wrapped.apply({ namespace: 'team-a', name: 'app' }, actions);
    expect(records().map((r) => [r.area, r.storeName])).toEqual([['properties', 'app-timeout']]);
    expect(text()).not.toContain(CANARY);
  });

  it('steps and stages log in their area; the first failed step is remembered', async () => {
    const { logger, records, text } = capture('info');
    const steps: ReconcileSteps = {
      log: smcLogger(logger, SMC, { sops: 'DEBUG', kustomize: 'DEBUG', git: 'DEBUG' }),
    };
    await logStep(steps, 'git', 'artifact fetch', { revision: 'main@sha1:abc' }, async () => 'ok');
    const hook = stageLogHook(steps);
    const failing = hook('kustomize', { path: 'overlays/dev' }, () =>
      hook('decrypt', { file: 'overlays/dev/dev.enc.env' }, () =>
        Promise.reject(new SmcError('SopsMacMismatch', `MAC mismatch (not ${CANARY})`)),
      ),
    );
    await expect(failing).rejects.toThrow(SmcError);
    // The reconciliation area (render) is at info: its debug line is dropped.
    await hook('render', { mode: 'raw' }, async () => 1);
    expect(steps.failedIn).toBe('sops');
    expect(records().map((r) => [r.area, r.msg, r.reason ?? null])).toEqual([
      ['git', 'artifact fetch done', null],
      ['sops', 'SOPS decryption failed', 'SopsMacMismatch'],
      ['kustomize', 'kustomize build failed', 'SopsMacMismatch'],
    ]);
    expect(records()[1]).toMatchObject({ file: 'overlays/dev/dev.enc.env', smc: 'team-a/app' });
    // Error messages are not logged (they could quote anything), only codes.
    expect(text()).not.toContain(CANARY);
  });

  it('maps failure reasons to areas', () => {
    expect(
      [
        'SopsWrongKey',
        'KustomizeFailed',
        'GitAuthFailed',
        'SourceNotReady',
        'ArtifactFetchFailed',
        'UnsafeArchive',
      ].map(areaOfReason),
    ).toEqual(['sops', 'kustomize', 'git', 'git', 'git', 'git']);
    expect(['ProviderAuthFailed', 'PartialFailure', 'Throttled', 'StoreError'].map(areaOfReason)).toEqual([
      'provider',
      'provider',
      'provider',
      'provider',
    ]);
    expect(['InvalidSpec', 'ParseError', 'ReconcileError', 'AccessDenied'].map(areaOfReason)).toEqual([
      'reconciliation',
      'reconciliation',
      'reconciliation',
      'reconciliation',
    ]);
  });
});
