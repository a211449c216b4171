/**
 * Controller settings (docs/operations.md): one zod schema over string inputs. Precedence, lowest first: the
 * defaults, the settings ConfigMap's `data` (snake_case, e.g. `max_concurrent_reconciles`), the
 * environment (UPPER_SNAKE, e.g. `MAX_CONCURRENT_RECONCILES`). `parseSettings` validates the whole result at
 * once, so a hot reload applies a change completely or refuses it completely. Error messages name
 * the key and where it came from, never the value.
 */
import { z } from 'zod';
import { durationMs, formatDuration } from '../api/index.js';
import { DEFAULT_INPUT_LIMITS } from '../limits/input.js';
import { CONTROLLER_LOG_LEVELS, LOG_FORMATS } from '../observability/logger.js';
import type { StoreTarget } from '../stores/provider.js';
import { SMC_PROVIDERS, allowlistForm } from '../stores/registry.js';

// ---------------------------------------------------------------------------------------------
// store_allowlist

/**
 * Which stores each namespace's SMCs may write (`store_allowlist`). Empty: any store (the default).
 *
 * Syntax: rules separated by `;` or newlines, each `<namespace>=<target>[,<target>…]`.
 * `<namespace>` is a namespace name or `*` (every namespace). Targets:
 *
 *     gcp/<projectId>              e.g. gcp/my-project
 *     aws/<accountId>/<region>     e.g. aws/123456789012/eu-west-1
 *     azure/<vault host>           e.g. azure/my-vault.vault.azure.net
 *     kubernetes                   the Kubernetes Secret store (always in the SMC's own namespace)
 *
 * Any segment after the provider may be `*` (e.g. any AWS account in one region). Example:
 *
 *     team-a=gcp/team-a-prod,aws/123456789012/eu-west-1; team-b=azure/team-b.vault.azure.net; *=kubernetes
 *
 * When the allowlist is set, a write is allowed only if a rule for the SMC's namespace or `*`
 * lists a matching target. Lines starting with `#` are comments.
 */
export interface StoreAllowRule {
  namespace: string;
  targets: StoreTargetPattern[];
}

export interface StoreTargetPattern {
  provider: string;
  /** Segments after the provider (`*` matches any); empty for `kubernetes`. */
  segments: string[];
}

/** Where an SMC wants to write, as the allowlist sees it (declared beside the stores' face). */
export type { StoreTarget };

const NAMESPACE_RE = /^(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;
const SEGMENT_RE = /^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,254})$/;

/** Parse `store_allowlist`; throws an Error whose message names the rule number, never the text. */
export function parseStoreAllowlist(text: string): StoreAllowRule[] {
  const rules: StoreAllowRule[] = [];
  const parts = text
    .split(/[;\n]/)
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith('#'));
  parts.forEach((part, i) => {
    const where = `rule ${i + 1}`;
    const eq = part.indexOf('=');
    if (eq < 0) throw new Error(`${where}: expected <namespace>=<target>[,<target>…]`);
    const namespace = part.slice(0, eq).trim();
    if (!NAMESPACE_RE.test(namespace))
      throw new Error(`${where}: the namespace must be a namespace name or *`);
    const targets = part
      .slice(eq + 1)
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .map((t, j) => {
        const [provider = '', ...segments] = t.split('/');
        const form = allowlistForm(provider);
        if (!form) {
          throw new Error(
            `${where}, target ${j + 1}: the provider must be one of ${SMC_PROVIDERS.join(', ')}`,
          );
        }
        const wanted = form.syntax.split('/').length - 1;
        if (segments.length !== wanted || !segments.every((s) => SEGMENT_RE.test(s)))
          throw new Error(`${where}, target ${j + 1}: expected ${form.syntax}`);
        return { provider, segments };
      });
    if (targets.length === 0) throw new Error(`${where}: no target`);
    rules.push({ namespace, targets });
  });
  return rules;
}

/** Whether an SMC in `namespace` may write to `target` (always true with an empty allowlist). */
export function isStoreAllowed(
  rules: readonly StoreAllowRule[],
  namespace: string,
  target: StoreTarget,
): boolean {
  if (rules.length === 0) return true;
  const wanted = allowlistForm(target.provider)?.segments(target) ?? [];
  return rules.some(
    (r) =>
      (r.namespace === '*' || r.namespace === namespace) &&
      r.targets.some(
        (t) =>
          t.provider === target.provider &&
          t.segments.every((s, i) => s === '*' || (wanted[i] !== undefined && s === wanted[i])),
      ),
  );
}

// ---------------------------------------------------------------------------------------------
// the schema

type Issue = { message: string };
type NoUndefined<T> = T extends undefined ? never : T;

function integer(min: number, max: number, def: number) {
  return z
    .string()
    .transform((s, ctx) => {
      const t = s.trim();
      const n = Number(t);
      if (!/^-?[0-9]+$/.test(t) || !Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    })
    .default(def);
}

function boolean(def: boolean) {
  return z
    .string()
    .transform((s, ctx) => {
      const t = s.trim().toLowerCase();
      if (t === 'true' || t === '1' || t === 'yes') return true;
      if (t === 'false' || t === '0' || t === 'no') return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    })
    .default(def);
}

function oneOf<const T extends readonly string[]>(values: T, def: T[number]) {
  return z
    .string()
    .transform((s, ctx): T[number] => {
      const t = s.trim().toLowerCase();
      if (!values.includes(t)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
        return z.NEVER;
      }
      return t as T[number];
    })
    .default(def as NoUndefined<Awaited<T[number]>>);
}

function duration(def: string, minMs: number) {
  return z
    .string()
    .transform((s, ctx) => {
      const ms = durationMs(s.trim());
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a duration such as 30s, 10m or 1h30m (units h, m, s, ms)',
        });
        return z.NEVER;
      }
      if (ms < minMs) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${formatDuration(minMs)}` });
        return z.NEVER;
      }
      return ms;
    })
    .default(durationMs(def)!);
}

const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAMESPACE_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A comma-separated list of namespace names (duplicates and blanks dropped), or `*` alone when allowed. */
function namespaceList(allowAll: boolean) {
  return z
    .string()
    .transform((s, ctx) => {
      const list = [
        ...new Set(
          s
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n !== ''),
        ),
      ];
      const valid =
        allowAll && list.includes('*') ? list.length === 1 : list.every((n) => NAMESPACE_NAME_RE.test(n));
      if (!valid) {
        ctx.addIssue({
          code: 'custom',
          message: `must be ${allowAll ? '* or ' : ''}a comma-separated list of namespace names`,
        });
        return z.NEVER;
      }
      return list;
    })
    .default([]);
}

/** Every controller setting, its default and its validation. Keys are the ConfigMap's snake_case. */
export const SettingsSchema = z
  .strictObject({
    /** pino level of the controller's own lines (SMC `logging` can raise or lower per area). */
    log_level: oneOf(CONTROLLER_LOG_LEVELS, 'info'),
    log_format: oneOf(LOG_FORMATS, 'json'),
    max_concurrent_reconciles: integer(1, 1000, 4),
    /** Error backoff per SMC: full jitter over base·2^(n-1), capped at max; reset on success. */
    backoff_base_ms: integer(1, 3_600_000, 1_000),
    backoff_max_ms: integer(1, 86_400_000, 300_000),
    /** Floor for `spec.reconcileInterval`. */
    min_reconcile_interval_secs: integer(1, 86_400, 30),
    /** Floor for `spec.gitRepositoryPullInterval`. */
    min_git_pull_interval_secs: integer(1, 86_400, 60),
    max_secrets_per_resource: integer(1, 100_000, 500),
    max_secret_size_bytes: integer(1, 10_485_760, 65_536),
    /** Requests per second per store (token bucket). */
    provider_max_rps: integer(1, 10_000, 10),
    artifact_max_bytes: integer(1_024, 10_737_418_240, 104_857_600),
    /** How often each SMC's store entries are read back and compared (milliseconds once parsed). */
    drift_check_interval: duration('10m', 10_000),
    metrics_enabled: boolean(true),
    tracing_enabled: boolean(false),
    /**
     * Ours, beyond the settings first specified: how long workload reloads (docs/hot-reload.md) wait to coalesce further syncs
     * into one restart or POST. Read at each scheduling, so a live change applies to the next one.
     */
    workload_reload_window_ms: integer(0, 600_000, 2_000),
    /**
     * Ours: automatic workload reload (`spec.hotReload.workloads: auto`) restarts one workload at most once per this many seconds; a restart asked
     * sooner is reported as rate limited and made when allowed (docs/hot-reload.md). 0: no limit.
     */
    workload_restart_min_interval_secs: integer(0, 86_400, 10),
    /** Ours: automatic workload reload restarts at most this many workloads per namespace per minute; 0: no limit. */
    workload_restarts_per_namespace_per_minute: integer(0, 100_000, 60),
    /** Comma-separated namespaces to watch; empty: all namespaces. */
    watch_namespaces: namespaceList(false),
    /**
     * Refuse any source, SOPS key Secret or credentials Secret outside the SMC's own namespace
     * (docs/security.md, "Tenant isolation defaults").
     */
    no_cross_namespace_refs: boolean(true),
    /**
     * Namespaces whose SMCs may use the controller-wide `sops-keys` Secret: comma-separated names,
     * or `*` for every namespace (the single-tenant switch, docs/security.md). Empty: none but the
     * controller's own namespace.
     */
    controller_key_namespaces: namespaceList(true),
    /**
     * Namespaces whose SMCs may open SOPS key-service keys (AWS KMS, GCP KMS, Azure Key Vault, Vault
     * transit) with the controller's own identity (workload identity, the SDKs' default chains) when
     * their key Secret holds no credentials for the service: comma-separated names, or `*`. Empty
     * (the default): nobody — each SMC brings its credentials (docs/sops.md "Key services").
     */
    sops_workload_identity_namespaces: namespaceList(true),
    /**
     * How often the Secrets SMCs reference outside the controller's namespace (SOPS keys, store and
     * Git credentials) are checked for a change: a metadata-only read of each, since the controller
     * may not watch Secrets there (docs/security.md). A change reconciles the SMCs that use it.
     */
    secret_poll_interval: duration('30s', 1_000),
    store_allowlist: z
      .string()
      .transform((s, ctx) => {
        try {
          return parseStoreAllowlist(s);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
          return z.NEVER;
        }
      })
      .default([]),
    /** This replica's shard (label `sharding.secret-management.octopilot.io/key`); empty: the default shard. */
    shard_key: z
      .string()
      .transform((s, ctx) => {
        const t = s.trim();
        if (t.length > 63 || !LABEL_VALUE_RE.test(t)) {
          ctx.addIssue({ code: 'custom', message: 'must be a label value (up to 63 of A-Z a-z 0-9 - _ .)' });
          return z.NEVER;
        }
        return t;
      })
      .default(''),
    /** Restart-only: read at start; a change in the ConfigMap is reported, not applied. */
    metrics_port: integer(1, 65_535, 5_000),

    // --- kustomize remote resources (docs/security.md) ---
    /**
     * Let kustomize fetch remote resources and bases (URLs, Git repositories) named in a
     * kustomization. Off: such a kustomization is refused before kustomize runs (no request made).
     */
    allow_kustomize_remote: boolean(false),
    // Size caps on what the pipeline reads (src/limits/input.ts; docs/security.md "Input size caps").
    /** Any one file render reads: a secrets file, or a file of a kustomize tree. */
    max_source_file_bytes: integer(1_024, 268_435_456, DEFAULT_INPUT_LIMITS.maxSourceFileBytes),
    /** Any one SOPS key Secret entry. */
    max_key_file_bytes: integer(1_024, 67_108_864, DEFAULT_INPUT_LIMITS.maxKeyFileBytes),
    /** Everything one render produces: the kustomize build output, or all files read in raw-file mode. */
    max_rendered_bytes: integer(1_024, 268_435_456, DEFAULT_INPUT_LIMITS.maxRenderedBytes),
  })
  .superRefine((s, ctx) => {
    if (s.backoff_base_ms > s.backoff_max_ms)
      ctx.addIssue({
        code: 'custom',
        path: ['backoff_base_ms'],
        message: 'must not be greater than backoff_max_ms',
      });
  });

export type Settings = z.output<typeof SettingsSchema>;

/**
 * Settings that are no longer read, with what replaces them. A ConfigMap or environment that still
 * sets one is accepted (an upgrade must not stop the controller) with a warning, and the value is
 * ignored: `allow_controller_namespace_keys` defaulted to true and the shipped ConfigMap listed it,
 * so honouring it as an alias would re-open the controller-wide key to every namespace on upgrade.
 */
export const DEPRECATED_SETTINGS: Readonly<Record<string, string>> = {
  allow_controller_namespace_keys:
    'allow_controller_namespace_keys is no longer read and its value is ignored: list the namespaces whose SMCs may use the controller-wide sops-keys Secret in controller_key_namespaces ("*" for all; docs/security.md)',
};

/** Whether an SMC in `namespace` may use the controller-wide `sops-keys` (`controller_key_namespaces`). */
export function mayUseControllerKey(
  allowed: readonly string[],
  controllerNamespace: string,
  namespace: string,
): boolean {
  return namespace === controllerNamespace || allowed.includes('*') || allowed.includes(namespace);
}
export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(SettingsSchema.shape) as SettingKey[];

/** Keys a running controller cannot change: a new value takes effect at the next start. */
export const RESTART_ONLY_SETTINGS: readonly SettingKey[] = ['metrics_port'];

/** `max_concurrent_reconciles` → `MAX_CONCURRENT_RECONCILES`. */
export function envName(key: string): string {
  return key.toUpperCase();
}

export interface SettingsError {
  /** The setting (snake_case), or the unknown ConfigMap key. */
  key: string;
  /** Where the refused input came from. */
  source: 'environment' | 'configmap';
  /** `<key> (<source>): <what is wrong>` — never the value. */
  message: string;
}

export interface ParsedSettings {
  /** The settings, or undefined when any input is invalid (nothing of an invalid change applies). */
  settings: Settings | undefined;
  errors: SettingsError[];
  /** Deprecated settings that were set (and ignored): one message each, never the value. */
  warnings?: string[];
  /** Where each setting that is not at its default came from (names and sources only, no values). */
  sources: Partial<Record<SettingKey, SettingsError['source']>>;
}

/**
 * Settings: the defaults, overlaid by the settings ConfigMap's data, overlaid by the environment
 * (an explicit variable on the Deployment beats the shared file). Empty environment variables count
 * as unset. Unknown ConfigMap keys are errors (a typo must not pass silently).
 */
export function parseSettings(
  env: Readonly<Record<string, string | undefined>>,
  configMapData: Readonly<Record<string, string>> = {},
): ParsedSettings {
  const input: Record<string, string> = {};
  const source: Partial<Record<SettingKey, SettingsError['source']>> = {};
  const errors: SettingsError[] = [];
  const warnings: string[] = [];
  for (const [key, message] of Object.entries(DEPRECATED_SETTINGS)) {
    const inEnv = (env[envName(key)] ?? '') !== '';
    if (inEnv || key in configMapData)
      warnings.push(`${key} (${inEnv ? `environment ${envName(key)}` : 'configmap'}): ${message}`);
  }
  for (const [key, v] of Object.entries(configMapData)) {
    if (key in DEPRECATED_SETTINGS) continue;
    if (!(SETTING_KEYS as string[]).includes(key)) {
      errors.push({
        key,
        source: 'configmap',
        message: `${key} (configmap): unknown setting; known: ${SETTING_KEYS.join(', ')}`,
      });
      continue;
    }
    input[key] = v;
    source[key as SettingKey] = 'configmap';
  }
  // The environment wins over the ConfigMap (docs/operations.md, "Where settings come from").
  for (const key of SETTING_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') {
      input[key] = v;
      source[key] = 'environment';
    }
  }
  const result = SettingsSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues as (Issue & { path: PropertyKey[] })[]) {
      const key = String(issue.path[0] ?? '');
      const src = source[key as SettingKey] ?? 'configmap';
      const where = src === 'environment' ? `environment ${envName(key)}` : 'configmap';
      errors.push({ key, source: src, message: `${key} (${where}): ${safeMessage(issue.message)}` });
    }
  }
  const w = warnings.length ? { warnings } : {};
  if (errors.length > 0) return { settings: undefined, errors, sources: source, ...w };
  return { settings: result.data, errors: [], sources: source, ...w };
}

/** zod's own messages for a non-string input can echo a type, never a value; keep ours as they are. */
function safeMessage(message: string): string {
  return message.startsWith('Invalid input') ? 'must be a string' : message;
}

/** Keys whose parsed value differs between two settings (for hot reload: what to apply, what needs a restart). */
export function changedSettings(before: Settings, after: Settings): SettingKey[] {
  return SETTING_KEYS.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

/** The defaults (what an empty environment and ConfigMap give). */
export function defaultSettings(): Settings {
  return SettingsSchema.parse({});
}
