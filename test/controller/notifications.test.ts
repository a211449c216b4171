/**
 * Notification building blocks without a cluster: which notices a reconcile gives (once per
 * failure or drift until it changes or clears), Flux's event JSON, the `generic-hmac` signature,
 * the Provider Secret's `headers`, delivery to a local HTTP receiver (retries, value-free errors),
 * and the Argo CD annotation patches.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DriftFindings } from '../../src/controller/drift.js';
import {
  DRIFT_ANNOTATION,
  FAILURE_ANNOTATION,
  SUBSCRIPTIONS_ANNOTATION,
  clearedPatch,
  noticePatch,
  subscriptionAnnotations,
  subscriptionPatch,
} from '../../src/controller/notifications/argo-annotations.js';
import { fluxEvent, hmacSignature, parseHeaders } from '../../src/controller/notifications/flux-event.js';
import { type Delivery, post, postWithRetry } from '../../src/controller/notifications/flux-provider.js';
import { DeliveryError } from '../../src/errors.js';
import { type NotifiableOutcome, NoticeTracker } from '../../src/controller/notifications/notices.js';
import { type WebhookReceiver, startWebhookReceiver } from './notifications-receiver.js';

const failed = (reason: string, message: string): NotifiableOutcome => ({
  result: 'error',
  error: { reason, message },
  revision: 'main@sha1:abc',
});
const ok: NotifiableOutcome = { result: 'success', revision: 'main@sha1:abc' };
const skipped: NotifiableOutcome = { result: 'skipped' };
const drift = (names: string[], over: Partial<DriftFindings> = {}): NotifiableOutcome => ({
  result: 'success',
  revision: 'main@sha1:abc',
  drift: {
    verified: true,
    report: true,
    policy: 'Report',
    entries: names.map((storeName) => ({ storeName, kind: 'secret', store: 'gcp', corrected: false })),
    ...over,
  },
});

describe('NoticeTracker', () => {
  it('a failure repeated by backoff retries is noticed once, again when it changes, and after it clears', () => {
    const t = new NoticeTracker();
    const a = failed('SourceNotReady', 'GitRepository ns/config: no artifact yet');
    expect(t.next('ns/a', a).send).toMatchObject([
      { kind: 'failure', severity: 'error', reason: 'SourceNotReady' },
    ]);
    for (let i = 0; i < 5; i++) expect(t.next('ns/a', a)).toEqual({ send: [], cleared: [] });
    expect(t.next('ns/a', skipped)).toEqual({ send: [], cleared: [] }); // nothing due: not a recovery
    const b = failed('SourceNotReady', 'GitRepository ns/config: fetch failed');
    expect(t.next('ns/a', b).send).toHaveLength(1);
    expect(t.next('ns/a', ok)).toEqual({ send: [], cleared: ['failure'] });
    expect(t.next('ns/a', ok)).toEqual({ send: [], cleared: [] });
    expect(t.next('ns/a', b).send).toHaveLength(1);
    // Per SMC.
    expect(t.next('ns/other', b).send).toHaveLength(1);
    t.forget('ns/a');
    expect(t.next('ns/a', b).send).toHaveLength(1);
  });

  it('drift is noticed once per finding until a verification finds none; only with diffDiscovery', () => {
    const t = new NoticeTracker();
    const d = t.next('ns/a', drift(['app-DB_PASSWORD', 'app-API_KEY']));
    expect(d.send).toEqual([
      {
        kind: 'drift',
        severity: 'error',
        reason: 'DriftDetected',
        message: expect.stringContaining('app-DB_PASSWORD'),
        revision: 'main@sha1:abc',
        entries: 2,
      },
    ]);
    expect(t.next('ns/a', drift(['app-DB_PASSWORD', 'app-API_KEY'])).send).toEqual([]);
    expect(t.next('ns/a', ok).send).toEqual([]); // not a verification: drift stands
    expect(t.next('ns/a', drift(['app-DB_PASSWORD'])).send).toHaveLength(1); // changed
    expect(t.next('ns/a', drift([]))).toEqual({ send: [], cleared: ['drift'] });
    expect(t.next('ns/a', drift(['app-DB_PASSWORD'], { policy: 'Correct' })).send).toMatchObject([
      { severity: 'info' },
    ]);
    const quiet = new NoticeTracker();
    expect(quiet.next('ns/a', drift(['x-y'], { report: false })).send).toEqual([]);
    expect(quiet.next('ns/a', drift(['x-y'], { verified: false })).send).toEqual([]);
  });
});

describe('Flux event payload', () => {
  it('has the shape of a Flux event (involvedObject, severity, timestamp, message, reason, metadata)', () => {
    const t = new NoticeTracker();
    const [notice] = t.next('team-a/app', failed('SopsMacMismatch', 'a.env: MAC mismatch')).send;
    const e = fluxEvent(
      { namespace: 'team-a', name: 'app', uid: 'u-1' },
      notice!,
      new Date('2026-11-26T08:00:00.123Z'),
      'pod-1',
    );
    expect(e).toEqual({
      involvedObject: {
        apiVersion: 'secret-management.octopilot.io/v1beta1',
        kind: 'SecretManagerConfig',
        name: 'app',
        namespace: 'team-a',
        uid: 'u-1',
      },
      severity: 'error',
      timestamp: '2026-11-26T08:00:00Z',
      message: 'a.env: MAC mismatch',
      reason: 'SopsMacMismatch',
      reportingController: 'secret-manager-controller',
      reportingInstance: 'pod-1',
      metadata: { 'secret-management.octopilot.io/revision': 'main@sha1:abc' },
    });
  });

  it('generic-hmac signature: sha256=<hex HMAC of the body> (RFC 4231-style known vector)', () => {
    expect(hmacSignature('The quick brown fox jumps over the lazy dog', 'key')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it("the Secret's headers key: a YAML map; errors name the Secret key and never quote values", () => {
    expect(parseHeaders('Authorization: Bearer tok-123\nX-Forwarded-Proto: https\n', 'w')).toEqual({
      Authorization: 'Bearer tok-123',
      'X-Forwarded-Proto': 'https',
    });
    expect(parseHeaders('', 'w')).toEqual({});
    expect(() => parseHeaders('- tok-secret-1', 'Secret ns/s key headers')).toThrow(
      'Secret ns/s key headers: expected a map of header names to values',
    );
    const bad = () => parseHeaders('X-A: [tok-secret-2', 'Secret ns/s key headers');
    expect(bad).toThrow(/^Secret ns\/s key headers: not valid YAML/);
    expect(bad).not.toThrow(/tok-secret-2/);
    expect(() => parseHeaders('"bad header": x', 'w')).toThrow(/not a valid HTTP header name/);
    expect(() => parseHeaders('X-A:\n  nested: tok-secret-3', 'w')).toThrow(
      /^w: the value of header X-A must be a string$/,
    );
  });
});

describe('delivery to a local receiver', () => {
  let rx: WebhookReceiver;
  beforeAll(async () => {
    rx = await startWebhookReceiver();
  });
  afterAll(() => rx.stop());
  beforeEach(() => {
    rx.requests.length = 0;
  });

  const delivery = (over: Partial<Delivery> = {}): Delivery => ({
    provider: 'Flux notification Provider ns/hook',
    type: 'generic',
    address: new URL(`${rx.url}/hook?token=url-secret-9`),
    headers: { 'X-Team': 'payments' },
    timeoutMs: 5000,
    ...over,
  });

  it('generic: POSTs the JSON with Gotk-Component and the Secret headers', async () => {
    await post(delivery(), '{"a":1}');
    expect(rx.requests).toHaveLength(1);
    const r = rx.requests[0]!;
    expect(r).toMatchObject({ method: 'POST', path: '/hook?token=url-secret-9', body: '{"a":1}' });
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['gotk-component']).toBe('secret-manager-controller');
    expect(r.headers['x-team']).toBe('payments');
    expect(r.headers['x-signature']).toBeUndefined();
  });

  it('generic-hmac: X-Signature verifies with the token (checked as a receiver would)', async () => {
    const body = JSON.stringify({ message: 'm', reason: 'r' });
    await post(delivery({ type: 'generic-hmac', token: 'hmac-token-7' }), body);
    const r = rx.requests[0]!;
    const [alg, sig] = String(r.headers['x-signature']).split('=');
    expect(alg).toBe('sha256');
    expect(sig).toBe(createHmac('sha256', 'hmac-token-7').update(r.body).digest('hex'));
  });

  it('retries 5xx/429, not 4xx; errors name the Provider and status, never the address', async () => {
    rx.respondWith(503, 429);
    await postWithRetry(delivery(), '{}', { attempts: 3, baseMs: 10 });
    expect(rx.requests).toHaveLength(3);

    rx.requests.length = 0;
    rx.respondWith(400);
    const err = await postWithRetry(delivery(), '{}', { attempts: 3, baseMs: 10 }).catch((e: unknown) => e);
    expect(rx.requests).toHaveLength(1);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toBe('Flux notification Provider ns/hook: the address answered HTTP 400');

    const refused = await post(
      delivery({ address: new URL('http://127.0.0.1:1/x?token=url-secret-9') }),
      '{}',
    ).catch((e: unknown) => e as Error);
    expect(refused?.message).toBe('Flux notification Provider ns/hook: request failed (ECONNREFUSED)');
  });
});

describe('Argo CD annotation patches', () => {
  const subs = [
    { trigger: 'on-secret-drift', service: 'slack', channel: 'platform' },
    { trigger: 'on-secret-drift', service: 'slack', channel: 'payments' },
    { trigger: 'on-secret-failure', service: 'email', channel: 'ops@example.com' },
  ];

  it('subscriptions become notifications.argoproj.io/subscribe.<trigger>.<service>: <channels joined by ;>', () => {
    expect(subscriptionAnnotations(subs)).toEqual({
      'notifications.argoproj.io/subscribe.on-secret-drift.slack': 'platform;payments',
      'notifications.argoproj.io/subscribe.on-secret-failure.email': 'ops@example.com',
    });
  });

  it('adds ours, records them, removes them when they go, keeps other SMCs and foreign annotations', () => {
    const current: Record<string, string> = { 'team/owner': 'x' };
    const p1 = subscriptionPatch(current, 'ns/a', subs)!;
    expect(p1).toEqual({
      'notifications.argoproj.io/subscribe.on-secret-drift.slack': 'platform;payments',
      'notifications.argoproj.io/subscribe.on-secret-failure.email': 'ops@example.com',
      [SUBSCRIPTIONS_ANNOTATION]: JSON.stringify({
        'ns/a': [
          'notifications.argoproj.io/subscribe.on-secret-drift.slack',
          'notifications.argoproj.io/subscribe.on-secret-failure.email',
        ],
      }),
    });
    const after1 = { ...current, ...(p1 as Record<string, string>) };
    expect(subscriptionPatch(after1, 'ns/a', subs)).toBeUndefined(); // nothing to do

    // Another SMC wants the email subscription too.
    const p2 = subscriptionPatch(after1, 'ns/b', [subs[2]!])!;
    const after2 = { ...after1, ...(p2 as Record<string, string>) };
    // ns/a drops everything: the slack key goes, the email key stays (ns/b), foreign stays.
    const p3 = subscriptionPatch(after2, 'ns/a', [])!;
    expect(p3['notifications.argoproj.io/subscribe.on-secret-drift.slack']).toBeNull();
    expect(p3).not.toHaveProperty('notifications.argoproj.io/subscribe.on-secret-failure.email');
    expect(p3).not.toHaveProperty('team/owner');
    expect(JSON.parse(p3[SUBSCRIPTIONS_ANNOTATION]!)).toEqual({
      'ns/b': ['notifications.argoproj.io/subscribe.on-secret-failure.email'],
    });
  });

  it('drift and failure annotations are value-free; clearing removes only this SMC’s', () => {
    const now = new Date('2026-11-26T08:00:00.500Z');
    const t = new NoticeTracker();
    const [d] = t.next('ns/a', drift(['app-DB_PASSWORD', 'app-API_KEY'])).send;
    expect(noticePatch(d!, 'ns/a', now)).toEqual({
      [DRIFT_ANNOTATION]: '2026-11-26T08:00:00Z: 2 entries changed outside Git (ns/a)',
    });
    const [f] = t.next('ns/a', failed('ProviderAuthFailed', 'gcp: permission denied')).send;
    expect(noticePatch(f!, 'ns/a', now)).toEqual({
      [FAILURE_ANNOTATION]: '2026-11-26T08:00:00Z: ProviderAuthFailed (ns/a)',
    });
    const cur = { [FAILURE_ANNOTATION]: '2026-11-26T08:00:00Z: ProviderAuthFailed (ns/a)' };
    expect(clearedPatch(cur, 'failure', 'ns/a')).toEqual({ [FAILURE_ANNOTATION]: null });
    expect(clearedPatch(cur, 'failure', 'ns/b')).toBeUndefined();
    expect(clearedPatch(cur, 'drift', 'ns/a')).toBeUndefined();
  });
});
