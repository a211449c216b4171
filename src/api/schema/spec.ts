/** `spec`: the parts composed into one desired state, with the policies and intervals that span them and the rules across parts. */
import { z } from 'zod';
import * as P from '../patterns.js';
import { celString, withRules } from '../rules.js';
import { durationFrom } from './fields.js';
import { HotReloadSchema } from './hot-reload.js';
import { NotificationsSchema } from './notifications.js';
import { LoggingSchema, OtelSchema } from './observability.js';
import { ProviderSchema } from './provider.js';
import { ConfigsSchema, SecretsSchema } from './secrets.js';
import { SourceRefSchema } from './source.js';

export const DRIFT_POLICIES = ['Report', 'Correct'] as const;
export const DELETION_POLICIES = ['Retain', 'Disable', 'Delete'] as const;
/** Lower bound of `gitRepositoryPullInterval` (docs/crd-reference.md). */
export const MIN_GIT_PULL_INTERVAL = '1m';

export const SpecSchema = withRules(
  z.strictObject({
    sourceRef: SourceRefSchema,
    provider: ProviderSchema,
    secrets: SecretsSchema,
    configs: ConfigsSchema.prefault({}),
    reconcileInterval: durationFrom('0s', false)
      .default('1m')
      .describe(
        'How often source and spec are re-checked (cheap). Changes in Git are acted on at once, not on this ' +
          'timer; store verification follows the `drift_check_interval` setting.',
      ),
    gitRepositoryPullInterval: durationFrom(MIN_GIT_PULL_INTERVAL, true)
      .default('5m')
      .describe(
        `Argo CD sources: how often the remote is checked for a new revision (\`git ls-remote\`). Minimum ${MIN_GIT_PULL_INTERVAL}.`,
      ),
    diffDiscovery: z
      .boolean()
      .default(false)
      .describe(
        'During store verification, report values changed outside Git (condition Drifted, Event, metric, notification).',
      ),
    driftPolicy: z
      .enum(DRIFT_POLICIES)
      .default('Report')
      .describe(
        'Report: only report drift. Correct: overwrite drifted values from Git (needs diffDiscovery: true).',
      ),
    triggerUpdate: z
      .boolean()
      .default(true)
      .describe('When false, only missing entries are created; existing ones are never overwritten.'),
    deletionPolicy: z
      .enum(DELETION_POLICIES)
      .default('Retain')
      .describe(
        'What happens to store entries whose key left Git, and to all entries when the SecretManagerConfig ' +
          'is deleted: keep them, disable them, or delete them. Disable and Delete put a finalizer on the ' +
          'SecretManagerConfig, so its deletion waits until its entries are cleaned; Retain needs none.',
      ),
    allowPruneAll: z
      .boolean()
      .default(false)
      .describe(
        'Allow a sync that would delete or disable (per deletionPolicy) every store entry this ' +
          'SecretManagerConfig owns. By default such a pass is refused with nothing changed (Ready=False, ' +
          'reason PruneAllRefused): a typo in the environment, basePath or prefix looks exactly like it. ' +
          'Deleting the SecretManagerConfig always applies deletionPolicy.',
      ),
    suspend: z.boolean().default(false).describe('No reconcile at all while true.'),
    suspendGitPulls: z
      .boolean()
      .default(false)
      .describe(
        'While true: sets `spec.suspend` on the referenced Flux source (and clears it afterwards if ' +
          'this controller set it); for an Argo CD Application, stops the periodic `ls-remote` pulls.',
      ),
    logging: LoggingSchema.optional(),
    otel: OtelSchema.optional(),
    notifications: NotificationsSchema.optional(),
    hotReload: HotReloadSchema.prefault({}),
  }),
  [
    {
      cel: "self.driftPolicy != 'Correct' || self.diffDiscovery",
      holds: (s) => s.driftPolicy !== 'Correct' || s.diffDiscovery,
      message: 'Correct requires diffDiscovery: true (drift must be detected to be corrected)',
      field: ['driftPolicy'],
    },
    {
      cel: "!has(self.notifications) || !has(self.notifications.argocd) || self.sourceRef.kind == 'Application'",
      holds: (s) => s.notifications?.argocd === undefined || s.sourceRef.kind === 'Application',
      message: 'only allowed when sourceRef.kind is Application',
      field: ['notifications', 'argocd'],
      reason: 'FieldValueForbidden',
    },
    {
      cel: `!has(self.provider.gcp) || !has(self.secrets.environment) || self.secrets.environment.matches(${celString(P.GCP_LABEL_VALUE)})`,
      holds: (s) => s.provider.gcp === undefined || new RegExp(P.GCP_LABEL_VALUE).test(s.secrets.environment),
      message: 'with provider gcp, must be a valid GCP label value (lowercase letters, digits, "_", "-")',
      field: ['secrets', 'environment'],
    },
    {
      cel: "self.configs.store != 'ParameterManager' || has(self.provider.gcp)",
      holds: (s) => s.configs.store !== 'ParameterManager' || s.provider.gcp !== undefined,
      message: 'ParameterManager is only available with provider gcp',
      field: ['configs', 'store'],
    },
    {
      cel: '!has(self.configs.parameterPath) || has(self.provider.aws)',
      holds: (s) => s.configs.parameterPath === undefined || s.provider.aws !== undefined,
      message: 'only allowed with provider aws',
      field: ['configs', 'parameterPath'],
      reason: 'FieldValueForbidden',
    },
    {
      cel: '!has(self.configs.appConfigEndpoint) || has(self.provider.azure)',
      holds: (s) => s.configs.appConfigEndpoint === undefined || s.provider.azure !== undefined,
      message: 'only allowed with provider azure',
      field: ['configs', 'appConfigEndpoint'],
      reason: 'FieldValueForbidden',
    },
  ],
).describe('Desired state: where the secrets come from, where they go, and how they are synced.');
