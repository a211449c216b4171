/**
 * Reconcile tracing (src/observability/tracing.ts) and the stage metrics
 * (src/observability/stage-metrics.ts) around the real pipeline (`sync()` on a copy of the example
 * repository, real SOPS decryption, the real `kustomize`), exported over OTLP/HTTP JSON to a local
 * receiver: span names, parent/child structure, attributes; no decrypted value anywhere in what
 * was exported; switching tracing off and on live.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createControllerMetrics } from '../../src/observability/metrics.js';
import { stageMetricsHook } from '../../src/observability/stage-metrics.js';
import { Tracing, resolveTraceTarget, traceReconcile, tracesUrl } from '../../src/observability/tracing.js';
import { RenderCache } from '../../src/render/cache.js';
import { createKeyring } from '../../src/sops/keyring.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import { type SyncRequest, renderSource, sync, withStageHook } from '../../src/sync.js';
import { repoRoot } from '../peers.js';
import { newAgeKey, sopsEncryptInPlace } from '../render/sops-fixtures.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './tracing-otlp-receiver.js';
import { waitFor } from '../e2e/controller-process.js';

const CANARY = `canary-${Math.random().toString(36).slice(2)}-value`;
const demoKey = readFileSync(path.join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
const demoRecipient = /public key: (age1\w+)/.exec(demoKey)![1]!;
const silent = { warn: () => {}, info: () => {} };

let receiver: OtlpReceiver;
let work: string;
let repo: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  work = mkdtempSync(path.join(os.tmpdir(), 'smc-tracing-'));
  repo = path.join(work, 'gitops');
  cpSync(path.join(repoRoot, 'examples/gitops'), repo, { recursive: true });
  // One more service whose only secret is a canary, SOPS-encrypted with the demo key.
  const dir = path.join(repo, 'canary/deployment-configuration/profiles/dev');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'application.secrets.env');
  writeFileSync(file, `CANARY_SECRET=${CANARY}\n`);
  sopsEncryptInPlace(file, demoRecipient);
  expect(readFileSync(file, 'utf8')).not.toContain(CANARY);
});

afterAll(async () => {
  await receiver?.stop();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  receiver.payloads.length = 0;
});

async function request(overrides: Partial<SyncRequest> = {}): Promise<SyncRequest> {
  return {
    source: { root: repo, revision: 'main@sha1:0123456789abcdef', description: 'the example repository' },
    owner: { namespace: 'team-a', name: 'demo' },
    environment: 'dev',
    render: { mode: 'raw' },
    sops: { enabled: true, keyring: await createKeyring({ age: [demoKey] }) },
    secretStore: new LocalDirStore(mkdtempSync(path.join(work, 'store-'))),
    deletionPolicy: 'Retain',
    triggerUpdate: true,
    adopt: false,
    ...overrides,
  };
}

/** One traced "reconcile": the pipeline inside a reconcile span, stages as children. */
async function tracedSync(tracing: Tracing, req: SyncRequest, metrics = createControllerMetrics()) {
  return traceReconcile(
    tracing.tracerFor(undefined),
    { 'smc.namespace': req.owner.namespace, 'smc.name': req.owner.name },
    (stage) => withStageHook(stageMetricsHook(metrics, stage), () => sync(req)),
    (r) => ({ attributes: { 'smc.revision': r.revision ?? '', 'smc.writes': r.writes } }),
  );
}

async function exported(tracing: Tracing, root: string): Promise<ReceivedSpan[]> {
  await tracing.shutdown(); // flushes the batch
  return waitFor('the exported trace', async () => {
    const spans = receiver.spans();
    return spans.some((s) => s.name === root) ? spans : undefined;
  });
}

/** Every decrypted value of the example (and the canary) that is long enough to be telling. */
async function decryptedValues(req: SyncRequest): Promise<string[]> {
  const entries = await renderSource(req);
  const values = entries.map((e) => e.value).filter((v) => v.length >= 8);
  expect(values).toContain(CANARY);
  return values;
}

describe('trace destination', () => {
  it('takes the SMC endpoint, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(resolveTraceTarget(undefined, {})).toBeUndefined();
    expect(resolveTraceTarget(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      url: 'http://collector:4318/v1/traces',
      serviceName: 'secret-manager-controller',
    });
    expect(
      resolveTraceTarget(undefined, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/',
        OTEL_SERVICE_NAME: 'smc-prod',
      }),
    ).toEqual({ url: 'http://collector:4318/base/v1/traces', serviceName: 'smc-prod' });
    expect(
      resolveTraceTarget(undefined, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom/traces',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      })?.url,
    ).toBe('http://tempo:4318/custom/traces');
    expect(
      resolveTraceTarget(
        { exporter: 'otlp', endpoint: 'https://otel.example:4318', serviceName: 'payments-secrets' },
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      ),
    ).toEqual({ url: 'https://otel.example:4318/v1/traces', serviceName: 'payments-secrets' });
    expect(tracesUrl('http://agent:4318/otlp/v1/traces')).toBe('http://agent:4318/otlp/v1/traces');
  });

  it('datadog: OTLP to the Datadog Agent (DD_AGENT_HOST, port 4318) unless an endpoint is given', () => {
    expect(resolveTraceTarget({ exporter: 'datadog' }, { DD_AGENT_HOST: '10.0.0.7' })?.url).toBe(
      'http://10.0.0.7:4318/v1/traces',
    );
    expect(resolveTraceTarget({ exporter: 'datadog' }, {})?.url).toBe('http://localhost:4318/v1/traces');
    expect(
      resolveTraceTarget({ exporter: 'datadog', endpoint: 'http://dd-agent.monitoring:4318' }, {})?.url,
    ).toBe('http://dd-agent.monitoring:4318/v1/traces');
  });

  it('a bad environment URL is an error naming the variable, not quoting it', async () => {
    expect(() =>
      resolveTraceTarget(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url token=abc' }),
    ).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT is not a valid URL$/);
    const warnings: string[] = [];
    const tracing = await Tracing.create({
      enabled: true,
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '::bad token=abc' },
      log: { info: () => {}, warn: (_o, m) => warnings.push(m) },
    });
    expect(tracing.tracerFor(undefined)).toBeUndefined();
    expect(tracing.tracerFor(undefined)).toBeUndefined();
    expect(warnings).toEqual(['traces not exported']); // once
  });
});

describe('reconcile traces over OTLP/HTTP', () => {
  it('raw mode: reconcile → render → decrypt (per SOPS file), plan, apply; attributes; no value exported', async () => {
    const tracing = await Tracing.create({
      enabled: true,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      log: silent,
    });
    const req = await request();
    const values = await decryptedValues(req);
    const metrics = createControllerMetrics({ processMetrics: false });
    const result = await tracedSync(tracing, req, metrics);
    expect(result.failed).toBe(0);
    expect(result.writes).toBeGreaterThan(0);
    const spans = await exported(tracing, 'reconcile');
    expect(receiver.paths.every((p) => p === '/v1/traces')).toBe(true);

    const root = spans.find((s) => s.name === 'reconcile')!;
    expect(root.parentSpanId).toBeUndefined();
    expect(root.attributes).toMatchObject({
      'smc.namespace': 'team-a',
      'smc.name': 'demo',
      'smc.revision': 'main@sha1:0123456789abcdef',
      'smc.writes': result.writes,
    });
    expect(root.resource['service.name']).toBe('secret-manager-controller');
    expect(spans.every((s) => s.traceId === root.traceId)).toBe(true);

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentName = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId)?.name : undefined);
    const render = spans.filter((s) => s.name === 'render');
    expect(render).toHaveLength(1);
    expect(parentName(render[0]!)).toBe('reconcile');
    expect(render[0]!.attributes.mode).toBe('raw');
    const decrypts = spans.filter((s) => s.name === 'decrypt');
    expect(decrypts.length).toBeGreaterThanOrEqual(2); // the example's SOPS files and the canary's
    expect(decrypts.every((s) => parentName(s) === 'render')).toBe(true);
    expect(decrypts.map((s) => s.attributes.file)).toContain(
      'canary/deployment-configuration/profiles/dev/application.secrets.env',
    );
    for (const name of ['plan', 'apply']) {
      const s = spans.filter((x) => x.name === name);
      expect(s).toHaveLength(1);
      expect(parentName(s[0]!)).toBe('reconcile');
      expect(s[0]!.attributes.store).toBe('local');
    }
    console.log(
      `tracing: ${spans.length} spans in ${receiver.payloads.length} request(s), ${receiver.payloads.join('').length} bytes`,
    );

    const all = receiver.payloads.join('\n');
    for (const v of values) expect(all).not.toContain(v);
    expect(all).not.toContain(Buffer.from(CANARY).toString('base64'));

    // The same stage hook fed the SOPS metrics.
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      new RegExp(
        `secret_manager_sops_decryption_total\\{result="success",reason="ok"\\} ${decrypts.length}\\b`,
      ),
    );
    expect(text).toMatch(
      new RegExp(`secret_manager_sops_decrypt_duration_seconds_count ${decrypts.length}\\b`),
    );
  });

  it('a shared render (src/render/cache.ts): the first reconcile decrypts; the next has render shared: 1 and no decrypt spans', async () => {
    const tracing = await Tracing.create({
      enabled: true,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      log: silent,
    });
    const renderCache = new RenderCache();
    const keyring = await createKeyring({ age: [demoKey] });
    const metrics = createControllerMetrics({ processMetrics: false });
    const first = await request({ renderCache, sops: { enabled: true, keyring } });
    const second = await request({
      renderCache,
      sops: { enabled: true, keyring },
      owner: { namespace: 'team-a', name: 'other' },
    });
    await tracedSync(tracing, first, metrics);
    await tracedSync(tracing, second, metrics);
    const spans = await exported(tracing, 'reconcile');
    const roots = spans.filter((s) => s.name === 'reconcile');
    expect(roots.map((r) => r.attributes['smc.name']).sort()).toEqual(['demo', 'other']);
    const inTrace = (name: string, span: string) => {
      const root = roots.find((r) => r.attributes['smc.name'] === name)!;
      return spans.filter((s) => s.traceId === root.traceId && s.name === span);
    };
    expect(inTrace('demo', 'render').map((s) => s.attributes.shared)).toEqual([0]);
    expect(inTrace('demo', 'decrypt').length).toBeGreaterThanOrEqual(2);
    expect(inTrace('other', 'render').map((s) => s.attributes.shared)).toEqual([1]);
    expect(inTrace('other', 'decrypt')).toEqual([]);
    expect(inTrace('other', 'apply')).toHaveLength(1);
    // Each file was decrypted once for the two reconciles.
    expect(await metrics.registry.metrics()).toMatch(
      new RegExp(
        `secret_manager_sops_decryption_total\\{result="success",reason="ok"\\} ${inTrace('demo', 'decrypt').length}\\b`,
      ),
    );
  });

  it('kustomize mode: a kustomize span inside render, and kustomize_build_duration_seconds', async () => {
    const tracing = await Tracing.create({
      enabled: true,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      log: silent,
    });
    const req = await request({ render: { mode: 'kustomize', kustomizePath: 'overlays/dev' } });
    const metrics = createControllerMetrics({ processMetrics: false });
    const result = await tracedSync(tracing, req, metrics);
    expect(result.failed).toBe(0);
    const spans = await exported(tracing, 'reconcile');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const kustomize = spans.find((s) => s.name === 'kustomize')!;
    expect(kustomize.attributes.path).toBe('overlays/dev');
    expect(byId.get(kustomize.parentSpanId!)?.name).toBe('render');
    expect(
      spans.filter((s) => s.name === 'decrypt').every((s) => byId.get(s.parentSpanId!)?.name === 'kustomize'),
    ).toBe(true);
    expect(
      await metrics.registry.getSingleMetricAsString('secret_manager_kustomize_build_duration_seconds'),
    ).toMatch(/secret_manager_kustomize_build_duration_seconds_count 1\b/);
  });

  it('a failing stage: ERROR status with the error code only; the metric counts the reason', async () => {
    const tracing = await Tracing.create({
      enabled: true,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      log: silent,
    });
    const other = await createKeyring({ age: [newAgeKey().identity] });
    const req = await request({ sops: { enabled: true, keyring: other } });
    const metrics = createControllerMetrics({ processMetrics: false });
    const err = await tracedSync(tracing, req, metrics).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toMatch(/^Sops/);
    const spans = await exported(tracing, 'reconcile');
    const root = spans.find((s) => s.name === 'reconcile')!;
    expect(root.status).toMatchObject({ code: 2, message: err!.code });
    expect(root.attributes['error.type']).toBe(err!.code);
    const failedDecrypt = spans.find((s) => s.name === 'decrypt' && s.status.code === 2)!;
    expect(failedDecrypt.status.message).toBe(err!.code);
    // Only the code travels: not the error's message, not a value.
    expect(receiver.payloads.join('\n')).not.toContain(err!.message);
    expect(receiver.payloads.join('\n')).not.toContain(CANARY);
    expect(await metrics.registry.getSingleMetricAsString('secret_manager_sops_decryption_total')).toContain(
      `result="error",reason="${err!.code}"`,
    );
  });
});

describe('switching tracing live (tracing_enabled)', () => {
  it('off: no tracer, nothing exported; on again: exported; off flushes what was batched', async () => {
    const tracing = await Tracing.create({
      enabled: false,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      log: silent,
      scheduledDelayMillis: 60_000, // only a flush sends
    });
    expect(tracing.tracerFor(undefined)).toBeUndefined();
    await tracedSync(tracing, await request());
    await tracing.shutdown();
    expect(receiver.payloads).toEqual([]);

    await tracing.setEnabled(true);
    expect(tracing.isEnabled).toBe(true);
    await tracedSync(tracing, await request());
    expect(receiver.payloads).toEqual([]); // still batched
    await tracing.setEnabled(false); // switching off flushes
    expect(receiver.spans().filter((s) => s.name === 'reconcile')).toHaveLength(1);
    expect(tracing.tracerFor(undefined)).toBeUndefined();
  });

  it('no destination configured: no tracer even when enabled', async () => {
    const tracing = await Tracing.create({ enabled: true, env: {}, log: silent });
    expect(tracing.tracerFor(undefined)).toBeUndefined();
    expect(tracing.tracerFor({ exporter: 'otlp', endpoint: receiver.endpoint })).toBeDefined();
  });
});

describe('the pipeline stage hook (src/sync.ts)', () => {
  it('sees every stage in order; a hook in the request wins over the ambient one; without one, same result', async () => {
    const seen: string[] = [];
    const ambient: string[] = [];
    const req = await request();
    const result = await withStageHook(
      async (stage, _a, run) => {
        ambient.push(stage);
        return run();
      },
      () =>
        sync({
          ...req,
          stage: async (stage, attributes, run) => {
            seen.push(`${stage}${attributes.store ? `:${attributes.store}` : ''}`);
            return run();
          },
        }),
    );
    expect(ambient).toEqual([]);
    expect(seen[0]).toBe('render');
    expect(seen.filter((s) => s === 'decrypt').length).toBeGreaterThanOrEqual(2);
    expect(seen.slice(-2)).toEqual(['plan:local', 'apply:local']);
    const plain = await sync({ ...(await request()) });
    expect(plain.outcomes.map((o) => [o.storeName, o.action, o.result])).toEqual(
      result.outcomes.map((o) => [o.storeName, o.action, o.result]),
    );
  });
});
