/**
 * Parsing at the boundary: validate and default a spec or a whole object, and report every problem
 * with its field path and a message that never echoes the input.
 */
import type { z } from 'zod';
import { SmcError } from '../../errors.js';
import { parseDuration } from '../duration.js';
import { SecretManagerConfigSchema } from './object.js';
import { MIN_GIT_PULL_INTERVAL, SpecSchema } from './spec.js';
import type { SecretManagerConfig, SecretManagerConfigSpec } from './types.js';

export interface SpecIssue {
  /** Field path, e.g. `spec.provider.gcp.projectId` or `spec.notifications.argocd.subscriptions[0].service`. */
  path: string;
  message: string;
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Messages for zod's built-in issues. Never echoes the input: a spec field may sit next to a secret. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) {
    return 'required';
  }
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item(s)`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'datetime'
        ? 'must be an RFC 3339 timestamp'
        : `has an invalid format (${issue.format})`;
    default:
      return undefined; // zod's own message
  }
}

function article(type: string): string {
  if (type === 'int') return 'an integer';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function collectIssues(error: z.ZodError, root: string): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: formatPath(root, [...issue.path, key]), message: 'unknown field' });
    } else {
      out.push({ path: formatPath(root, issue.path), message: issue.message });
    }
  }
  return out;
}

const parseParams = { error: issueMessage };

/** Validation problems of a spec, each with its field path (`spec.…`); empty when valid. */
export function specIssues(input: unknown): SpecIssue[] {
  const r = SpecSchema.safeParse(input, parseParams);
  return r.success ? [] : collectIssues(r.error, 'spec');
}

function invalid(where: string, issues: SpecIssue[]): SmcError {
  const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new SmcError('InvalidSpec', `${where ? `${where}: ` : ''}invalid SecretManagerConfig: ${list}`);
}

/**
 * Validate and default a spec. `where` names the object in the error message (`team-a/payments`, a
 * file path, …). Throws `SmcError('InvalidSpec')` listing every problem as `spec.<path>: <message>`.
 *
 * Defaults that depend on the object's metadata are left to the caller: `sourceRef.namespace`,
 * `*.namespace` of Secret references (the SMC's namespace) and `provider.kubernetes.secretName`
 * (the SMC's name).
 */
export function parseSpec(input: unknown, where: string): SecretManagerConfigSpec {
  const r = SpecSchema.safeParse(input, parseParams);
  if (!r.success) throw invalid(where, collectIssues(r.error, 'spec'));
  return r.data;
}

/** Validate a whole SecretManagerConfig object (e.g. a manifest read by the CLI). */
export function parseSecretManagerConfig(input: unknown, where: string): SecretManagerConfig {
  const r = SecretManagerConfigSchema.safeParse(input, parseParams);
  if (!r.success) throw invalid(where, collectIssues(r.error, ''));
  return r.data;
}

/** The spec's intervals in milliseconds. */
export function specIntervals(
  spec: Pick<SecretManagerConfigSpec, 'reconcileInterval' | 'gitRepositoryPullInterval'>,
): {
  reconcileMs: number;
  gitPullMs: number;
} {
  return {
    reconcileMs: parseDuration(spec.reconcileInterval, { field: 'spec.reconcileInterval' }),
    gitPullMs: parseDuration(spec.gitRepositoryPullInterval, {
      field: 'spec.gitRepositoryPullInterval',
      min: MIN_GIT_PULL_INTERVAL,
    }),
  };
}
