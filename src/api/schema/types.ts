/** The TypeScript types of the SecretManagerConfig API, derived from the schema, never written twice. */
import type { z } from 'zod';
import type { SecretManagerConfigSchema } from './object.js';
import type { LOG_LEVELS, LOGGING_AREAS } from './observability.js';
import type { PROVIDER_NAMES } from './provider.js';
import type { SpecSchema } from './spec.js';
import type { CONDITION_TYPES, ConditionSchema, EntryStatusSchema, PHASES, StatusSchema } from './status.js';

export type SecretManagerConfig = z.output<typeof SecretManagerConfigSchema>;
/** The spec after defaulting: what the controller and the pipeline work with. */
export type SecretManagerConfigSpec = z.output<typeof SpecSchema>;
/** The spec as a user may write it (defaults optional). */
export type SecretManagerConfigSpecInput = z.input<typeof SpecSchema>;
export type SecretManagerConfigStatus = z.output<typeof StatusSchema>;

export type SourceRef = SecretManagerConfigSpec['sourceRef'];
export type SourceKind = SourceRef['kind'];
export type ProviderSpec = SecretManagerConfigSpec['provider'];
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export type GcpProvider = NonNullable<ProviderSpec['gcp']>;
export type AwsProvider = NonNullable<ProviderSpec['aws']>;
export type AzureProvider = NonNullable<ProviderSpec['azure']>;
export type KubernetesProvider = NonNullable<ProviderSpec['kubernetes']>;
export type SecretsSpec = SecretManagerConfigSpec['secrets'];
export type SopsSpec = SecretsSpec['sops'];
export type SecretKeyRef = NonNullable<SopsSpec['ageSecretRef']>;
export type ObjectRef = NonNullable<SourceRef['gitCredentials']>;
export type ConfigsSpec = SecretManagerConfigSpec['configs'];
export type ConfigStore = ConfigsSpec['store'];
export type LoggingSpec = NonNullable<SecretManagerConfigSpec['logging']>;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LoggingArea = (typeof LOGGING_AREAS)[number];
export type OtelSpec = NonNullable<SecretManagerConfigSpec['otel']>;
export type NotificationsSpec = NonNullable<SecretManagerConfigSpec['notifications']>;
export type ArgoSubscription = NonNullable<NotificationsSpec['argocd']>['subscriptions'][number];
export type HotReloadSpec = SecretManagerConfigSpec['hotReload'];
export type DriftPolicy = SecretManagerConfigSpec['driftPolicy'];
export type Phase = (typeof PHASES)[number];
export type Condition = z.output<typeof ConditionSchema>;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type EntryStatus = z.output<typeof EntryStatusSchema>;
export type EntryState = EntryStatus['state'];
export type HotReloadStatus = NonNullable<SecretManagerConfigStatus['hotReload']>;

/** The one provider a spec selects, as a discriminated union (the schema guarantees exactly one). */
export type SelectedProvider =
  | { name: 'gcp'; gcp: GcpProvider }
  | { name: 'aws'; aws: AwsProvider }
  | { name: 'azure'; azure: AzureProvider }
  | { name: 'kubernetes'; kubernetes: KubernetesProvider };
