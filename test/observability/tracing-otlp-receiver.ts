/**
 * A local OTLP/HTTP JSON traces receiver for the tests (node:http on 127.0.0.1): it answers
 * `POST /v1/traces` as a collector does, keeps every raw payload (to search it for values that must
 * not be there) and flattens the spans (ids as hex, attributes as plain values).
 */
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { freePort } from '../peers/free-port.js';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** Base URL (`http://127.0.0.1:<port>`), for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Every request body as received (decompressed). */
  readonly payloads: string[];
  readonly paths: string[];
  spans(): ReceivedSpan[];
  stop(): Promise<void>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
};
type OtlpAttribute = { key: string; value: OtlpValue };

function plain(attrs: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of attrs ?? []) {
    const v = a.value;
    if (v.stringValue !== undefined) out[a.key] = v.stringValue;
    else if (v.intValue !== undefined) out[a.key] = Number(v.intValue);
    else if (v.doubleValue !== undefined) out[a.key] = v.doubleValue;
    else if (v.boolValue !== undefined) out[a.key] = v.boolValue;
  }
  return out;
}

/** OTLP/JSON ids are hex; accept base64 too. */
function hexId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const payloads: string[] = [];
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      payloads.push(body.toString('utf8'));
      paths.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    payloads,
    paths,
    spans() {
      const out: ReceivedSpan[] = [];
      for (const p of payloads) {
        const doc = JSON.parse(p) as {
          resourceSpans?: {
            resource?: { attributes?: OtlpAttribute[] };
            scopeSpans?: {
              spans?: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                attributes?: OtlpAttribute[];
                status?: { code?: number; message?: string };
              }[];
            }[];
          }[];
        };
        for (const rs of doc.resourceSpans ?? []) {
          const resource = plain(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) {
              const parent = hexId(s.parentSpanId);
              out.push({
                traceId: hexId(s.traceId)!,
                spanId: hexId(s.spanId)!,
                ...(parent ? { parentSpanId: parent } : {}),
                name: s.name,
                attributes: plain(s.attributes),
                status: s.status ?? {},
                resource,
              });
            }
        }
      }
      return out;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
