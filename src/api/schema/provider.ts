/** `spec.provider`: the one store an SMC writes to (GCP, AWS, Azure or a Kubernetes Secret) and how it authenticates. */
import { z } from 'zod';
import * as P from '../patterns.js';
import { withRules } from '../rules.js';
import { objectName, objectRef, pattern, secretKeyRef, stringMap } from './fields.js';

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

export const ProviderSchema = withRules(
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
