/**
 * The OpenTelemetry SDK side of tracing — tracer providers, the batch processor, the OTLP/HTTP
 * exporter — imported by ./tracing.ts only when tracing is switched on: tracing is off unless
 * configured, and the SDK is ~250 modules that a controller without tracing would keep in memory
 * for nothing (docs/performance.md, "Memory"). The tracing API (`@opentelemetry/api`) stays loaded.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from '../version.js';

/** A provider for one destination and service name, batching spans to `exporter`. */
export function newTracerProvider(
  serviceName: string,
  exporter: SpanExporter,
  scheduledDelayMillis: number,
): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: VERSION }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis })],
  });
}

/** OTLP/HTTP (JSON) to the traces URL. */
export function otlpExporter(url: string): SpanExporter {
  return new OTLPTraceExporter({ url });
}

export function exportSucceeded(result: ExportResult): boolean {
  return result.code === ExportResultCode.SUCCESS;
}
