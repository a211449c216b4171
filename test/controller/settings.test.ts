import { describe, expect, it } from 'vitest';
import {
  RESTART_ONLY_SETTINGS,
  SETTING_KEYS,
  changedSettings,
  defaultSettings,
  envName,
  isStoreAllowed,
  mayUseControllerKey,
  parseSettings,
  parseStoreAllowlist,
} from '../../src/controller/settings.js';

const SPEC_KEYS = [
  'log_level',
  'log_format',
  'max_concurrent_reconciles',
  'backoff_base_ms',
  'backoff_max_ms',
  'min_reconcile_interval_secs',
  'min_git_pull_interval_secs',
  'max_secrets_per_resource',
  'max_secret_size_bytes',
  'provider_max_rps',
  'artifact_max_bytes',
  'drift_check_interval',
  'metrics_enabled',
  'tracing_enabled',
  'watch_namespaces',
  'no_cross_namespace_refs',
  'controller_key_namespaces',
  'store_allowlist',
  'shard_key',
  'metrics_port',
];
/** Settings added beyond the first specified set (each documented in docs/operations.md). */
const EXTRA_KEYS = [
  'workload_reload_window_ms',
  'workload_restart_min_interval_secs',
  'workload_restarts_per_namespace_per_minute',
  'secret_poll_interval',
  'allow_kustomize_remote',
  // Size caps (docs/security.md "Input size caps").
  'max_source_file_bytes',
  'max_key_file_bytes',
  'max_rendered_bytes',
  // SOPS key services (docs/sops.md "Key services").
  'sops_workload_identity_namespaces',
];

describe('parseSettings', () => {
  it('knows exactly the docs/operations.md keys', () => {
    expect([...SETTING_KEYS].sort()).toEqual([...SPEC_KEYS, ...EXTRA_KEYS].sort());
    expect(RESTART_ONLY_SETTINGS).toEqual(['metrics_port']);
  });

  it('gives documented defaults for an empty environment', () => {
    const { settings, errors } = parseSettings({});
    expect(errors).toEqual([]);
    expect(settings).toEqual(defaultSettings());
    expect(settings).toMatchObject({
      log_level: 'info',
      log_format: 'json',
      max_concurrent_reconciles: 4,
      drift_check_interval: 600_000,
      metrics_enabled: true,
      tracing_enabled: false,
      watch_namespaces: [],
      no_cross_namespace_refs: true,
      controller_key_namespaces: [],
      secret_poll_interval: 30_000,
      store_allowlist: [],
      shard_key: '',
      metrics_port: 5000,
      allow_kustomize_remote: false,
    });
  });

  it('reads snake_case ConfigMap data, overlaid by UPPER_SNAKE environment variables', () => {
    const env = {
      MAX_CONCURRENT_RECONCILES: '8',
      LOG_LEVEL: 'DEBUG',
      WATCH_NAMESPACES: 'a, b,,a',
      DRIFT_CHECK_INTERVAL: '1h30m',
      METRICS_ENABLED: 'false',
      PATH: '/usr/bin',
      SHARD_KEY: '',
    };
    const { settings, errors, sources } = parseSettings(env, {
      max_concurrent_reconciles: '2',
      shard_key: 'shard-1',
    });
    expect(errors).toEqual([]);
    expect(settings).toMatchObject({
      max_concurrent_reconciles: 8,
      log_level: 'debug',
      watch_namespaces: ['a', 'b'],
      drift_check_interval: 5_400_000,
      metrics_enabled: false,
      shard_key: 'shard-1',
    });
    expect(sources).toEqual({
      max_concurrent_reconciles: 'environment',
      log_level: 'environment',
      watch_namespaces: 'environment',
      drift_check_interval: 'environment',
      metrics_enabled: 'environment',
      shard_key: 'configmap', // SHARD_KEY is empty: unset
    });
    expect(envName('backoff_max_ms')).toBe('BACKOFF_MAX_MS');
  });

  it('refuses an invalid change whole, naming every bad key and its source, never the value', () => {
    const SECRETISH = 'hunter2-credential-canary';
    const { settings, errors } = parseSettings(
      { PROVIDER_MAX_RPS: 'zero' },
      {
        max_concurrent_reconciles: '0',
        drift_check_interval: SECRETISH,
        store_allowlist: `team-a=${SECRETISH}`,
        metrics_enabled: SECRETISH,
        shard_key: 'bad key!',
        watch_namespaces: 'Upper_Case',
        log_level: 'verbose',
        aws_secret_access_key: SECRETISH,
        log_format: 'json',
      },
    );
    expect(settings).toBeUndefined();
    const byKey = Object.fromEntries(errors.map((e) => [e.key, e]));
    expect(Object.keys(byKey).sort()).toEqual(
      [
        'aws_secret_access_key',
        'drift_check_interval',
        'log_level',
        'max_concurrent_reconciles',
        'metrics_enabled',
        'provider_max_rps',
        'shard_key',
        'store_allowlist',
        'watch_namespaces',
      ].sort(),
    );
    expect(byKey.provider_max_rps!.source).toBe('environment');
    expect(byKey.provider_max_rps!.message).toMatch(
      /^provider_max_rps \(environment PROVIDER_MAX_RPS\): must be a whole number/,
    );
    expect(byKey.max_concurrent_reconciles!.message).toMatch(
      /^max_concurrent_reconciles \(configmap\): must be a whole number from 1/,
    );
    expect(byKey.drift_check_interval!.message).toContain('must be a duration');
    expect(byKey.aws_secret_access_key!.message).toMatch(/unknown setting/);
    expect(byKey.log_level!.message).toContain('must be one of');
    for (const e of errors) {
      expect(e.message.startsWith(e.key)).toBe(true);
      expect(e.message).not.toContain(SECRETISH);
      expect(e.message).not.toContain('hunter2');
    }
  });

  it('checks cross-key rules and lower bounds', () => {
    const r = parseSettings({ BACKOFF_MAX_MS: '1000' }, { backoff_base_ms: '5000' });
    expect(r.settings).toBeUndefined();
    expect(r.errors.map((e) => e.message)).toEqual([
      'backoff_base_ms (configmap): must not be greater than backoff_max_ms',
    ]);
    expect(parseSettings({}, { drift_check_interval: '1s' }).errors.map((e) => e.message)).toEqual([
      'drift_check_interval (configmap): must be at least 10s',
    ]);
    expect(parseSettings({}, { metrics_port: '70000' }).errors[0]!.message).toMatch(/^metrics_port/);
  });

  it('tenant isolation: secure defaults; controller_key_namespaces takes names or * alone', () => {
    const d = defaultSettings();
    expect(d.no_cross_namespace_refs).toBe(true);
    expect(mayUseControllerKey(d.controller_key_namespaces, 'smc-system', 'smc-system')).toBe(true);
    expect(mayUseControllerKey(d.controller_key_namespaces, 'smc-system', 'team-a')).toBe(false);
    const listed = parseSettings({ CONTROLLER_KEY_NAMESPACES: 'team-a, team-b,team-a' }).settings!;
    expect(listed.controller_key_namespaces).toEqual(['team-a', 'team-b']);
    expect(mayUseControllerKey(listed.controller_key_namespaces, 'smc-system', 'team-b')).toBe(true);
    expect(mayUseControllerKey(listed.controller_key_namespaces, 'smc-system', 'team-c')).toBe(false);
    const all = parseSettings({}, { controller_key_namespaces: '*' }).settings!;
    expect(mayUseControllerKey(all.controller_key_namespaces, 'smc-system', 'anyone')).toBe(true);
    for (const bad of ['*,team-a', 'Team_A', 'team-a;team-b']) {
      expect(parseSettings({}, { controller_key_namespaces: bad }).errors.map((e) => e.message)).toEqual([
        'controller_key_namespaces (configmap): must be * or a comma-separated list of namespace names',
      ]);
    }
  });

  it('allow_controller_namespace_keys (replaced): accepted with a warning and ignored, never widening access', () => {
    for (const r of [
      parseSettings({}, { allow_controller_namespace_keys: 'true' }),
      parseSettings({ ALLOW_CONTROLLER_NAMESPACE_KEYS: 'true' }),
    ]) {
      expect(r.errors).toEqual([]);
      expect(r.settings!.controller_key_namespaces).toEqual([]);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings![0]).toMatch(
        /^allow_controller_namespace_keys \((configmap|environment ALLOW_CONTROLLER_NAMESPACE_KEYS)\): .*controller_key_namespaces/,
      );
    }
    expect(parseSettings({}).warnings).toBeUndefined();
  });

  it('reports what changed, so hot reload can tell restart-only keys apart', () => {
    const a = parseSettings({}).settings!;
    const b = parseSettings(
      {},
      { metrics_port: '9090', max_concurrent_reconciles: '4', log_level: 'warn' },
    ).settings!;
    expect(changedSettings(a, b).sort()).toEqual(['log_level', 'metrics_port']);
    expect(changedSettings(a, b).filter((k) => RESTART_ONLY_SETTINGS.includes(k))).toEqual(['metrics_port']);
  });
});

describe('store_allowlist', () => {
  const rules = parseStoreAllowlist(`
    # production stores per team
    team-a=gcp/team-a-prod, aws/*/eu-west-1
    team-b=azure/team-b.vault.azure.net; *=kubernetes
  `);

  it('parses the documented syntax', () => {
    expect(rules).toEqual([
      {
        namespace: 'team-a',
        targets: [
          { provider: 'gcp', segments: ['team-a-prod'] },
          { provider: 'aws', segments: ['*', 'eu-west-1'] },
        ],
      },
      { namespace: 'team-b', targets: [{ provider: 'azure', segments: ['team-b.vault.azure.net'] }] },
      { namespace: '*', targets: [{ provider: 'kubernetes', segments: [] }] },
    ]);
  });

  it('allows only listed targets per namespace', () => {
    expect(isStoreAllowed(rules, 'team-a', { provider: 'gcp', projectId: 'team-a-prod' })).toBe(true);
    expect(isStoreAllowed(rules, 'team-a', { provider: 'gcp', projectId: 'team-b-prod' })).toBe(false);
    expect(isStoreAllowed(rules, 'team-b', { provider: 'gcp', projectId: 'team-a-prod' })).toBe(false);
    expect(
      isStoreAllowed(rules, 'team-a', { provider: 'aws', accountId: '123456789012', region: 'eu-west-1' }),
    ).toBe(true);
    expect(isStoreAllowed(rules, 'team-a', { provider: 'aws', region: 'eu-west-1' })).toBe(true);
    expect(isStoreAllowed(rules, 'team-a', { provider: 'aws', region: 'us-east-1' })).toBe(false);
    expect(isStoreAllowed(rules, 'team-b', { provider: 'azure', vaultHost: 'TEAM-B.vault.azure.net' })).toBe(
      true,
    );
    expect(isStoreAllowed(rules, 'anyone', { provider: 'kubernetes' })).toBe(true);
    expect(isStoreAllowed([], 'anyone', { provider: 'gcp', projectId: 'x' })).toBe(true);
    const exact = parseStoreAllowlist('ops=aws/123456789012/us-east-1');
    expect(isStoreAllowed(exact, 'ops', { provider: 'aws', region: 'us-east-1' })).toBe(false);
  });

  it('refuses malformed rules with a message naming the rule, not the text', () => {
    expect(() => parseStoreAllowlist('team-a')).toThrow(/^rule 1: expected <namespace>=/);
    expect(() => parseStoreAllowlist('ok=kubernetes;team-a=vault/x')).toThrow(
      /^rule 2, target 1: the provider/,
    );
    expect(() => parseStoreAllowlist('team-a=aws/onlyone')).toThrow(/expected aws\/<accountId>\/<region>/);
    expect(() => parseStoreAllowlist('Team_A=gcp/p')).toThrow(/namespace/);
    expect(() => parseStoreAllowlist('team-a=')).toThrow(/no target/);
  });
});
