/**
 * The SecretManagerConfig API (docs/crd-reference.md): one zod schema that is the single source of truth. The
 * TypeScript types below are derived from it, `parseSpec` validates with it, and `src/api/crd.ts`
 * turns it into the CRD (`config/crd/secretmanagerconfig.yaml`) and `docs/crd-reference.md`.
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
import { z } from 'zod';
import { SmcError } from '../errors.js';
import { API_VERSION, DEFAULT_SETTINGS_CONFIGMAP, KIND } from './constants.js';
import {
  DURATION_MAX_LENGTH,
  DURATION_PATTERN,
  durationMs,
  formatDuration,
  MAX_DURATION_MS,
  parseDuration,
} from './duration.js';
import * as P from './patterns.js';
import { celString, withRules } from './rules.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

function pattern(source: string, message: string, maxLength: number) {
  return z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(maxLength)
    .regex(new RegExp(source), { error: message })
    .meta({ pattern: source }); // the source as written (RegExp#source would escape `/`)
}

const objectName = () =>
  pattern(P.DNS_SUBDOMAIN, 'must be a Kubernetes object name (RFC 1123 subdomain)', 253);
const namespaceName = () => pattern(P.DNS_LABEL, 'must be a Kubernetes namespace name (RFC 1123 label)', 63);
const secretDataKey = () => pattern(P.SECRET_DATA_KEY, 'must be a Secret data key ([-._a-zA-Z0-9]+)', 253);
const relativePath = () =>
  pattern(P.RELATIVE_PATH, 'must be a path relative to the source root, without ".." segments', 512);
const DURATION_RE = new RegExp(DURATION_PATTERN);
const duration = () =>
  pattern(
    DURATION_PATTERN,
    'must be a duration such as 30s, 1m or 1h30m (units h, m, s, ms)',
    DURATION_MAX_LENGTH,
  )
    // Go (and so the apiserver's CEL) cannot represent more.
    .refine((d) => !DURATION_RE.test(d) || durationMs(d) !== undefined, {
      error: `must be at most ${formatDuration(MAX_DURATION_MS)}`,
    });
/** A duration with a lower bound: `> min` or, when `inclusive`, `>= min`. */
const durationFrom = (min: string, inclusive: boolean) => {
  const minMs = durationMs(min) ?? 0;
  return withRules(duration(), [
    {
      cel: `!self.matches(${celString(DURATION_PATTERN)}) || duration(self) ${inclusive ? '>=' : '>'} duration('${min}')`,
      holds: (d) => {
        const ms = durationMs(d);
        return ms === undefined || (inclusive ? ms >= minMs : ms > minMs);
      },
      message: inclusive ? `must be at least ${min}` : `must be greater than ${min}`,
    },
  ]);
};
const singleLine = (maxLength: number) => pattern(P.SINGLE_LINE, 'must be a single line of text', maxLength);
const stringMap = (what: string) =>
  z
    .record(z.string(), z.string().max(4096))
    .refine((m) => Object.keys(m).length <= 64, { error: `must have at most 64 ${what}` })
    .meta({ maxProperties: 64 });
const timestamp = () => z.iso.datetime({ offset: true });
const count = () => z.int().min(0).max(2_147_483_647).meta({ format: 'int32' });
const generation = () => z.int().min(0).meta({ format: 'int64' });

/** `{name, namespace?}` reference to an object; `namespace` defaults as the field says. */
const objectRef = (what: string, namespaceDefault: string) =>
  z.strictObject({
    name: objectName().describe(`Name of the ${what}.`),
    namespace: namespaceName().optional().describe(`Namespace of the ${what}. Default: ${namespaceDefault}.`),
  });

/** A key in a Secret: `{name, namespace?, key}`. */
const secretKeyRef = (what: string, defaultKey: string) =>
  z.strictObject({
    name: objectName().describe(`Name of the Secret holding the ${what}.`),
    namespace: namespaceName()
      .optional()
      .describe("Namespace of the Secret. Default: the SecretManagerConfig's namespace."),
    key: secretDataKey().default(defaultKey).describe(`Key in the Secret's data that holds the ${what}.`),
  });

// ---------------------------------------------------------------------------------------------
// spec.sourceRef

export const SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket', 'Application'] as const;
/** Source kinds served by Flux (anything with `status.artifact`); `Application` is Argo CD. */
export const FLUX_SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket'] as const;

const SourceRefSchema = withRules(
  z.strictObject({
    kind: z
      .enum(SOURCE_KINDS)
      .default('GitRepository')
      .describe(
        'Kind of the source: a Flux source (GitRepository, OCIRepository, Bucket — any source with ' +
          '`status.artifact`) or an Argo CD Application.',
      ),
    name: objectName().describe('Name of the Flux source or Argo CD Application.'),
    namespace: namespaceName()
      .optional()
      .describe("Namespace of the source. Default: the SecretManagerConfig's namespace."),
    gitCredentials: objectRef('Secret', "the SecretManagerConfig's namespace")
      .optional()
      .describe(
        "Application only: Secret with Git credentials for fetching the Application's repository — " +
          '`username` + `password`, `token`, or `sshPrivateKey` (with optional `known_hosts`). ' +
          "When absent, Argo CD's own repository Secrets (label `argocd.argoproj.io/secret-type=repository`) are used.",
      ),
  }),
  [
    {
      cel: "!has(self.gitCredentials) || self.kind == 'Application'",
      holds: (s) => s.gitCredentials === undefined || s.kind === 'Application',
      message: 'only allowed when kind is Application (Flux sources carry their own credentials)',
      field: ['gitCredentials'],
      reason: 'FieldValueForbidden',
    },
  ],
).describe('The GitOps source the secrets are read from.');

// ---------------------------------------------------------------------------------------------
// spec.provider

const GcpAuthSchema = withRules(
  z.strictObject({
    type: z
      .enum(['workloadIdentity', 'serviceAccountKey'])
      .default('workloadIdentity')
      .describe(
        'workloadIdentity: Application Default Credentials (GKE Workload Identity, metadata server, ' +
          '`GOOGLE_APPLICATION_CREDENTIALS`). serviceAccountKey: a service-account JSON key read from `secretRef`.',
      ),
    secretRef: secretKeyRef('service-account JSON key', 'credentials.json')
      .optional()
      .describe('serviceAccountKey only: Secret holding the service-account JSON key.'),
  }),
  [
    {
      cel: "self.type != 'serviceAccountKey' || has(self.secretRef)",
      holds: (a) => a.type !== 'serviceAccountKey' || a.secretRef !== undefined,
      message: 'must be set when type is serviceAccountKey',
      field: ['secretRef'],
      reason: 'FieldValueRequired',
    },
    {
      cel: "self.type == 'serviceAccountKey' || !has(self.secretRef)",
      holds: (a) => a.type === 'serviceAccountKey' || a.secretRef === undefined,
      message: 'only allowed when type is serviceAccountKey',
      field: ['secretRef'],
      reason: 'FieldValueForbidden',
    },
  ],
);

const GcpProviderSchema = z
  .strictObject({
    projectId: pattern(
      P.GCP_PROJECT_ID,
      'must be a GCP project id (6-30 characters: lowercase letters, digits, hyphens) or project number',
      100,
    ).describe('GCP project that holds the secrets.'),
    location: pattern(P.GCP_REGION, 'must be a GCP region such as europe-west4', 63)
      .optional()
      .describe('Region for regional secrets. When absent, secrets use automatic replication.'),
    auth: GcpAuthSchema.prefault({}).describe('How the controller authenticates to GCP.'),
  })
  .describe('GCP Secret Manager (and Parameter Manager for configs).');

const AwsAuthSchema = withRules(
  z.strictObject({
    type: z
      .enum(['default', 'accessKeys', 'assumeRole'])
      .default('default')
      .describe(
        'default: the AWS SDK credential chain (IRSA, EKS Pod Identity, environment). accessKeys: static ' +
          'keys read from `secretRef`. assumeRole: assume `roleArn` with STS, starting from `secretRef` ' +
          'when set, else from the default chain.',
      ),
    roleArn: pattern(P.AWS_ROLE_ARN, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)', 2048)
      .optional()
      .describe('assumeRole only: the role to assume.'),
    secretRef: objectRef('Secret', "the SecretManagerConfig's namespace")
      .optional()
      .describe(
        'accessKeys (required) or assumeRole (optional): Secret with keys `AWS_ACCESS_KEY_ID`, ' +
          '`AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.',
      ),
  }),
  [
    {
      cel: "self.type != 'accessKeys' || has(self.secretRef)",
      holds: (a) => a.type !== 'accessKeys' || a.secretRef !== undefined,
      message: 'must be set when type is accessKeys',
      field: ['secretRef'],
      reason: 'FieldValueRequired',
    },
    {
      cel: "self.type != 'default' || !has(self.secretRef)",
      holds: (a) => a.type !== 'default' || a.secretRef === undefined,
      message: 'only allowed when type is accessKeys or assumeRole',
      field: ['secretRef'],
      reason: 'FieldValueForbidden',
    },
    {
      cel: "self.type != 'assumeRole' || has(self.roleArn)",
      holds: (a) => a.type !== 'assumeRole' || a.roleArn !== undefined,
      message: 'must be set when type is assumeRole',
      field: ['roleArn'],
      reason: 'FieldValueRequired',
    },
    {
      cel: "self.type == 'assumeRole' || !has(self.roleArn)",
      holds: (a) => a.type === 'assumeRole' || a.roleArn === undefined,
      message: 'only allowed when type is assumeRole',
      field: ['roleArn'],
      reason: 'FieldValueForbidden',
    },
  ],
);

const AwsProviderSchema = z
  .strictObject({
    region: pattern(P.AWS_REGION, 'must be an AWS region such as eu-central-1', 63).describe(
      'AWS region of Secrets Manager (and SSM Parameter Store for configs).',
    ),
    auth: AwsAuthSchema.prefault({}).describe('How the controller authenticates to AWS.'),
  })
  .describe('AWS Secrets Manager (and SSM Parameter Store for configs).');

const AzureAuthSchema = withRules(
  z.strictObject({
    type: z
      .enum(['workloadIdentity', 'managedIdentity', 'servicePrincipal'])
      .default('workloadIdentity')
      .describe(
        'workloadIdentity: AKS Workload Identity (federated token). managedIdentity: the node or pod ' +
          'managed identity (`clientId` selects a user-assigned one). servicePrincipal: `clientId`, ' +
          '`tenantId` and a client secret read from `secretRef`.',
      ),
    clientId: pattern(P.UUID, 'must be a GUID', 36)
      .optional()
      .describe(
        'Application (client) id. workloadIdentity: overrides the service account annotation; ' +
          'managedIdentity: selects a user-assigned identity; servicePrincipal: required.',
      ),
    tenantId: pattern(P.AZURE_TENANT, 'must be a tenant GUID or domain', 253)
      .optional()
      .describe('Entra tenant id. servicePrincipal: required; workloadIdentity: overrides the environment.'),
    secretRef: objectRef('Secret', "the SecretManagerConfig's namespace")
      .optional()
      .describe('servicePrincipal only: Secret with key `AZURE_CLIENT_SECRET`.'),
  }),
  [
    {
      cel: "self.type != 'servicePrincipal' || has(self.secretRef)",
      holds: (a) => a.type !== 'servicePrincipal' || a.secretRef !== undefined,
      message: 'must be set when type is servicePrincipal',
      field: ['secretRef'],
      reason: 'FieldValueRequired',
    },
    {
      cel: "self.type != 'servicePrincipal' || has(self.clientId)",
      holds: (a) => a.type !== 'servicePrincipal' || a.clientId !== undefined,
      message: 'must be set when type is servicePrincipal',
      field: ['clientId'],
      reason: 'FieldValueRequired',
    },
    {
      cel: "self.type != 'servicePrincipal' || has(self.tenantId)",
      holds: (a) => a.type !== 'servicePrincipal' || a.tenantId !== undefined,
      message: 'must be set when type is servicePrincipal',
      field: ['tenantId'],
      reason: 'FieldValueRequired',
    },
    {
      cel: "self.type == 'servicePrincipal' || !has(self.secretRef)",
      holds: (a) => a.type === 'servicePrincipal' || a.secretRef === undefined,
      message: 'only allowed when type is servicePrincipal',
      field: ['secretRef'],
      reason: 'FieldValueForbidden',
    },
  ],
);

const AzureProviderSchema = withRules(
  z.strictObject({
    vaultUrl: pattern(P.HTTPS_URL, 'must be an https:// URL', 512)
      .optional()
      .describe(
        'Key Vault URL: `https://<vault>.vault.azure.net/`, a sovereign-cloud vault, or an emulator. ' +
          'Set this or `vaultName`.',
      ),
    vaultName: pattern(
      P.AZURE_VAULT_NAME,
      'must be a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter)',
      24,
    )
      .min(3, { error: 'must be at least 3 characters' })
      .optional()
      .describe('Key Vault name in the public cloud; expands to `https://<vaultName>.vault.azure.net/`.'),
    auth: AzureAuthSchema.prefault({}).describe('How the controller authenticates to Azure.'),
  }),
  [
    {
      cel: 'has(self.vaultUrl) != has(self.vaultName)',
      holds: (a) => (a.vaultUrl !== undefined) !== (a.vaultName !== undefined),
      message: 'exactly one of vaultUrl or vaultName must be set',
    },
  ],
).describe('Azure Key Vault (and App Configuration for configs).');

const KubernetesProviderSchema = z
  .strictObject({
    secretName: objectName()
      .optional()
      .describe(
        "Name of the Secret to write, in the SecretManagerConfig's namespace. Default: the SecretManagerConfig's name.",
      ),
    labels: stringMap('labels').optional().describe('Extra labels on the Secret.'),
    annotations: stringMap('annotations').optional().describe('Extra annotations on the Secret.'),
  })
  .describe(
    "Writes one Kubernetes Secret in the SecretManagerConfig's namespace, so pods can mount the synced " +
      'values and hot-reload them from files.',
  );

export const PROVIDER_NAMES = ['gcp', 'aws', 'azure', 'kubernetes'] as const;

const ProviderSchema = withRules(
  z.strictObject({
    gcp: GcpProviderSchema.optional(),
    aws: AwsProviderSchema.optional(),
    azure: AzureProviderSchema.optional(),
    kubernetes: KubernetesProviderSchema.optional(),
  }),
  [
    {
      cel: '[has(self.gcp), has(self.aws), has(self.azure), has(self.kubernetes)].filter(x, x).size() == 1',
      holds: (p) => PROVIDER_NAMES.filter((n) => p[n] !== undefined).length === 1,
      message: 'exactly one of gcp, aws, azure or kubernetes must be set',
    },
  ],
).describe('Where secrets go: exactly one of gcp, aws, azure or kubernetes.');

// ---------------------------------------------------------------------------------------------
// spec.secrets, spec.configs

const SopsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Decrypt SOPS-encrypted files. An encrypted file is never pushed as ciphertext: when this is ' +
          'false, or no key can decrypt it, the sync fails naming the file.',
      ),
    ageSecretRef: secretKeyRef('age identity (one or more lines)', 'age.agekey')
      .optional()
      .describe(
        'Secret with the age identity. Default: the controller-wide `sops-keys` Secret in the controller namespace, for SMCs in the namespaces the setting `controller_key_namespaces` lists (docs/security.md).',
      ),
    gpgSecretRef: secretKeyRef('ASCII-armoured PGP private key(s)', 'private.key')
      .optional()
      .describe(
        'Secret with the PGP private key(s). Default: the controller-wide `sops-keys` Secret in the controller namespace, for SMCs in the namespaces the setting `controller_key_namespaces` lists (docs/security.md).',
      ),
  })
  .describe('SOPS decryption and the keys to use.');

const SecretsSchema = withRules(
  z.strictObject({
    environment: pattern(
      P.LABEL_VALUE,
      'must be a Kubernetes label value (letters, digits, "-", "_", ".")',
      63,
    ).describe(
      'Environment profile: selects `profiles/<environment>/` in raw-file mode and is set as the ' +
        '`environment` label or tag on every store entry.',
    ),
    kustomizePath: relativePath()
      .optional()
      .describe(
        'Kustomize-build mode when set: the directory, relative to the source root, that `kustomize build` renders.',
      ),
    basePath: relativePath()
      .optional()
      .describe(
        'Raw-file mode: directory, relative to the source root, searched for services. Default: the source root.',
      ),
    prefix: pattern(P.NAME_AFFIX, 'must match [A-Za-z0-9_-]+', 128)
      .optional()
      .describe('Prepended to every store name: `<prefix>-<key>-<suffix>`.'),
    suffix: pattern(P.NAME_AFFIX, 'must match [A-Za-z0-9_-]+', 128)
      .optional()
      .describe('Appended to every store name: `<prefix>-<key>-<suffix>`.'),
    sops: SopsSchema.prefault({}),
    allowPlaintext: z
      .boolean()
      .default(false)
      .describe(
        'Accept `application.secrets.env` / `application.secrets.yaml` files that are not SOPS-encrypted ' +
          '(for tests). By default such a file is refused naming it (reason SecretsNotEncrypted): a ' +
          'plaintext secret in Git has already leaked. `application.properties` is configuration and may ' +
          'always be plain.',
      ),
  }),
  [
    {
      cel: '!has(self.kustomizePath) || !has(self.basePath)',
      holds: (s) => s.kustomizePath === undefined || s.basePath === undefined,
      message: 'only used in raw-file mode; remove it or kustomizePath',
      field: ['basePath'],
      reason: 'FieldValueForbidden',
    },
  ],
).describe('What to read from the source and how to name it.');

export const CONFIG_STORES = ['SecretManager', 'ParameterManager'] as const;

const ConfigsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Route `application.properties` entries (and kustomize ConfigMaps) to a config store. When false, ' +
          'properties are synced as one secret `<prefix>-properties` holding a JSON object.',
      ),
    store: z
      .enum(CONFIG_STORES)
      .default('SecretManager')
      .describe('GCP: keep configs in Secret Manager, or use Parameter Manager.'),
    parameterPath: pattern(P.SSM_PATH, 'must be an SSM path such as /my-service/prod', 512)
      .optional()
      .describe('AWS: SSM Parameter Store prefix. Default: `/<prefix>/<environment>`.'),
    appConfigEndpoint: pattern(P.HTTP_URL, 'must be an http(s):// URL', 512)
      .optional()
      .describe('Azure: App Configuration endpoint, e.g. `https://<store>.azconfig.io`.'),
  })
  .describe('Where plain configuration values go.');

// ---------------------------------------------------------------------------------------------
// spec: observability, notifications, hot reload

export const LOG_LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG'] as const;
export const LOGGING_AREAS = [
  'reconciliation',
  'secrets',
  'properties',
  'provider',
  'sops',
  'git',
  'kustomize',
  'diffDiscovery',
] as const;

const logLevel = (area: string) =>
  z.enum(LOG_LEVELS).optional().describe(`Log level for ${area}. Default: the controller's \`log_level\`.`);

const LoggingSchema = z
  .strictObject({
    reconciliation: logLevel('the reconcile loop'),
    secrets: logLevel('secret entries'),
    properties: logLevel('config (properties) entries'),
    provider: logLevel('store calls'),
    sops: logLevel('SOPS decryption'),
    git: logLevel('source fetching'),
    kustomize: logLevel('kustomize builds'),
    diffDiscovery: logLevel('drift detection'),
  })
  .describe("Per-area log levels for this SecretManagerConfig's log lines.");

const OtelSchema = z
  .strictObject({
    exporter: z.enum(['otlp', 'datadog']).default('otlp').describe('Trace exporter.'),
    endpoint: pattern(P.HTTP_URL, 'must be an http(s):// URL', 512)
      .optional()
      .describe("Collector or agent URL. Default: the controller's OpenTelemetry environment."),
    serviceName: singleLine(253)
      .optional()
      .describe('`service.name` of the traces. Default: `secret-manager-controller`.'),
  })
  .describe("Traces for this SecretManagerConfig's reconciles.");

const ArgoSubscriptionSchema = z
  .strictObject({
    service: pattern(P.ARGO_NOTIFICATION_NAME, 'must be an Argo CD notification service name', 63).describe(
      'Argo CD notification service, e.g. `slack`.',
    ),
    channel: singleLine(512).describe('Recipient for the service, e.g. a Slack channel.'),
    trigger: pattern(P.ARGO_NOTIFICATION_NAME, 'must be an Argo CD notification trigger name', 63).describe(
      'Argo CD notification trigger, e.g. `on-sync-failed`.',
    ),
  })
  .describe('One Argo CD notification subscription.');

const NotificationsSchema = z
  .strictObject({
    fluxcd: z
      .strictObject({
        providerRef: objectRef('Flux notification Provider', "the SecretManagerConfig's namespace").describe(
          'Flux notification Provider that drift and failure events are forwarded through.',
        ),
      })
      .optional()
      .describe('Forward drift and failure events through Flux notification-controller.'),
    argocd: z
      .strictObject({
        subscriptions: z
          .array(ArgoSubscriptionSchema)
          .min(1)
          .max(32)
          .describe(
            'Subscriptions set as `notifications.argoproj.io/subscribe.<trigger>.<service>: <channel>` ' +
              'annotations on the Argo CD Application.',
          ),
      })
      .optional()
      .describe('Argo CD notifications on drift (sourceRef.kind Application only).'),
  })
  .describe('Where drift and failure notifications go.');

/** `spec.hotReload.workloads` (docs/hot-reload.md). */
export const WORKLOAD_RELOAD_MODES = ['auto', 'annotated', 'off'] as const;

const HotReloadSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'While any SecretManagerConfig has this enabled, the controller watches the settings ConfigMap ' +
          'and applies changes live, without a restart.',
      ),
    configMapName: objectName()
      .default(DEFAULT_SETTINGS_CONFIGMAP)
      .describe('Controller settings ConfigMap to watch.'),
    configMapNamespace: namespaceName()
      .optional()
      .describe("Namespace of the settings ConfigMap. Default: the controller's namespace."),
    workloads: z
      .enum(WORKLOAD_RELOAD_MODES)
      .default('annotated')
      .describe(
        'Which workloads a sync that changed values reloads (docs/hot-reload.md). `annotated`: those ' +
          'whose `secret-management.octopilot.io/reload` annotation names this SecretManagerConfig. ' +
          '`auto` (provider `kubernetes`): every Deployment, StatefulSet, DaemonSet and Argo Rollout of ' +
          'the namespace whose pod template reads a changed key in a way that cannot update live ' +
          '(env var, envFrom, subPath mount) is restarted once per change-set; those that mount the ' +
          'Secret as a volume are only notified. Other providers keep `annotated`. `off`: none.',
      ),
  })
  .describe('Controller-level hot reload of the settings ConfigMap, and workload reload after a sync.');

// ---------------------------------------------------------------------------------------------
// spec

export const DRIFT_POLICIES = ['Report', 'Correct'] as const;
export const DELETION_POLICIES = ['Retain', 'Disable', 'Delete'] as const;
/** Lower bound of `gitRepositoryPullInterval` (docs/crd-reference.md). */
export const MIN_GIT_PULL_INTERVAL = '1m';

const SpecSchema = withRules(
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
          'is deleted: keep them, disable them, or delete them.',
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

// ---------------------------------------------------------------------------------------------
// status

export const PHASES = ['Pending', 'Syncing', 'Synced', 'Error', 'Suspended'] as const;
/** Condition types the controller writes (kstatus `Ready`/`Reconciling`/`Stalled`, plus its own). */
export const CONDITION_TYPES = ['Ready', 'Reconciling', 'Stalled', 'Drifted', 'SourceReady'] as const;
export const ENTRY_STATES = ['Synced', 'Disabled', 'Failed', 'Drifted', 'Conflict'] as const;

const ConditionSchema = z
  .object({
    type: pattern(P.CONDITION_TYPE, 'must be a condition type', 316).describe(
      'Ready, Reconciling, Stalled, Drifted or SourceReady.',
    ),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition.'),
    observedGeneration: generation()
      .optional()
      .describe('metadata.generation the condition was computed from.'),
    lastTransitionTime: timestamp().describe(
      'When status last changed (not when the condition was last written).',
    ),
    reason: pattern(P.CONDITION_REASON, 'must be a CamelCase reason', 1024).describe(
      'Machine-readable reason, e.g. PartialFailure, ProviderAuthFailed, AccessDenied.',
    ),
    message: z.string().max(32768).describe('Human-readable detail. Never contains a secret value.'),
  })
  .describe('A condition in the Kubernetes (kstatus) convention.');

const EntryStatusSchema = z
  .object({
    key: z.string().min(1).max(1024).describe('Key as written in Git.'),
    storeName: z.string().min(1).max(2048).describe('Name of the entry in its store.'),
    kind: z.enum(['secret', 'config']).describe('secret: secret store; config: config store.'),
    version: z.string().max(256).optional().describe('Store version of the value last written or seen.'),
    state: z.enum(ENTRY_STATES).describe('State of the entry after the last sync.'),
    lastUpdateTime: timestamp().optional().describe('When the controller last wrote the entry.'),
    message: z
      .string()
      .max(4096)
      .optional()
      .describe('Why the entry failed, drifted or conflicts. Never a value.'),
  })
  .describe('One synced entry. Never holds a value or a hash of a value.');

const StatusSchema = z
  .object({
    phase: z
      .enum(PHASES)
      .optional()
      .describe(
        'Pending until the first sync (or while its source is not ready yet), Syncing while a sync ' +
          'runs, then the outcome: Synced, Error or Suspended.',
      ),
    description: z.string().max(4096).optional().describe('One-line human-readable summary.'),
    conditions: z
      .array(ConditionSchema)
      .max(32)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Reconciling, Stalled (kstatus), Drifted and SourceReady.'),
    observedGeneration: generation().optional().describe('metadata.generation of the last reconciled spec.'),
    lastSyncTime: timestamp().optional().describe('Last fully successful sync (RFC 3339).'),
    lastAttemptTime: timestamp().optional().describe('Last reconcile attempt, successful or not.'),
    nextReconcileTime: timestamp()
      .optional()
      .describe(
        'When the next periodic reconcile was due at the last status write (not refreshed by a periodic pass that changes nothing).',
      ),
    lastSyncedRevision: z
      .string()
      .max(1024)
      .optional()
      .describe('Source revision of the last successful sync.'),
    lastHandledReconcileAt: z
      .string()
      .max(256)
      .optional()
      .describe('Value of the last reconcile-request annotation acted on.'),
    secretsCount: count().optional().describe('Number of secret entries managed.'),
    configsCount: count().optional().describe('Number of config entries managed.'),
    entries: z.array(EntryStatusSchema).optional().describe('Per-entry results of the last sync.'),
    hotReload: z
      .object({
        configMap: z
          .object({
            name: z.string().max(253).optional().describe('Settings ConfigMap watched.'),
            namespace: z.string().max(63).optional().describe('Its namespace.'),
            resourceVersion: z
              .string()
              .max(256)
              .optional()
              .describe('resourceVersion of the settings applied.'),
            appliedAt: timestamp().optional().describe('When those settings were applied.'),
            lastError: z
              .string()
              .max(4096)
              .optional()
              .describe('Why the last change was refused, if it was.'),
          })
          .optional()
          .describe('Settings ConfigMap state.'),
        lastWorkloadReload: timestamp().optional().describe('When workloads were last notified of a change.'),
        workloadsNotified: z
          .array(z.string().max(512))
          .optional()
          .describe('Workloads notified by the last reload, as `Kind/name`.'),
        changeSet: z
          .object({
            id: z.string().max(64).describe('Digest of the SMC, revision, Secret and changed key names.'),
            revision: z.string().max(1024).optional().describe('Source revision that made the change.'),
            secret: z.string().max(253).describe('The Kubernetes Secret written.'),
            keys: z.array(z.string().max(253)).describe('Names of the keys that changed (never values).'),
            at: timestamp().describe('When the change was written.'),
          })
          .optional()
          .describe(
            '`hotReload.workloads: auto`: the last change-set (names only), written with the sync that made it; ' +
              'a controller that starts resumes it, so a fan-out a crash interrupted is finished, never repeated.',
          ),
        workloads: z
          .array(
            z.object({
              workload: z.string().max(512).describe('`Kind/name`.'),
              result: z
                .enum(['restarted', 'evicted', 'notified', 'skipped', 'failed'])
                .describe('What was done.'),
              reason: z
                .string()
                .max(1024)
                .describe('Why: the uses of changed keys (`env var DB_PASSWORD`), or why it was skipped.'),
              changeSets: z
                .array(z.string().max(64))
                .max(16)
                .describe('Ids of the change-sets (`changeSet.id`) this result carried.'),
            }),
          )
          .max(100)
          .optional()
          .describe('`hotReload.workloads: auto`: what the last change-set did to each workload it reached.'),
      })
      .optional()
      .describe('Hot-reload state (docs/hot-reload.md).'),
  })
  .describe('Observed state, written by the controller.');

// ---------------------------------------------------------------------------------------------
// The object

const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

export const SecretManagerConfigSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe('APIVersion of this object.'),
    kind: z.literal(KIND).describe('Kind of this object.'),
    metadata: ObjectMetaSchema.describe('Standard object metadata.'),
    spec: SpecSchema,
    status: StatusSchema.optional(),
  })
  .describe(
    'SecretManagerConfig syncs SOPS-encrypted secrets from a Flux source or Argo CD Application to a ' +
      'cloud secret store (GCP, AWS, Azure) or a Kubernetes Secret.',
  );
export { SpecSchema as SecretManagerConfigSpecSchema, StatusSchema as SecretManagerConfigStatusSchema };

// ---------------------------------------------------------------------------------------------
// Types: derived, never written twice

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

export function selectedProvider(spec: Pick<SecretManagerConfigSpec, 'provider'>): SelectedProvider {
  const p = spec.provider;
  if (p.gcp) return { name: 'gcp', gcp: p.gcp };
  if (p.aws) return { name: 'aws', aws: p.aws };
  if (p.azure) return { name: 'azure', azure: p.azure };
  if (p.kubernetes) return { name: 'kubernetes', kubernetes: p.kubernetes };
  throw new SmcError(
    'InvalidSpec',
    'spec.provider: exactly one of gcp, aws, azure or kubernetes must be set',
  );
}

/** Key Vault URL of an Azure provider: `vaultUrl`, or the public-cloud URL of `vaultName`. */
export function azureVaultUrl(azure: Pick<AzureProvider, 'vaultUrl' | 'vaultName'>): string {
  if (azure.vaultUrl) return azure.vaultUrl;
  if (azure.vaultName) return `https://${azure.vaultName}.vault.azure.net/`;
  throw new SmcError('InvalidSpec', 'spec.provider.azure: exactly one of vaultUrl or vaultName must be set');
}

// ---------------------------------------------------------------------------------------------
// Parsing

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
