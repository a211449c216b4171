/**
 * The controller's one logger: pino, JSON lines (or a plain `text` rendering of the same record),
 * the level from the `log_level` setting, one child per SecretManagerConfig with that SMC's
 * per-area `logging` levels, and redaction of every value-like field — the one place where log
 * output is masked, so a value handed to a log call by mistake never reaches the output.
 */
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { isSmcError, isSourceError } from '../errors.js';
import type { StageHook } from '../sync.js';
import type { SecretStore } from '../stores/store.js';
import {
  LOG_LEVELS,
  LOGGING_AREAS,
  type LoggingArea,
  type LoggingSpec,
  type LogLevel,
} from '../api/index.js';

export type { Logger } from 'pino';

/** Levels the `log_level` setting accepts (pino's names, lowercase). */
export const CONTROLLER_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type ControllerLogLevel = (typeof CONTROLLER_LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What replaces a redacted field. */
export const REDACTED = '[REDACTED]';

const SENSITIVE_FIELDS = [
  'value',
  'values',
  'password',
  'passphrase',
  'token',
  'secret',
  'data',
  'stringData',
  'credentials',
  'privateKey',
  'sshPrivateKey',
  'identity',
  'ageKey',
  'clientSecret',
  'secretAccessKey',
  'sessionToken',
  'apiKey',
  'authorization',
  'cookie',
];

/**
 * pino `redact` paths: every sensitive field at the top level, one and two levels down, and in
 * arrays of records (`entries[*].value`). fast-redact has no recursive wildcard, so deeper nesting
 * is not covered: log identifiers (keys, names, files), never whole objects that carry values.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SENSITIVE_FIELDS,
  ...SENSITIVE_FIELDS.map((f) => `*.${f}`),
  ...SENSITIVE_FIELDS.map((f) => `*.*.${f}`),
  ...SENSITIVE_FIELDS.map((f) => `*[*].${f}`),
  ...SENSITIVE_FIELDS.map((f) => `*.*[*].${f}`),
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'headers.Authorization',
];

export interface LoggerOptions {
  /** Default `info`. */
  level?: ControllerLogLevel;
  /** Default `json`. */
  format?: LogFormat;
  /** Where lines go; default stdout (synchronous, so nothing is lost on exit). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Fields on every line; default `{ component: 'secret-manager-controller' }`. */
  base?: Record<string, unknown>;
}

/** The root logger of the controller process. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'json';
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { component: 'secret-manager-controller' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'text' ? textStream(out) : out,
  );
}

/**
 * Change the root level at runtime (hot reload of `log_level`). A pino child made without a level
 * of its own reads its parent's through its prototype, so it follows; one with its own level keeps
 * it (SmcLogger areas set in `spec.logging`).
 */
export function setLogLevel(logger: Logger, level: ControllerLogLevel): void {
  logger.level = level;
}

const SPEC_LEVEL: Record<LogLevel, Level> = { ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug' };

/** The pino level for an SMC `logging` level (`'WARN'` → `'warn'`). */
export function pinoLevel(level: LogLevel): Level {
  return SPEC_LEVEL[level];
}

/** Log lines of one SecretManagerConfig, split by the `logging` areas of its spec. */
export interface SmcLogger {
  /** The SMC's logger (bindings `smc: "<namespace>/<name>"`), at the controller's level. */
  readonly logger: Logger;
  /** The logger of one area, at the level the SMC's `spec.logging` sets for it (else the controller's). */
  area(area: LoggingArea): Logger;
}

/**
 * A child logger for one SMC. Area loggers are created once per call of this function: an area
 * `spec.logging` sets gets that level as its own (lower or higher than the root's: a pino child
 * filters by its own level, and the destination takes every line); the others have none and follow
 * the root's level, live. Create a new SmcLogger when the SMC's `spec.logging` changes
 * (`SmcLoggerCache` does).
 */
export function smcLogger(
  root: Logger,
  smc: { namespace: string; name: string },
  logging: LoggingSpec | undefined = undefined,
): SmcLogger {
  const logger = root.child({ smc: `${smc.namespace}/${smc.name}` });
  const areas = new Map<LoggingArea, Logger>();
  for (const area of LOGGING_AREAS) {
    const level = logging?.[area];
    const child = logger.child({ area });
    // Set after creation: pino gives a child its own level only when it differs from the parent's
    // at that moment, and an area at INFO under an info root must stay at INFO when the root moves.
    if (level) child.level = pinoLevel(level);
    areas.set(area, child);
  }
  return {
    logger,
    area: (area) => areas.get(area) ?? logger.child({ area }),
  };
}

/**
 * The valid part of a `spec.logging` as read from the API server (untyped): the areas set to one
 * of ERROR/WARN/INFO/DEBUG; anything else is ignored (the area follows the controller's level).
 */
export function loggingLevels(raw: unknown): LoggingSpec | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const out: LoggingSpec = {};
  for (const area of LOGGING_AREAS) {
    const level = (raw as Record<string, unknown>)[area];
    if (typeof level === 'string' && (LOG_LEVELS as readonly string[]).includes(level))
      out[area] = level as LogLevel;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * One SmcLogger per SecretManagerConfig (`namespace/name`), kept while its uid, its `spec.logging`
 * and the root logger's level stay the same; any change makes a new one on the next `get`, so a
 * spec edit applies from the next reconcile and areas without a level follow a live `log_level`.
 */
export class SmcLoggerCache {
  private readonly byName = new Map<string, { fingerprint: string; log: SmcLogger }>();

  /** The SmcLogger of `smc` under `root` with `logging` (the raw `spec.logging`). */
  get(root: Logger, smc: { namespace: string; name: string; uid?: string }, logging: unknown): SmcLogger {
    const levels = loggingLevels(logging);
    const fingerprint = [
      smc.uid ?? '',
      root.level,
      ...LOGGING_AREAS.map((a) => `${a}=${levels?.[a] ?? ''}`),
    ].join('|');
    const name = `${smc.namespace}/${smc.name}`;
    const hit = this.byName.get(name);
    if (hit && hit.fingerprint === fingerprint) return hit.log;
    const log = smcLogger(root, smc, levels);
    this.byName.set(name, { fingerprint, log });
    return log;
  }

  /** Drop the SmcLogger of a deleted SMC. */
  forget(namespace: string, name: string): void {
    this.byName.delete(`${namespace}/${name}`);
  }

  /** SMCs with a cached SmcLogger. */
  get size(): number {
    return this.byName.size;
  }
}

// ---------------------------------------------------------------------------------------------
// A reconcile's lines by area (src/controller/traced-reconcile.ts, report.ts): names, counts and error codes only.

/** One reconcile's loggers, and the area of the first step that failed. */
export interface ReconcileSteps {
  log: SmcLogger;
  failedIn?: LoggingArea;
}

/** The code of a thrown error (`SmcError.code`, else the class name): never its message. */
function codeOf(e: unknown): string {
  if (isSmcError(e)) return e.code;
  return e instanceof Error ? e.name : 'Error';
}

/**
 * Run one step of a reconcile with a debug line in its area: `<what> done` with its duration, or
 * `<what> failed` with the error code (the first failed step is remembered in `steps.failedIn`).
 */
export async function logStep<T>(
  steps: ReconcileSteps,
  area: LoggingArea,
  what: string,
  fields: Record<string, unknown>,
  run: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  try {
    const result = await run();
    steps.log.area(area).debug({ ...fields, ms: Math.round(performance.now() - t0) }, `${what} done`);
    return result;
  } catch (e) {
    steps.failedIn ??= area;
    steps.log.area(area).debug({ ...fields, reason: codeOf(e) }, `${what} failed`);
    throw e;
  }
}

const STAGE_STEPS: Record<Parameters<StageHook>[0], { area: LoggingArea; what: string }> = {
  render: { area: 'reconciliation', what: 'render' },
  kustomize: { area: 'kustomize', what: 'kustomize build' },
  decrypt: { area: 'sops', what: 'SOPS decryption' },
  plan: { area: 'provider', what: 'store read and plan' },
  apply: { area: 'provider', what: 'store apply' },
};

/**
 * A pipeline stage hook (src/sync.ts) logging each stage in its area — render: `reconciliation`,
 * kustomize: `kustomize`, decrypt: `sops`, plan/apply: `provider` — inside `inner` (tracing).
 * Stage attributes are names and counts (file, path, store type), never values.
 */
export function stageLogHook(steps: ReconcileSteps, inner?: StageHook): StageHook {
  const around: StageHook = inner ?? ((_stage, _attributes, run) => run());
  return (stage, attributes, run) => {
    const step = STAGE_STEPS[stage];
    return around(stage, attributes, () => logStep(steps, step.area, step.what, { ...attributes }, run));
  };
}

const PROVIDER_REASONS: ReadonlySet<string> = new Set([
  'ProviderAuthFailed',
  'ProviderUnavailable',
  'StoreError',
  'Throttled',
  'PartialFailure',
  'Conflict',
  'NotFound',
  'InvalidRequest',
]);

/** The area of a failure reason, for a "reconcile failed" line no failed step claimed. */
export function areaOfReason(reason: string): LoggingArea {
  if (reason.startsWith('Sops')) return 'sops';
  if (reason.startsWith('Kustomize')) return 'kustomize';
  if (isSourceError(reason)) return 'git';
  if (PROVIDER_REASONS.has(reason)) return 'provider';
  return 'reconciliation';
}

/**
 * `store`, with a debug line per entry it applied in the SMC's `secrets` (secret entries) or
 * `properties` (config entries) area: key, store name, store type, action, result, and the store's
 * value-free message of a failure. The actions' values are never read.
 */
export function entryLoggingStore(store: SecretStore, log: SmcLogger): SecretStore {
  return {
    type: store.type,
    target: store.target,
    naming: store.naming,
    limits: store.limits,
    read: (owner, names) => store.read(owner, names),
    apply: async (owner, actions) => {
      const results = await store.apply(owner, actions);
      for (const r of results) {
        const a = r.action;
        const area = log.area(a.kind === 'config' ? 'properties' : 'secrets');
        if (!area.isLevelEnabled('debug')) continue;
        area.debug(
          {
            key: a.key,
            storeName: a.storeName,
            store: store.type,
            action: a.type,
            result: r.ok ? 'ok' : 'failed',
            wrote: r.wrote,
            ...(r.ok || r.message === undefined ? {} : { message: r.message }),
          },
          'entry applied',
        );
      }
      return results;
    },
    ...(store.close ? { close: () => store.close!() } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// `log_format: text`: the same records (already redacted by pino), one readable line each.

function textStream(out: DestinationStream | NodeJS.WritableStream): DestinationStream {
  let pending = '';
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        out.write(renderText(line) + '\n');
      }
      cb();
    },
  });
  return w as unknown as DestinationStream;
}

/** `2026-01-01T00:00:00.000Z INFO  msg key=value …` for one JSON record. */
export function renderText(jsonLine: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { time, level, msg, ...rest } = rec;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return [
    String(time ?? ''),
    String(level ?? '')
      .toUpperCase()
      .padEnd(5),
    String(msg ?? ''),
    fields,
  ]
    .filter((s) => s !== '')
    .join(' ');
}
