/**
 * The controller's one logger: pino, JSON lines (or a plain `text` rendering of the same record),
 * the level from the `log_level` setting, one child per SecretManagerConfig with that SMC's
 * per-area `logging` levels, and redaction of every value-like field — the one place where log
 * output is masked, so a value handed to a log call by mistake never reaches the output.
 */
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { LOGGING_AREAS, type LoggingArea, type LoggingSpec, type LogLevel } from '../api/index.js';

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
 * Change the root level at runtime (hot reload of `log_level`). pino children copy the level when
 * created, so existing children keep theirs: create SmcLoggers per reconcile (they are cheap).
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
 * A child logger for one SMC. Area loggers are created once per call of this function; create a
 * new SmcLogger when the SMC's `spec.logging` changes.
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
    areas.set(area, logger.child({ area }, level ? { level: pinoLevel(level) } : {}));
  }
  return {
    logger,
    area: (area) => areas.get(area) ?? logger.child({ area }),
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
