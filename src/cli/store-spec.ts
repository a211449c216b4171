import { DefaultAzureCredential } from '@azure/identity';
import { KubeConfig } from '@kubernetes/client-node';
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
  'appconfig:ENDPOINT        Azure App Configuration (configs; https://<store>.azconfig.io, or the',
  '                          connection string in AZURE_APPCONFIG_CONNECTION_STRING when ENDPOINT is "env")',
  'k8s:NAMESPACE/NAME        a Kubernetes Secret (current kubeconfig context)',
].join('\n');

/**
 * `--store TYPE:TARGET` → a store. Cloud stores use their SDK's default credentials (Workload
 * Identity / ADC, the AWS chain, Azure's default chain, the current kubeconfig) and the documented
 * endpoint variables (SMC_GCP_SECRET_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER,
 * AWS_ENDPOINT_URL_SSM, SMC_AZURE_KEYVAULT_CA_FILE, …).
 */
export function storeFromSpec(spec: string, ctx: StoreContext): SecretStore {
  const colon = spec.indexOf(':');
  const type = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? '' : spec.slice(colon + 1);
  if (!target) throw new SmcError('InvalidSpec', `--store ${spec}: expected TYPE:TARGET, e.g. local:./out`);
  const [first = '', ...rest] = target.split('/');
  const remainder = rest.join('/') || undefined;
  switch (type) {
    case 'local':
      return new LocalDirStore(target, { allowNonEmptyDir: ctx.allowNonEmptyDir ?? false });
    case 'gcp':
      return new GcpSecretManagerStore({
        projectId: first,
        location: remainder,
        environment: ctx.environment,
      });
    case 'gcp-pm':
      return new GcpParameterManagerStore({
        projectId: first,
        location: remainder,
        environment: ctx.environment,
      });
    case 'aws':
      if (remainder) throw new SmcError('InvalidSpec', `--store ${spec}: expected aws:REGION`);
      return new AwsSecretsManagerStore({ region: first, environment: ctx.environment });
    case 'ssm':
      return new AwsSsmParameterStore({
        region: first,
        environment: ctx.environment,
        parameterPath: remainder ? `/${remainder}` : `/${ctx.prefix ?? 'default'}/${ctx.environment}`,
      });
    case 'azure':
      if (!/^https:\/\//.test(target))
        throw new SmcError('InvalidSpec', `--store ${spec}: expected azure:https://VAULT/`);
      // The Azure SDK's default chain (environment, workload identity, managed identity, Azure CLI).
      return new AzureKeyVaultStore({
        vaultUrl: target,
        environment: ctx.environment,
        credential: new DefaultAzureCredential(),
      });
    case 'appconfig': {
      const connectionString = target === 'env' ? process.env.AZURE_APPCONFIG_CONNECTION_STRING : undefined;
      if (target === 'env' && !connectionString) {
        throw new SmcError('InvalidSpec', `--store ${spec}: AZURE_APPCONFIG_CONNECTION_STRING is not set`);
      }
      if (!connectionString && !/^https:\/\//.test(target)) {
        throw new SmcError(
          'InvalidSpec',
          `--store ${spec}: expected appconfig:https://STORE.azconfig.io or appconfig:env`,
        );
      }
      return connectionString
        ? new AzureAppConfigurationStore({
            connectionString,
            environment: ctx.environment,
            prefix: ctx.prefix,
          })
        : new AzureAppConfigurationStore({
            endpoint: target,
            credential: new DefaultAzureCredential(),
            environment: ctx.environment,
            prefix: ctx.prefix,
          });
    }
    case 'k8s': {
      if (!first || !remainder || remainder.includes('/')) {
        throw new SmcError('InvalidSpec', `--store ${spec}: expected k8s:NAMESPACE/NAME`);
      }
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      return new KubernetesSecretStore({
        kubeConfig,
        namespace: first,
        secretName: remainder,
        environment: ctx.environment,
      });
    }
    default:
      throw new SmcError(
        'InvalidSpec',
        `--store ${spec}: unknown store type "${type}". Known:\n${STORE_SPEC_HELP}`,
      );
  }
}
