/** The Kubernetes Secret store's naming rule and limits. */
import type { StoreLimits } from '../../naming/limits.js';
import { replaceOutside, type StoreNamingRule } from '../../naming/store-rules.js';

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

/** The API server's limit on a Secret's `data`: the sum of every key's and value's length. */
export const K8S_SECRET_MAX_BYTES = 1024 * 1024;

/**
 * Per value: what always fits in the Secret beside the longest key. The whole Secret's 1 MiB
 * (`K8S_SECRET_MAX_BYTES`, keys and values together) is checked when applying.
 */
export const K8S_LIMITS: StoreLimits = { maxValueBytes: K8S_SECRET_MAX_BYTES - k8sNaming.maxLength };
