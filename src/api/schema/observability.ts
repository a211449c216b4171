/** `spec.logging` and `spec.otel`: per-area log levels and traces for one SMC's reconciles. */
import { z } from 'zod';
import * as P from '../patterns.js';
import { pattern, singleLine } from './fields.js';

export const LOG_LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG'] as const;
export const LOGGING_AREAS = [
  'reconciliation',
  'secrets',
  'properties',
  'provider',
  'sops',
  'git',
  'kustomize',
  'diffDiscovery',
] as const;

const logLevel = (area: string) =>
  z.enum(LOG_LEVELS).optional().describe(`Log level for ${area}. Default: the controller's \`log_level\`.`);

export const LoggingSchema = z
  .strictObject({
    reconciliation: logLevel('the reconcile loop'),
    secrets: logLevel('secret entries'),
    properties: logLevel('config (properties) entries'),
    provider: logLevel('store calls'),
    sops: logLevel('SOPS decryption'),
    git: logLevel('source fetching'),
    kustomize: logLevel('kustomize builds'),
    diffDiscovery: logLevel('drift detection'),
  })
  .describe("Per-area log levels for this SecretManagerConfig's log lines.");

export const OtelSchema = z
  .strictObject({
    exporter: z.enum(['otlp', 'datadog']).default('otlp').describe('Trace exporter.'),
    endpoint: pattern(P.HTTP_URL, 'must be an http(s):// URL', 512)
      .optional()
      .describe("Collector or agent URL. Default: the controller's OpenTelemetry environment."),
    serviceName: singleLine(253)
      .optional()
      .describe('`service.name` of the traces. Default: `secret-manager-controller`.'),
  })
  .describe("Traces for this SecretManagerConfig's reconciles.");
