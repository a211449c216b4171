/**
 * The field types the SecretManagerConfig schema is built from: bounded, patterned strings (object and
 * namespace names, paths, durations), bounded maps and counts, and references to objects and Secret keys.
 */
import { z } from 'zod';
import {
  DURATION_MAX_LENGTH,
  DURATION_PATTERN,
  durationMs,
  formatDuration,
  MAX_DURATION_MS,
} from '../duration.js';
import * as P from '../patterns.js';
import { celString, withRules } from '../rules.js';

export function pattern(source: string, message: string, maxLength: number) {
  return z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(maxLength)
    .regex(new RegExp(source), { error: message })
    .meta({ pattern: source }); // the source as written (RegExp#source would escape `/`)
}

export const objectName = () =>
  pattern(P.DNS_SUBDOMAIN, 'must be a Kubernetes object name (RFC 1123 subdomain)', 253);
export const namespaceName = () =>
  pattern(P.DNS_LABEL, 'must be a Kubernetes namespace name (RFC 1123 label)', 63);
export const secretDataKey = () =>
  pattern(P.SECRET_DATA_KEY, 'must be a Secret data key ([-._a-zA-Z0-9]+)', 253);
export const relativePath = () =>
  pattern(P.RELATIVE_PATH, 'must be a path relative to the source root, without ".." segments', 512);
const DURATION_RE = new RegExp(DURATION_PATTERN);
export const duration = () =>
  pattern(
    DURATION_PATTERN,
    'must be a duration such as 30s, 1m or 1h30m (units h, m, s, ms)',
    DURATION_MAX_LENGTH,
  )
    // Go (and so the apiserver's CEL) cannot represent more.
    .refine((d) => !DURATION_RE.test(d) || durationMs(d) !== undefined, {
      error: `must be at most ${formatDuration(MAX_DURATION_MS)}`,
    });
/** A duration with a lower bound: `> min` or, when `inclusive`, `>= min`. */
export const durationFrom = (min: string, inclusive: boolean) => {
  const minMs = durationMs(min) ?? 0;
  return withRules(duration(), [
    {
      cel: `!self.matches(${celString(DURATION_PATTERN)}) || duration(self) ${inclusive ? '>=' : '>'} duration('${min}')`,
      holds: (d) => {
        const ms = durationMs(d);
        return ms === undefined || (inclusive ? ms >= minMs : ms > minMs);
      },
      message: inclusive ? `must be at least ${min}` : `must be greater than ${min}`,
    },
  ]);
};
export const singleLine = (maxLength: number) =>
  pattern(P.SINGLE_LINE, 'must be a single line of text', maxLength);
export const stringMap = (what: string) =>
  z
    .record(z.string(), z.string().max(4096))
    .refine((m) => Object.keys(m).length <= 64, { error: `must have at most 64 ${what}` })
    .meta({ maxProperties: 64 });
export const timestamp = () => z.iso.datetime({ offset: true });
export const count = () => z.int().min(0).max(2_147_483_647).meta({ format: 'int32' });
export const generation = () => z.int().min(0).meta({ format: 'int64' });

/** `{name, namespace?}` reference to an object; `namespace` defaults as the field says. */
export const objectRef = (what: string, namespaceDefault: string) =>
  z.strictObject({
    name: objectName().describe(`Name of the ${what}.`),
    namespace: namespaceName().optional().describe(`Namespace of the ${what}. Default: ${namespaceDefault}.`),
  });

/** A key in a Secret: `{name, namespace?, key}`. */
export const secretKeyRef = (what: string, defaultKey: string) =>
  z.strictObject({
    name: objectName().describe(`Name of the Secret holding the ${what}.`),
    namespace: namespaceName()
      .optional()
      .describe("Namespace of the Secret. Default: the SecretManagerConfig's namespace."),
    key: secretDataKey().default(defaultKey).describe(`Key in the Secret's data that holds the ${what}.`),
  });
