/**
 * Reconcile tracing (docs/observability.md "Traces", docs/crd-reference.md `otel`): one `reconcile` span per reconcile with a child
 * span per pipeline stage, exported over OTLP/HTTP (JSON).
 *
 * Off unless configured: the `tracing_enabled` setting is the switch (swappable live), and a
 * destination must be known — the SMC's `spec.otel.endpoint`, else the standard
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` environment. `exporter:
 * datadog` sends OTLP to the Datadog Agent's OTLP receiver (default `http://$DD_AGENT_HOST:4318`).
 * One TracerProvider per destination and service name, created on first use, flushed and shut down
 * when tracing is switched off and at process exit.
 *
 * Spans carry names, counts and outcome codes only: never a value, and never an error's message
 * (an exception from a library could quote anything) — only its code or class name.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { isSmcError } from '../errors.js';
import { VERSION } from '../version.js';

/** The OpenTelemetry SDK, imported when tracing is first switched on (./tracing-sdk.ts says why). */
type TracingSdk = typeof import('./tracing-sdk.js');

export const DEFAULT_SERVICE_NAME = 'secret-manager-controller';
export const TRACER_NAME = 'secret-manager-controller';
/** The Datadog Agent's default OTLP/HTTP receiver port. */
export const DATADOG_AGENT_OTLP_HTTP_PORT = 4318;

/** `spec.otel` of an SMC (all optional). */
export interface OtelDestination {
  exporter?: 'otlp' | 'datadog';
  endpoint?: string;
  serviceName?: string;
}

/** Where one SMC's traces go: the OTLP/HTTP traces URL and the `service.name`. */
export interface TraceTarget {
  url: string;
  serviceName: string;
}

type Env = Record<string, string | undefined>;

/** `http://host:4318` → `http://host:4318/v1/traces`; a URL with a path is taken as the traces URL. */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/v1/traces';
  return u.toString();
}

/**
 * The destination of an SMC's traces, or undefined when none is configured (no spans then).
 * Errors name the field, never the URL (it may carry a token).
 */
export function resolveTraceTarget(otel: OtelDestination | undefined, env: Env): TraceTarget | undefined {
  const serviceName = otel?.serviceName ?? env.OTEL_SERVICE_NAME ?? DEFAULT_SERVICE_NAME;
  const fromField = (value: string, field: string): TraceTarget => {
    try {
      return { url: tracesUrl(value), serviceName };
    } catch {
      throw new Error(`${field} is not a valid URL`);
    }
  };
  if (otel?.endpoint) return fromField(otel.endpoint, 'spec.otel.endpoint');
  if (otel?.exporter === 'datadog') {
    const host = env.DD_AGENT_HOST || 'localhost';
    return fromField(`http://${host}:${DATADOG_AGENT_OTLP_HTTP_PORT}`, 'DD_AGENT_HOST');
  }
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) {
    try {
      return { url: new URL(traces).toString(), serviceName };
    } catch {
      throw new Error('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not a valid URL');
    }
  }
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    try {
      return { url: new URL('v1/traces', base.endsWith('/') ? base : `${base}/`).toString(), serviceName };
    } catch {
      throw new Error('OTEL_EXPORTER_OTLP_ENDPOINT is not a valid URL');
    }
  }
  return undefined;
}

export interface TracingOptions {
  enabled: boolean;
  env: Env;
  log: {
    warn: (obj: object, msg: string) => void;
    info: (obj: object, msg: string) => void;
  };
  /** Exporter for a destination (default: OTLP/HTTP JSON to `target.url`). */
  exporter?: (target: TraceTarget) => SpanExporter;
  /** Batch delay (default `OTEL_BSP_SCHEDULE_DELAY`, else 5000 ms). */
  scheduledDelayMillis?: number;
}

/**
 * The tracer providers of the process, one per destination; switched on and off live. The SDK is
 * imported when tracing is first on (`Tracing.create` with `enabled`, or `setEnabled(true)`).
 */
export class Tracing {
  private enabled = false;
  private sdk: TracingSdk | undefined;
  private readonly providers = new Map<string, TracerProvider>();
  private readonly refused = new Set<string>();

  private constructor(private readonly o: TracingOptions) {}

  static async create(o: TracingOptions): Promise<Tracing> {
    const tracing = new Tracing(o);
    if (o.enabled) {
      tracing.sdk = await import('./tracing-sdk.js');
      tracing.enabled = true;
    }
    return tracing;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** `tracing_enabled` changed: switching off flushes and shuts every provider down. */
  async setEnabled(enabled: boolean): Promise<void> {
    if (enabled === this.enabled) return;
    if (enabled) this.sdk ??= await import('./tracing-sdk.js');
    this.enabled = enabled;
    this.o.log.info({ tracing: enabled }, enabled ? 'tracing switched on' : 'tracing switched off');
    if (!enabled) await this.shutdown();
  }

  /** A tracer for an SMC's reconciles, or undefined when tracing is off or has nowhere to go. */
  tracerFor(otel: OtelDestination | undefined): Tracer | undefined {
    const sdk = this.sdk;
    if (!this.enabled || !sdk) return undefined;
    let target: TraceTarget | undefined;
    try {
      target = resolveTraceTarget(otel, this.o.env);
    } catch (e) {
      const why = (e as Error).message;
      if (!this.refused.has(why)) {
        this.refused.add(why);
        this.o.log.warn({ reason: why }, 'traces not exported');
      }
      return undefined;
    }
    if (!target) return undefined;
    const key = `${target.url}\n${target.serviceName}`;
    let provider = this.providers.get(key);
    if (!provider) {
      provider = sdk.newTracerProvider(
        target.serviceName,
        this.loggingExporter(sdk, this.o.exporter?.(target) ?? sdk.otlpExporter(target.url)),
        this.o.scheduledDelayMillis ?? batchDelay(this.o.env),
      );
      this.providers.set(key, provider);
    }
    return provider.getTracer(TRACER_NAME, VERSION);
  }

  /** Flush and shut down every provider (at exit, or when switched off). */
  async shutdown(): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    await Promise.allSettled(all.map((p) => p.shutdown()));
  }

  /** Failed exports are logged (without the URL or payload), not thrown. */
  private loggingExporter(sdk: TracingSdk, inner: SpanExporter): SpanExporter {
    const log = this.o.log;
    return {
      export(spans, done) {
        inner.export(spans, (result) => {
          if (!sdk.exportSucceeded(result))
            log.warn({ spans: spans.length, err: result.error?.name ?? 'Error' }, 'trace export failed');
          done(result);
        });
      },
      shutdown: () => inner.shutdown(),
      forceFlush: inner.forceFlush ? () => inner.forceFlush!() : undefined,
    };
  }
}

function batchDelay(env: Env): number {
  const n = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  return Number.isFinite(n) && n > 0 ? n : 5000;
}

/** The code of an error, safe for a span: `SmcError.code`, else the error's class name. */
export function errorCode(e: unknown): string {
  if (isSmcError(e)) return e.code;
  return e instanceof Error ? e.name : 'Error';
}

/** Runs a stage as a child span of whatever span is current. */
export type StageSpans = <T>(name: string, attributes: Attributes, run: () => Promise<T>) => Promise<T>;

/** The reconcile span's summary, set when the reconcile returns. */
export interface ReconcileSummary {
  attributes: Attributes;
  /** A value-free error code: the span's status is ERROR with this message. */
  error?: string;
}

/** The span a stage runs in, per async flow (stages nest: `decrypt` inside `render`). */
const currentSpan = new AsyncLocalStorage<Context>();

/**
 * Run one reconcile in a `reconcile` span (a new trace), giving `run` a function that wraps each
 * stage in a child span. Without a tracer nothing is recorded and `run` gets a pass-through.
 */
export async function traceReconcile<T>(
  tracer: Tracer | undefined,
  attributes: Attributes,
  run: (stage: StageSpans) => Promise<T>,
  summarize: (result: T) => ReconcileSummary,
): Promise<T> {
  if (!tracer) return run((_name, _attributes, fn) => fn());
  const root = tracer.startSpan('reconcile', { kind: SpanKind.INTERNAL, attributes, root: true });
  const rootContext = trace.setSpan(ROOT_CONTEXT, root);
  const stage: StageSpans = async (name, attrs, fn) => {
    const parent = currentSpan.getStore() ?? rootContext;
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: attrs }, parent);
    try {
      return await currentSpan.run(trace.setSpan(parent, span), fn);
    } catch (e) {
      failed(span, errorCode(e));
      throw e;
    } finally {
      span.end();
    }
  };
  try {
    const result = await currentSpan.run(rootContext, () => run(stage));
    const summary = summarize(result);
    root.setAttributes(summary.attributes);
    if (summary.error) failed(root, summary.error);
    return result;
  } catch (e) {
    failed(root, errorCode(e));
    throw e;
  } finally {
    root.end();
  }
}

function failed(span: Span, code: string): void {
  span.setAttribute('error.type', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}
