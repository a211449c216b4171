/** The fault proxy itself, against a tiny counting upstream: what is forwarded, answered or dropped. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authFailure, FaultProxy, lostResponse, throttle, unavailable } from './fault-proxy.js';

let upstream: http.Server;
let received: string[] = [];
let proxy: FaultProxy;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    received.push(String(req.headers['x-amz-target'] ?? ''));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  proxy = await FaultProxy.start(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
});
afterEach(() => {
  proxy.reset();
  received = [];
});
afterAll(async () => {
  await proxy.stop();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

function send(target: string, authorization?: string) {
  return fetch(proxy.url, {
    method: 'POST',
    headers: {
      'X-Amz-Target': target,
      ...(authorization ? { Authorization: authorization } : {}),
      'Content-Type': 'application/x-amz-json-1.1',
    },
    body: '{}',
  });
}

describe('FaultProxy', () => {
  it('forwards by default and records target and access key id', async () => {
    const res = await send(
      'secretsmanager.ListSecrets',
      'AWS4-HMAC-SHA256 Credential=AKIAPROXYTEST/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x',
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(received).toEqual(['secretsmanager.ListSecrets']);
    expect(proxy.requests).toEqual([
      expect.objectContaining({
        target: 'secretsmanager.ListSecrets',
        accessKeyId: 'AKIAPROXYTEST',
        outcome: 'forwarded',
        status: 200,
      }),
    ]);
  });

  it('answers N times with 429 + Retry-After without forwarding, then forwards', async () => {
    proxy.inject(throttle('PutSecretValue', 2, 3));
    const a = await send('secretsmanager.PutSecretValue');
    expect(a.status).toBe(429);
    expect(a.headers.get('retry-after')).toBe('3');
    expect(a.headers.get('x-amzn-errortype')).toBe('ThrottlingException');
    expect(await a.json()).toMatchObject({ __type: 'ThrottlingException' });
    expect((await send('secretsmanager.PutSecretValue')).status).toBe(429);
    expect((await send('secretsmanager.PutSecretValue')).status).toBe(200);
    expect(received).toEqual(['secretsmanager.PutSecretValue']);
    expect(proxy.count('PutSecretValue')).toBe(3);
    expect(proxy.count('PutSecretValue', 'respond')).toBe(2);
  });

  it('matches rules by operation only: other operations pass', async () => {
    proxy.inject(unavailable('CreateSecret', 1));
    expect((await send('secretsmanager.GetSecretValue')).status).toBe(200);
    expect((await send('secretsmanager.CreateSecret')).status).toBe(503);
    expect((await send('secretsmanager.CreateSecret')).status).toBe(200);
  });

  it('403 auth failures for every request while the rule lasts', async () => {
    proxy.inject(authFailure(undefined, 2));
    expect((await send('AmazonSSM.GetParameter')).status).toBe(403);
    expect((await send('AmazonSSM.PutParameter')).status).toBe(403);
    expect((await send('AmazonSSM.PutParameter')).status).toBe(200);
  });

  it('lost response: the upstream gets the request, the client gets a dropped connection', async () => {
    proxy.inject(lostResponse('PutParameter'));
    await expect(send('AmazonSSM.PutParameter')).rejects.toThrow();
    expect(received).toEqual(['AmazonSSM.PutParameter']);
    expect(proxy.requests[0]).toMatchObject({ outcome: 'drop-after-forward', status: 200 });
    expect((await send('AmazonSSM.PutParameter')).status).toBe(200);
  });

  it('drop: nothing forwarded, connection closed', async () => {
    proxy.inject({ match: (r) => r.target.startsWith('AmazonSSM.'), fault: { kind: 'drop' } });
    await expect(send('AmazonSSM.DeleteParameter')).rejects.toThrow();
    expect(received).toEqual([]);
  });
});
