import { describe, expect, it } from 'vitest';
import {
  azureVaultUrl,
  durationMs,
  formatDuration,
  openApiSchema,
  applyStructuralDefaults,
  parseDuration,
  parseSecretManagerConfig,
  parseSpec,
  selectedProvider,
  specIntervals,
  specIssues,
  API_VERSION,
  KIND,
} from '../../src/api/index.js';
import { isSmcError } from '../../src/errors.js';
import { INVALID_SPECS, VALID_SPECS } from './cases.js';

const minimal = {
  sourceRef: { name: 'platform-config' },
  provider: { gcp: { projectId: 'my-project' } },
  secrets: { environment: 'prod' },
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isSmcError(e, 'InvalidSpec')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected InvalidSpec, nothing was thrown');
}

describe('parseSpec defaults', () => {
  it('fills in every default of docs/crd-reference.md', () => {
    expect(parseSpec(minimal, 'test')).toEqual({
      sourceRef: { kind: 'GitRepository', name: 'platform-config' },
      provider: { gcp: { projectId: 'my-project', auth: { type: 'workloadIdentity' } } },
      secrets: { environment: 'prod', sops: { enabled: true }, allowPlaintext: false },
      configs: { enabled: false, store: 'SecretManager' },
      reconcileInterval: '1m',
      gitRepositoryPullInterval: '5m',
      diffDiscovery: false,
      driftPolicy: 'Report',
      triggerUpdate: true,
      deletionPolicy: 'Retain',
      allowPruneAll: false,
      suspend: false,
      suspendGitPulls: false,
      hotReload: {
        enabled: false,
        configMapName: 'secret-manager-controller-config',
        workloads: 'annotated',
      },
    });
  });

  it('defaults provider auth and SOPS key names', () => {
    const aws = parseSpec({ ...minimal, provider: { aws: { region: 'eu-west-1' } } }, 't');
    expect(aws.provider.aws?.auth).toEqual({ type: 'default' });
    const azure = parseSpec({ ...minimal, provider: { azure: { vaultName: 'kv-prod' } } }, 't');
    expect(azure.provider.azure?.auth).toEqual({ type: 'workloadIdentity' });
    const sops = parseSpec(
      {
        ...minimal,
        secrets: { environment: 'prod', sops: { ageSecretRef: { name: 'a' }, gpgSecretRef: { name: 'g' } } },
      },
      't',
    );
    expect(sops.secrets.sops).toEqual({
      enabled: true,
      ageSecretRef: { name: 'a', key: 'age.agekey' },
      gpgSecretRef: { name: 'g', key: 'private.key' },
    });
  });

  it('keeps explicit values', () => {
    const spec = parseSpec(
      { ...minimal, triggerUpdate: false, suspend: true, deletionPolicy: 'Delete' },
      't',
    );
    expect(spec).toMatchObject({ triggerUpdate: false, suspend: true, deletionPolicy: 'Delete' });
  });

  it('applies the same defaults as the apiserver does from the CRD', () => {
    const specSchema = openApiSchema().properties!.spec!;
    for (const [name, input] of Object.entries(VALID_SPECS)) {
      const viaCrd = applyStructuralDefaults(structuredClone(input), specSchema);
      expect(viaCrd, name).toEqual(parseSpec(input, name));
    }
  });
});

describe('valid examples', () => {
  it.each(Object.entries(VALID_SPECS))('%s is accepted', (name, input) => {
    expect(specIssues(input)).toEqual([]);
    expect(() => parseSpec(input, name)).not.toThrow();
  });

  it('accepts one example for each provider', () => {
    const providers = Object.values(VALID_SPECS).map((s) => selectedProvider(parseSpec(s, 't')).name);
    expect(new Set(providers)).toEqual(new Set(['gcp', 'aws', 'azure', 'kubernetes']));
  });
});

describe('refusals name the field', () => {
  it.each(INVALID_SPECS.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const issues = specIssues(c.spec);
    expect(issues.map((i) => i.path).sort()).toEqual([...c.paths].sort());
    const message = refusal(() => parseSpec(c.spec, 'team-a/payments'));
    expect(message).toMatch(/^team-a\/payments: invalid SecretManagerConfig: /);
    for (const path of c.paths) expect(message).toContain(`${path}: `);
  });

  it('says "required" for a missing required field', () => {
    expect(refusal(() => parseSpec({ ...minimal, provider: { gcp: {} } }, 'x'))).toContain(
      'spec.provider.gcp.projectId: required',
    );
    expect(specIssues({})).toEqual([
      { path: 'spec.sourceRef', message: 'required' },
      { path: 'spec.provider', message: 'required' },
      { path: 'spec.secrets', message: 'required' },
    ]);
  });

  it('lists every problem at once', () => {
    const issues = specIssues({
      ...minimal,
      sourceRef: { name: 'Not_A_Name' },
      secrets: { environment: 'prod', prefix: 'a b' },
      reconcileInterval: 'soon',
    });
    expect(issues.map((i) => i.path)).toEqual([
      'spec.sourceRef.name',
      'spec.secrets.prefix',
      'spec.reconcileInterval',
    ]);
  });

  it('never echoes the offending value', () => {
    const value = 'hunter2-Very-Secret';
    const message = refusal(() =>
      parseSpec({ ...minimal, secrets: { environment: 'prod', prefix: `${value}!` }, suspend: value }, 'x'),
    );
    expect(message).not.toContain(value);
    expect(message).toContain('spec.secrets.prefix: ');
    expect(message).toContain('spec.suspend: must be a boolean');
  });

  it('names array elements and map keys precisely', () => {
    const issues = specIssues({
      ...minimal,
      sourceRef: { kind: 'Application', name: 'app' },
      notifications: {
        argocd: { subscriptions: [{ service: 'slack', channel: 'c', trigger: 't' }, { service: 'x' }] },
      },
      provider: { kubernetes: { labels: { 'app.kubernetes.io/name': 1 } } },
    });
    expect(issues.map((i) => i.path)).toEqual([
      'spec.provider.kubernetes.labels["app.kubernetes.io/name"]',
      'spec.notifications.argocd.subscriptions[1].channel',
      'spec.notifications.argocd.subscriptions[1].trigger',
    ]);
  });
});

describe('whole objects', () => {
  it('parses an object with status', () => {
    const obj = parseSecretManagerConfig(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: 'payments', namespace: 'team-a', generation: 3, extra: 'kept' },
        spec: minimal,
        status: {
          phase: 'Synced',
          observedGeneration: 3,
          lastSyncTime: '2026-01-02T03:04:05Z',
          secretsCount: 2,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Synced',
              message: '2 secrets',
              lastTransitionTime: '2026-01-02T03:04:05Z',
            },
          ],
          entries: [
            { key: 'DB_URL', storeName: 'payments-DB_URL', kind: 'secret', state: 'Synced', version: '3' },
          ],
          hotReload: {
            configMap: { resourceVersion: '42', appliedAt: '2026-01-02T03:04:05+01:00' },
            workloadsNotified: ['Deployment/api'],
          },
        },
      },
      'payments.yaml',
    );
    expect(obj.spec.reconcileInterval).toBe('1m');
    expect(obj.status?.conditions?.[0]?.type).toBe('Ready');
  });

  it('refuses the wrong apiVersion, naming it', () => {
    const message = refusal(() =>
      parseSecretManagerConfig({ apiVersion: 'v1', kind: KIND, metadata: {}, spec: minimal }, 'smc.yaml'),
    );
    expect(message).toContain('apiVersion: must be one of: secret-management.octopilot.io/v1beta1');
  });
});

describe('durations', () => {
  it.each([
    ['1m', 60_000],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2m30s', 150_000],
    ['1h0m0s', 3_600_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '1', '1d', '-1m', 'm', '1 m', '1M', '1m ', 'PT1M', '1e3s'])('refuses %j', (text) => {
    expect(refusal(() => parseDuration(text, { field: 'spec.reconcileInterval' }))).toMatch(
      /^spec\.reconcileInterval: must be a duration/,
    );
  });

  it('enforces a minimum, naming the field', () => {
    expect(parseDuration('1m', { min: '1m' })).toBe(60_000);
    expect(refusal(() => parseDuration('59s', { min: '1m', field: 'spec.gitRepositoryPullInterval' }))).toBe(
      'spec.gitRepositoryPullInterval: must be at least 1m',
    );
    expect(refusal(() => parseDuration('1s', { min: 1500 }))).toBe('duration: must be at least 1s500ms');
  });

  it('refuses what Go cannot represent', () => {
    expect(refusal(() => parseDuration('9999999999h'))).toBe('duration: must be at most 2562047h47m16s854ms');
    expect(durationMs('2562047h')).toBe(2562047 * 3_600_000);
    expect(durationMs('1d')).toBeUndefined();
  });

  it('refuses zero unless allowed', () => {
    expect(refusal(() => parseDuration('0s'))).toBe('duration: must be greater than zero');
    expect(parseDuration('0s', { allowZero: true })).toBe(0);
  });

  it('formats milliseconds back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(parseDuration(formatDuration(3_723_004))).toBe(3_723_004);
  });

  it('gives the spec intervals in milliseconds', () => {
    expect(specIntervals(parseSpec(minimal, 't'))).toEqual({ reconcileMs: 60_000, gitPullMs: 300_000 });
  });
});

describe('helpers', () => {
  it('selects the one provider', () => {
    const p = selectedProvider(parseSpec({ ...minimal, provider: { aws: { region: 'eu-west-1' } } }, 't'));
    expect(p.name === 'aws' && p.aws.region).toBe('eu-west-1');
  });

  it('expands an Azure vault name to its public-cloud URL', () => {
    expect(azureVaultUrl({ vaultName: 'kv-prod' })).toBe('https://kv-prod.vault.azure.net/');
    expect(azureVaultUrl({ vaultUrl: 'https://kv.vault.usgovcloudapi.net/' })).toBe(
      'https://kv.vault.usgovcloudapi.net/',
    );
  });
});
