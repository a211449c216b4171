import { DefaultAzureCredential } from '@azure/identity';
import { KubeConfig } from '@kubernetes/client-node';
import { InvalidArgumentError } from 'commander';
import * as P from '../api/patterns.js';
import { SmcError } from '../errors.js';
import { AwsSecretsManagerStore } from '../stores/aws/secrets-manager.js';
import { AwsSsmParameterStore } from '../stores/aws/ssm.js';
import { AzureAppConfigurationStore, AzureKeyVaultStore } from '../stores/azure/index.js';
import { GcpParameterManagerStore, GcpSecretManagerStore } from '../stores/gcp/index.js';
import { KubernetesSecretStore } from '../stores/kubernetes/index.js';
import { LocalDirStore } from '../stores/local.js';
import type { SecretStore } from '../stores/store.js';

/** What a store needs to know about the run, beyond its target. */
export interface StoreContext {
  environment: string;
  /** The SMC-wide prefix, for SSM's default parameter path `/<prefix>/<environment>`. */
  prefix?: string;
  /** `local:` stores may write into a non-empty directory that is not a store of ours (`--allow-non-empty-dir`). */
  allowNonEmptyDir?: boolean;
}

export const STORE_SPEC_HELP = [
  'local:DIR                 a directory laid out like a mounted Secret',
  'gcp:PROJECT[/LOCATION]    GCP Secret Manager (regional with LOCATION)',
  'gcp-pm:PROJECT[/LOCATION] GCP Parameter Manager (configs; LOCATION default global)',
  'aws:REGION                AWS Secrets Manager',
  'ssm:REGION[/PATH]         AWS SSM Parameter Store under PATH (default /<prefix>/<environment>)',
  'azure:VAULT_URL           Azure Key Vault (https://<vault>.vault.azure.net/)',
  'azure:VAULT_NAME          the same, for a vault in the public cloud',
  'appconfig:ENDPOINT        Azure App Configuration (configs; https://<store>.azconfig.io, or the',
  '                          connection string in AZURE_APPCONFIG_CONNECTION_STRING when ENDPOINT is "env")',
  'k8s:NAMESPACE/NAME        a Kubernetes Secret (current kubeconfig context)',
].join('\n');

/** A `--store TYPE:TARGET` that has been checked: every part has its documented format. */
export type StoreSpec = { text: string } & (
  | { type: 'local'; dir: string }
  | { type: 'gcp' | 'gcp-pm'; projectId: string; location?: string }
  | { type: 'aws'; region: string }
  | { type: 'ssm'; region: string; path?: string }
  | { type: 'azure'; vaultUrl: string }
  | { type: 'appconfig'; endpoint: string }
  | { type: 'k8s'; namespace: string; name: string }
);

const STORE_TYPES = ['local', 'gcp', 'gcp-pm', 'aws', 'ssm', 'azure', 'appconfig', 'k8s'] as const;

const matches = (pattern: string, value: string) => new RegExp(pattern).test(value);

/**
 * Checks `--store TYPE:TARGET` (the formats are the SecretManagerConfig's, docs/crd-reference.md)
 * without building a client or touching the network. Throws InvalidSpec saying what is expected.
 */
export function parseStoreSpec(text: string): StoreSpec {
  const fail = (why: string): never => {
    throw new SmcError('InvalidSpec', why);
  };
  const colon = text.indexOf(':');
  const type = colon < 0 ? text : text.slice(0, colon);
  const target = colon < 0 ? '' : text.slice(colon + 1);
  if (!(STORE_TYPES as readonly string[]).includes(type)) {
    fail(`unknown store type "${type}" (known: ${STORE_TYPES.join(', ')})`);
  }
  if (!target) fail('expected TYPE:TARGET, e.g. local:./out');
  const [first = '', ...rest] = target.split('/');
  const remainder = rest.join('/') || undefined;
  const awsRegion = (region: string) => {
    if (!matches(P.AWS_REGION, region)) fail(`"${region}" is not an AWS region (e.g. eu-central-1)`);
    return region;
  };
  switch (type as (typeof STORE_TYPES)[number]) {
    case 'local':
      return { text, type: 'local', dir: target };
    case 'gcp':
    case 'gcp-pm': {
      if (!matches(P.GCP_PROJECT_ID, first)) {
        fail(`"${first}" is not a GCP project id (6–30 lower-case letters, digits and dashes) or number`);
      }
      const global = type === 'gcp-pm' && remainder === 'global';
      if (remainder !== undefined && !global && !matches(P.GCP_REGION, remainder)) {
        fail(`"${remainder}" is not a GCP region (e.g. europe-west4)`);
      }
      return { text, type: type as 'gcp' | 'gcp-pm', projectId: first, location: remainder };
    }
    case 'aws':
      if (remainder !== undefined) fail('expected aws:REGION');
      return { text, type: 'aws', region: awsRegion(first) };
    case 'ssm': {
      const path = remainder === undefined ? undefined : `/${remainder}`;
      if (path !== undefined && !matches(P.SSM_PATH, path)) {
        fail(`"${path}" is not an SSM path (segments of letters, digits, _ . -, e.g. /my-service/prod)`);
      }
      return { text, type: 'ssm', region: awsRegion(first), path };
    }
    case 'azure':
      if (matches(P.AZURE_VAULT_NAME, target) && target.length >= 3 && target.length <= 24) {
        return { text, type: 'azure', vaultUrl: `https://${target}.vault.azure.net/` };
      }
      if (!matches(P.HTTPS_URL, target)) {
        fail('expected azure:https://VAULT_URL or azure:VAULT_NAME (3–24 letters, digits and dashes)');
      }
      return { text, type: 'azure', vaultUrl: target };
    case 'appconfig':
      if (target !== 'env' && !matches(P.HTTPS_URL, target)) {
        fail('expected appconfig:https://STORE.azconfig.io or appconfig:env');
      }
      if (target === 'env' && !process.env.AZURE_APPCONFIG_CONNECTION_STRING) {
        fail('appconfig:env needs AZURE_APPCONFIG_CONNECTION_STRING, which is not set');
      }
      return { text, type: 'appconfig', endpoint: target };
    case 'k8s':
      if (!remainder || remainder.includes('/')) fail('expected k8s:NAMESPACE/NAME');
      if (!matches(P.DNS_LABEL, first) || first.length > 63) {
        fail(`"${first}" is not a namespace name (lower-case letters, digits and dashes)`);
      }
      if (!matches(P.DNS_SUBDOMAIN, remainder as string) || (remainder as string).length > 253) {
        fail(`"${remainder}" is not a Secret name (lower-case letters, digits, dashes and dots)`);
      }
      return { text, type: 'k8s', namespace: first, name: remainder as string };
  }
}

/** `parseStoreSpec` as a commander option parser: a bad value is a usage error naming the option. */
export function storeSpecOption(text: string): StoreSpec {
  try {
    return parseStoreSpec(text);
  } catch (e) {
    if (e instanceof SmcError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/**
 * A checked store spec → a store. Cloud stores use their SDK's default credentials (Workload
 * Identity / ADC, the AWS chain, Azure's default chain, the current kubeconfig) and the documented
 * endpoint variables (SMC_GCP_SECRET_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER,
 * AWS_ENDPOINT_URL_SSM, SMC_AZURE_KEYVAULT_CA_FILE, …).
 */
export function storeFromSpec(spec: StoreSpec, ctx: StoreContext): SecretStore {
  switch (spec.type) {
    case 'local':
      return new LocalDirStore(spec.dir, { allowNonEmptyDir: ctx.allowNonEmptyDir ?? false });
    case 'gcp':
      return new GcpSecretManagerStore({
        projectId: spec.projectId,
        location: spec.location,
        environment: ctx.environment,
      });
    case 'gcp-pm':
      return new GcpParameterManagerStore({
        projectId: spec.projectId,
        location: spec.location,
        environment: ctx.environment,
      });
    case 'aws':
      return new AwsSecretsManagerStore({ region: spec.region, environment: ctx.environment });
    case 'ssm':
      return new AwsSsmParameterStore({
        region: spec.region,
        environment: ctx.environment,
        parameterPath: spec.path ?? `/${ctx.prefix ?? 'default'}/${ctx.environment}`,
      });
    case 'azure':
      // The Azure SDK's default chain (environment, workload identity, managed identity, Azure CLI).
      return new AzureKeyVaultStore({
        vaultUrl: spec.vaultUrl,
        environment: ctx.environment,
        credential: new DefaultAzureCredential(),
      });
    case 'appconfig': {
      const connectionString =
        spec.endpoint === 'env' ? process.env.AZURE_APPCONFIG_CONNECTION_STRING : undefined;
      return connectionString
        ? new AzureAppConfigurationStore({
            connectionString,
            environment: ctx.environment,
            prefix: ctx.prefix,
          })
        : new AzureAppConfigurationStore({
            endpoint: spec.endpoint,
            credential: new DefaultAzureCredential(),
            environment: ctx.environment,
            prefix: ctx.prefix,
          });
    }
    case 'k8s': {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      return new KubernetesSecretStore({
        kubeConfig,
        namespace: spec.namespace,
        secretName: spec.name,
        environment: ctx.environment,
      });
    }
  }
}
