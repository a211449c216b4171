/**
 * Flux notification payloads (notification.toolkit.fluxcd.io): the event JSON the `generic` and
 * `generic-hmac` Provider types POST (the shape of Flux's `event.Event`), the `X-Signature` header
 * of `generic-hmac` (`sha256=<hex HMAC of the body keyed by the Secret's token>`), and the Provider
 * Secret's `headers` key (a YAML map of header names to values).
 */
import { createHmac } from 'node:crypto';
import { parseBoundedYaml, toPlainValue, YamlLimitError } from '../../limits/yaml.js';
import { API_GROUP, API_VERSION, KIND } from '../../api/index.js';
import type { Notice } from './notices.js';

export const REPORTING_CONTROLLER = 'secret-manager-controller';
/** Event metadata key of the source revision, in Flux's `<group>/revision` style. */
export const REVISION_METADATA_KEY = `${API_GROUP}/revision`;

export interface FluxEvent {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string };
  severity: 'info' | 'error';
  /** RFC 3339, seconds. */
  timestamp: string;
  message: string;
  reason: string;
  reportingController: string;
  reportingInstance?: string;
  metadata?: Record<string, string>;
}

export interface SmcRef {
  namespace: string;
  name: string;
  uid?: string;
}

export function fluxEvent(smc: SmcRef, notice: Notice, now: Date, instance?: string): FluxEvent {
  return {
    involvedObject: {
      apiVersion: API_VERSION,
      kind: KIND,
      name: smc.name,
      namespace: smc.namespace,
      ...(smc.uid ? { uid: smc.uid } : {}),
    },
    severity: notice.severity,
    timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    message: notice.message,
    reason: notice.reason,
    reportingController: REPORTING_CONTROLLER,
    ...(instance ? { reportingInstance: instance } : {}),
    ...(notice.revision ? { metadata: { [REVISION_METADATA_KEY]: notice.revision } } : {}),
  };
}

/** `X-Signature` value for `generic-hmac`: the hex HMAC-SHA256 of the exact body bytes. */
export function hmacSignature(body: string | Uint8Array, token: string): string {
  return `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;
}

/**
 * The Provider Secret's `headers` key: a YAML map of header names to string values. `where` names
 * the Secret and key in the error; the content is never quoted.
 */
export function parseHeaders(text: string, where: string): Record<string, string> {
  let doc: unknown;
  try {
    // Bounded (src/limits/yaml.ts): nesting and alias expansion are refused.
    const { documents, aliases } = parseBoundedYaml(text);
    if (documents.length > 1 || documents.some((d) => d.errors.length > 0)) throw new Error('invalid');
    doc = toPlainValue(documents[0]?.contents, aliases);
  } catch (e) {
    const why =
      e instanceof YamlLimitError ? `: ${e.message}` : ' (expected a map of header names to values)';
    throw new Error(`${where}: not valid YAML${why}`, { cause: e });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${where}: expected a map of header names to values`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new Error(`${where}: "${name.slice(0, 64)}" is not a valid HTTP header name`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      throw new Error(`${where}: the value of header ${name} must be a string`);
    const v = String(value);
    if (/[\r\n]/.test(v)) throw new Error(`${where}: the value of header ${name} must be one line`);
    out[name] = v;
  }
  return out;
}
