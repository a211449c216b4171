import { SmcError } from '../errors.js';
import type { NamingRule } from './rules.js';

/** The parts a store name is built from; `prefix-key-suffix` unless a rule composes differently. */
export interface NameParts {
  prefix?: string;
  key: string;
  suffix?: string;
}

/**
 * A NamingRule with the optional hooks some stores need. Every hook is optional, so any plain
 * NamingRule works with `nameEntries` too.
 */
export interface StoreNamingRule extends NamingRule {
  /** Build the final, not yet checked name. Default: `sanitize(prefix-key-suffix)`. */
  compose?(parts: NameParts): string;
  /** Store-specific checks beyond pattern and length: a value-free reason, or undefined if valid. */
  validate?(name: string): string | undefined;
  /** The store treats names that differ only in letter case as one entry. */
  readonly caseInsensitive?: boolean;
}

export type StaticStoreType = 'local' | 'gcp' | 'aws' | 'azure-keyvault' | 'k8s';
export type StoreType = StaticStoreType | 'ssm' | 'appconfig';

/** Replace every code point outside `allowed` (a character-class body) with `replacement`. */
function replaceOutside(allowed: string, replacement: string): (s: string) => string {
  const re = new RegExp(`[^${allowed}]`, 'gu');
  return (s) => s.replace(re, replacement);
}

/** `prefix-key-suffix`, omitting empty parts (a suffix's leading `-` and a prefix's trailing `-` are dropped). */
export function joinNameParts(parts: NameParts, separator = '-'): string {
  const prefix = (parts.prefix ?? '').replace(/-+$/, '');
  const suffix = (parts.suffix ?? '').replace(/^-+/, '');
  return [prefix, parts.key, suffix].filter((p) => p !== '').join(separator);
}

/**
 * Local directory store (kubelet layout): file names. Names starting with `.` are refused because the
 * kubelet's `..data` / `..<timestamp>` layout reserves them (and `.`/`..` are not file names), so a
 * leading dot becomes `_`. Case-insensitive because the directory may sit on a case-insensitive file
 * system (macOS, Windows), where `Foo` and `foo` would silently be one file.
 */
export const localNaming: StoreNamingRule = {
  store: 'local',
  maxLength: 253,
  pattern: /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/,
  caseInsensitive: true,
  sanitize: (candidate) => {
    const s = replaceOutside('A-Za-z0-9._-', '_')(candidate);
    return s.replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  },
};

/**
 * GCP Secret Manager secret ids. Anything else (notably `.` and `/`) becomes `_`, as in the earlier
 * Rust controller, so existing secrets keep their names after a migration.
 */
export const gcpNaming: StoreNamingRule = {
  store: 'gcp',
  maxLength: 255,
  pattern: /^[A-Za-z0-9_-]+$/,
  sanitize: replaceOutside('A-Za-z0-9_-', '_'),
};

/** AWS Secrets Manager names: `/`, `.`, `+`, `=`, `@` are allowed, so hierarchical names survive. */
export const awsNaming: StoreNamingRule = {
  store: 'aws',
  maxLength: 512,
  pattern: /^[A-Za-z0-9/_+=.@-]+$/,
  sanitize: replaceOutside('A-Za-z0-9/_+=.@-', '_'),
};

/**
 * Azure Key Vault secret names: only letters, digits and `-`, so `_`, `.` and everything else become
 * `-` (one for one, no collapsing, to keep distinct keys distinct). Key Vault names are
 * case-insensitive: `DB-URL` and `db-url` are the same secret.
 */
export const azureKeyVaultNaming: StoreNamingRule = {
  store: 'azure-keyvault',
  maxLength: 127,
  pattern: /^[0-9A-Za-z-]+$/,
  caseInsensitive: true,
  sanitize: replaceOutside('0-9A-Za-z-', '-'),
};

/**
 * Kubernetes Secret data keys (`IsConfigMapKey`): `[-._a-zA-Z0-9]+`, at most 253, and not `.`, `..`
 * or anything starting with `..` (the kubelet's volume layout reserves those).
 */
export const k8sNaming: StoreNamingRule = {
  store: 'k8s',
  maxLength: 253,
  pattern: /^[-._a-zA-Z0-9]+$/,
  sanitize: (candidate) => {
    const s = replaceOutside('-._a-zA-Z0-9', '_')(candidate);
    return s === '.' || s.startsWith('..') ? `_${s.slice(1)}` : s;
  },
  validate: (name) =>
    name === '.' || name.startsWith('..') ? 'names "." and starting with ".." are reserved' : undefined,
};

const SSM_SEGMENT = /^[a-zA-Z0-9_.-]+$/;
const SSM_MAX_LENGTH = 1011;
const SSM_MAX_DEPTH = 15;

function ssmPathProblem(segments: readonly string[], maxDepth = SSM_MAX_DEPTH): string | undefined {
  for (const seg of segments) {
    if (!SSM_SEGMENT.test(seg)) return `path segment "${seg}" is not [a-zA-Z0-9_.-]+`;
  }
  if (segments.length > maxDepth) return `more than ${SSM_MAX_DEPTH} levels including the key`;
  const first = segments[0]?.toLowerCase() ?? '';
  if (first.startsWith('aws') || first.startsWith('ssm')) return 'names may not begin with "aws" or "ssm"';
  return undefined;
}

/**
 * AWS SSM Parameter Store names under `parameterPath` (e.g. `/myapp/dev`): `<path>/<prefix-key-suffix>`.
 * The leaf keeps `[a-zA-Z0-9_.-]` (so `api.timeout` stays readable); `/` in a key becomes `_` so every
 * key is exactly one leaf under the path. An empty path gives flat names. The path itself comes from
 * the spec, so a bad one is an InvalidSpec error here rather than an InvalidName per key later.
 */
export function ssmNaming(parameterPath: string): StoreNamingRule {
  const trimmed = parameterPath.trim().replace(/\/+$/, '');
  const path = trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  const pathSegments = path === '' ? [] : path.slice(1).split('/');
  const problem = ssmPathProblem(pathSegments, SSM_MAX_DEPTH - 1); // one level is left for the key
  if (problem !== undefined) {
    throw new SmcError('InvalidSpec', `configs.parameterPath "${parameterPath}": ${problem}`);
  }
  const sanitize = replaceOutside('a-zA-Z0-9_.-', '_');
  return {
    store: 'ssm',
    maxLength: SSM_MAX_LENGTH,
    pattern: /^(?:\/[a-zA-Z0-9_.-]+)+$|^[a-zA-Z0-9_.-]+$/,
    sanitize,
    compose: (parts) => {
      const leaf = sanitize(joinNameParts(parts));
      return path === '' ? leaf : `${path}/${leaf}`;
    },
    validate: (name) => ssmPathProblem(name.replace(/^\//, '').split('/')),
  };
}

/**
 * Azure App Configuration keys `prefix:environment:key` (a suffix is appended to the key part as
 * `key-suffix`). Any character but `%` is allowed; `.` and `..` are reserved. The 10 KB limit counts
 * key and value together, so it is enforced by `checkLimits` with `countNameBytes`.
 */
export function appConfigNaming(opts: { environment: string }): StoreNamingRule {
  const sanitize = (s: string) => s.replace(/%/g, '_');
  return {
    store: 'appconfig',
    maxLength: 10 * 1024,
    pattern: /^[^%]+$/u,
    sanitize,
    compose: (parts) => {
      const last = joinNameParts({ key: parts.key, suffix: parts.suffix });
      return sanitize(
        [(parts.prefix ?? '').replace(/-+$/, ''), opts.environment, last].filter((p) => p !== '').join(':'),
      );
    },
    validate: (name) => (name === '.' || name === '..' ? 'keys "." and ".." are reserved' : undefined),
  };
}

const STATIC_RULES: Record<StaticStoreType, StoreNamingRule> = {
  local: localNaming,
  gcp: gcpNaming,
  aws: awsNaming,
  'azure-keyvault': azureKeyVaultNaming,
  k8s: k8sNaming,
};

/** The naming rule for a store type; `ssm` needs `parameterPath`, `appconfig` needs `environment`. */
export function namingRuleFor(
  store: StoreType,
  opts: { parameterPath?: string; environment?: string } = {},
): StoreNamingRule {
  if (store === 'ssm') return ssmNaming(opts.parameterPath ?? '');
  if (store === 'appconfig') {
    if (opts.environment === undefined) {
      throw new SmcError('InvalidSpec', 'appconfig naming needs secrets.environment');
    }
    return appConfigNaming({ environment: opts.environment });
  }
  return STATIC_RULES[store];
}
