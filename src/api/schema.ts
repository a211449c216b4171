/**
 * The SecretManagerConfig API (docs/crd-reference.md): one zod schema that is the single source of
 * truth, composed here from one module per part of the object under `schema/`. The TypeScript types
 * are derived from it (`schema/types.ts`), `parseSpec` validates with it (`schema/parse.ts`), and
 * `src/api/crd.ts` turns it into the CRD (`config/crd/secretmanagerconfig.yaml`) and
 * `docs/crd-reference.md`.
 *
 *   schema/fields.ts          the bounded field types every part is built from
 *   schema/source.ts          spec.sourceRef
 *   schema/provider.ts        spec.provider (GCP, AWS, Azure, Kubernetes and their auth)
 *   schema/secrets.ts         spec.secrets (with sops) and spec.configs
 *   schema/observability.ts   spec.logging, spec.otel
 *   schema/notifications.ts   spec.notifications
 *   schema/hot-reload.ts      spec.hotReload
 *   schema/spec.ts            spec: the parts above, policies, intervals, rules across parts
 *   schema/status.ts          status
 *   schema/object.ts          the whole object
 *
 * Conventions that keep the generated CRD structural and apiserver-friendly:
 * - no unions: "exactly one of" is an object of optional fields plus a cross-field rule;
 * - every string, array and map has a bound (maxLength / maxItems / maxProperties) so CEL cost
 *   estimates stay far below the apiserver's budget;
 * - patterns come from `patterns.ts` and are valid in both JavaScript and RE2;
 * - cross-field rules are declared with `withRules` (zod refinement + CEL, side by side);
 * - objects whose fields all have defaults use `.prefault({})`: zod fills them in, and the CRD gets
 *   the same object, written out in full, as its `default`.
 */
export { FLUX_SOURCE_KINDS, SOURCE_KINDS } from './schema/source.js';
export { PROVIDER_NAMES } from './schema/provider.js';
export { CONFIG_STORES } from './schema/secrets.js';
export { LOG_LEVELS, LOGGING_AREAS } from './schema/observability.js';
export { WORKLOAD_RELOAD_MODES } from './schema/hot-reload.js';
export {
  DELETION_POLICIES,
  DRIFT_POLICIES,
  MIN_GIT_PULL_INTERVAL,
  SpecSchema as SecretManagerConfigSpecSchema,
} from './schema/spec.js';
export {
  CONDITION_TYPES,
  ENTRY_STATES,
  PHASES,
  StatusSchema as SecretManagerConfigStatusSchema,
} from './schema/status.js';
export { SecretManagerConfigSchema } from './schema/object.js';
export type * from './schema/types.js';
export { azureVaultUrl, selectedProvider } from './schema/selected-provider.js';
export { parseSecretManagerConfig, parseSpec, specIntervals, specIssues } from './schema/parse.js';
export type { SpecIssue } from './schema/parse.js';
