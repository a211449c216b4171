/**
 * A loopback HTTP proxy in front of a test peer that injects faults per request: an error answer
 * instead of forwarding (429 with Retry-After, 503, 403 …), or forwarding the request and then
 * dropping the connection before the answer reaches the client (a lost response: the peer did the
 * work, the client never heard).
 *
 * Rules are matched in order against each request (by AWS `X-Amz-Target`, e.g.
 * `secretsmanager.PutSecretValue`, or any predicate) and used up after `times` hits (`Infinity`:
 * until clearRules()). Every request is recorded with what happened to it and the access key id it
 * was signed with. Works for REST peers too (GCP Secret Manager emulator): match on method and URL,
 * answer with a Google-style error body (gcpThrottle).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /**
   * Answer with this status, an AWS JSON error body `{__type}` (or `body`, as JSON) and optional
   * headers; do not forward.
   */
  | {
      kind: 'respond';
      status: number;
      errorType: string;
      headers?: Record<string, string>;
      message?: string;
      body?: unknown;
    }
  /** Forward, let the peer answer, then destroy the client connection (lost response). */
  | { kind: 'drop-after-forward' }
  /** Destroy the connection without forwarding. */
  | { kind: 'drop' }
  /** Wait `ms` (or until `until` settles, if sooner), then forward as usual (a slow store). */
  | { kind: 'delay'; ms: number; until?: Promise<void> };

export interface RequestInfo {
  method: string;
  url: string;
  /** `X-Amz-Target` header (awsJson protocols) or, for query protocols, the `Action` parameter. */
  target: string;
  /** From the SigV4 Authorization header's Credential=…; never the secret key. */
  accessKeyId?: string;
}

export interface FaultRule {
  /** Target suffix (`PutSecretValue` matches `secretsmanager.PutSecretValue`), or a predicate. */
  match?: string | ((req: RequestInfo) => boolean);
  fault: Fault;
  /** How many requests this rule applies to; default 1. */
  times?: number;
}

export interface RecordedRequest extends RequestInfo {
  /** `forwarded`, or the fault applied. */
  outcome: 'forwarded' | Fault['kind'];
  status?: number;
}

/** 429 ThrottlingException with `Retry-After: seconds`. */
export function throttle(match: FaultRule['match'], times: number, retryAfterSeconds?: number): FaultRule {
  return {
    match,
    times,
    fault: {
      kind: 'respond',
      status: 429,
      errorType: 'ThrottlingException',
      ...(retryAfterSeconds !== undefined ? { headers: { 'Retry-After': String(retryAfterSeconds) } } : {}),
    },
  };
}

/**
 * 429 with a Google API error body (`{error: {code: 429, status: "RESOURCE_EXHAUSTED"}}`), as GCP
 * Secret Manager answers over REST when a quota is exceeded. Default: until clearRules().
 */
export function gcpThrottle(match: FaultRule['match'], times = Infinity): FaultRule {
  return {
    match,
    times,
    fault: {
      kind: 'respond',
      status: 429,
      errorType: 'RESOURCE_EXHAUSTED',
      body: {
        error: {
          code: 429,
          status: 'RESOURCE_EXHAUSTED',
          message: 'Quota exceeded (injected by the fault proxy)',
        },
      },
    },
  };
}

/** 503 ServiceUnavailable. */
export function unavailable(match: FaultRule['match'], times: number): FaultRule {
  return { match, times, fault: { kind: 'respond', status: 503, errorType: 'ServiceUnavailable' } };
}

/** 403 UnrecognizedClientException (what AWS answers for an unknown access key). */
export function authFailure(match: FaultRule['match'], times: number): FaultRule {
  return { match, times, fault: { kind: 'respond', status: 403, errorType: 'UnrecognizedClientException' } };
}

/** The peer does the work, the client never hears back. */
export function lostResponse(match: FaultRule['match'], times = 1): FaultRule {
  return { match, times, fault: { kind: 'drop-after-forward' } };
}

export class FaultProxy {
  readonly requests: RecordedRequest[] = [];
  private rules: { rule: FaultRule; left: number }[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /** Start a proxy on 127.0.0.1 (random port) forwarding to `upstream` (e.g. moto's endpoint URL). */
  static async start(upstream: string): Promise<FaultProxy> {
    const up = new URL(upstream);
    const ref: { proxy?: FaultProxy } = {};
    const server = http.createServer((req, res) => {
      void ref.proxy?.handle(req, res, up);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    ref.proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    return ref.proxy;
  }

  /** Add rules; requests are matched against live rules in the order they were added. */
  inject(...rules: FaultRule[]): void {
    for (const rule of rules) this.rules.push({ rule, left: rule.times ?? 1 });
  }

  /** Drop remaining rules (faults stop), keeping the request log. */
  clearRules(): void {
    this.rules = [];
  }

  /** Drop remaining rules and the request log. */
  reset(): void {
    this.rules = [];
    this.requests.length = 0;
  }

  /** Requests whose target ends with `op` (e.g. `PutSecretValue`). */
  count(op?: string, outcome?: RecordedRequest['outcome']): number {
    return this.requests.filter(
      (r) => (op === undefined || matchesTarget(r.target, op)) && (!outcome || r.outcome === outcome),
    ).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(info: RequestInfo): Fault | undefined {
    for (const slot of this.rules) {
      if (slot.left <= 0) continue;
      const m = slot.rule.match;
      const hit = m === undefined ? true : typeof m === 'string' ? matchesTarget(info.target, m) : m(info);
      if (hit) {
        slot.left--;
        return slot.rule.fault;
      }
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, up: URL): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const info: RequestInfo = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      target: targetOf(req, body),
      ...accessKey(req.headers.authorization),
    };
    const fault = this.take(info);
    const record: RecordedRequest = { ...info, outcome: fault?.kind ?? 'forwarded' };
    this.requests.push(record);

    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'respond') {
      const payload = JSON.stringify(
        fault.body ?? { __type: fault.errorType, message: fault.message ?? 'injected by the fault proxy' },
      );
      record.status = fault.status;
      res.writeHead(fault.status, {
        'Content-Type': fault.body === undefined ? 'application/x-amz-json-1.1' : 'application/json',
        'x-amzn-ErrorType': fault.errorType,
        'x-amzn-RequestId': 'fault-proxy',
        'Content-Length': Buffer.byteLength(payload),
        ...fault.headers,
      });
      res.end(payload);
      return;
    }

    if (fault?.kind === 'delay') await delay(fault.ms, fault.until);
    try {
      const answer = await forward(up, req, body);
      record.status = answer.status;
      if (fault?.kind === 'drop-after-forward') {
        // The peer has done the work; the client never hears back.
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch {
      req.socket.destroy();
    }
  }
}

function matchesTarget(target: string, op: string): boolean {
  return target === op || target.endsWith(`.${op}`);
}

function targetOf(req: http.IncomingMessage, body: Buffer): string {
  const header = req.headers['x-amz-target'];
  if (typeof header === 'string') return header;
  // Query protocol (STS): Action=AssumeRole&...
  const action = new URLSearchParams(body.toString('utf8')).get('Action');
  return action ? `query.${action}` : '';
}

function accessKey(authorization: string | undefined): { accessKeyId?: string } {
  const m = /Credential=([^/,\s]+)\//.exec(authorization ?? '');
  return m?.[1] ? { accessKeyId: m[1] } : {};
}

function forward(
  up: URL,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    delete headers.connection;
    const out = http.request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const h: http.OutgoingHttpHeaders = { ...answer.headers };
          delete h.connection;
          delete h['transfer-encoding'];
          const b = Buffer.concat(parts);
          h['content-length'] = b.length;
          resolve({ status: answer.statusCode ?? 502, headers: h, body: b });
        });
        answer.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

/** Every matching request waits `ms` before it is forwarded (default: until clearRules()). */
export function slow(match: FaultRule['match'], ms: number, times = Infinity): FaultRule {
  return { match, times, fault: { kind: 'delay', ms } };
}

/**
 * Matching requests wait until `release()` (at most `maxMs`), then are forwarded: the client is
 * held inside its call for as long as a test needs to look at what it shows meanwhile.
 */
export function hold(match: FaultRule['match'], maxMs = 60_000): { rule: FaultRule; release: () => void } {
  let release: () => void = () => {};
  const until = new Promise<void>((resolve) => (release = resolve));
  return { rule: { match, times: Infinity, fault: { kind: 'delay', ms: maxMs, until } }, release };
}

function delay(ms: number, until: Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void until?.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
