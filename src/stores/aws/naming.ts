/** The AWS stores' naming rules and limits: Secrets Manager (`aws`) and SSM Parameter Store (`ssm`). */
import { SmcError } from '../../errors.js';
import type { StoreLimits } from '../../naming/limits.js';
import { joinNameParts, replaceOutside, type StoreNamingRule } from '../../naming/store-rules.js';

/** AWS Secrets Manager names: `/`, `.`, `+`, `=`, `@` are allowed, so hierarchical names survive. */
export const awsNaming: StoreNamingRule = {
  store: 'aws',
  maxLength: 512,
  pattern: /^[A-Za-z0-9/_+=.@-]+$/,
  sanitize: replaceOutside('A-Za-z0-9/_+=.@-', '_'),
};

/** A Secrets Manager value may be up to 64 KB. */
export const AWS_SECRET_LIMITS: StoreLimits = { maxValueBytes: 65_536 };

/** A Standard parameter holds 4 KB; an Advanced one 8 KB. */
export const SSM_LIMITS: StoreLimits = { maxValueBytes: 4 * 1024 };
export const SSM_ADVANCED_LIMITS: StoreLimits = { maxValueBytes: 8 * 1024 };

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
