/** GCP stores: Secret Manager (`gcp`) for secrets, Parameter Manager (`gcp-pm`) for configs. */
export {
  GcpSecretManagerStore,
  GCP_ANNOTATIONS,
  type GcpSecretManagerStoreOptions,
} from './secret-manager.js';
export { GcpParameterManagerStore, type GcpParameterManagerStoreOptions } from './parameter-manager.js';
export { newParameterVersionId } from './parameter-versions.js';
export { GCP_PARAMETER_LIMITS, GCP_SECRET_LIMITS, gcpNaming, gcpParameterNaming } from './naming.js';
export type { GcpStoreCommonOptions } from './common.js';
export {
  ENDPOINT_ENV,
  gcpClientOptions,
  parseEndpoint,
  parseServiceAccountKey,
  type GcpEndpoint,
  type GcpService,
  type ServiceAccountKey,
} from './client-options.js';
export { GcpProviderError, gcpProviderError } from './errors.js';
