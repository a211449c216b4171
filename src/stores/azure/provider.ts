/**
 * The Azure stores' face (src/stores/provider.ts): Key Vault (`azure-keyvault`, `--store azure:`)
 * and App Configuration (`appconfig`), from `--store` or from an SMC's `provider.azure` (configs in
 * App Configuration at `configs.appConfigEndpoint`).
 */
import type { TokenCredential } from '@azure/identity';
import { azureVaultUrl } from '../../api/index.js';
import { SmcError } from '../../errors.js';
import { PATTERNS as P, matches, refuseTarget } from '../cli-target.js';
import type { SmcOpenContext, StoreProvider } from '../provider.js';
import { APPCONFIG_LIMITS, KEYVAULT_LIMITS, appConfigNaming, azureKeyVaultNaming } from './naming.js';

// The store and credential modules (and the Azure SDKs under them: module text and compiled code
// that stay in memory, docs/performance.md "Memory") are imported on first use, not at start: a
// controller or msmctl that never writes to Azure never loads them. The registry only needs this
// file's names.
const keyVault = () => import('./keyvault-store.js');
const appConfiguration = () => import('./app-configuration.js');
const credentials = () => import('./credentials.js');
const defaultCredential = async () => new (await import('@azure/identity')).DefaultAzureCredential();

/** The credential `provider.azure.auth` names: a service principal's Secret, or a keyless identity. */
async function azureCredential(ctx: SmcOpenContext): Promise<TokenCredential> {
  const a = ctx.spec.provider.azure!.auth;
  const { AZURE_CLIENT_SECRET_KEY, credentialFor } = await credentials();
  if (a.type !== 'servicePrincipal')
    return ctx.remember(['azure', JSON.stringify(a)], () => credentialFor(a));
  const ref = a.secretRef;
  if (!ref) {
    throw new SmcError(
      'InvalidSpec',
      'spec.provider.azure.auth.secretRef: must be set when type is servicePrincipal',
    );
  }
  return ctx.credential(ref, 'spec.provider.azure.auth.secretRef', a, (data, where) => {
    if (!data[AZURE_CLIENT_SECRET_KEY]) {
      throw new SmcError('InvalidSpec', `${where} has no non-empty key ${AZURE_CLIENT_SECRET_KEY}`);
    }
    return credentialFor(a, data);
  });
}

export const azureProvider: StoreProvider = {
  name: 'azure',
  kinds: [
    {
      type: 'azure-keyvault',
      naming: azureKeyVaultNaming,
      limits: KEYVAULT_LIMITS,
      cli: {
        scheme: 'azure',
        help: [
          'azure:VAULT_URL           Azure Key Vault (https://<vault>.vault.azure.net/)',
          'azure:VAULT_NAME          the same, for a vault in the public cloud',
        ],
        parse: (target) => {
          if (matches(P.AZURE_VAULT_NAME, target) && target.length >= 3 && target.length <= 24) {
            return { vaultUrl: `https://${target}.vault.azure.net/` };
          }
          if (!matches(P.HTTPS_URL, target)) {
            refuseTarget(
              'expected azure:https://VAULT_URL or azure:VAULT_NAME (3–24 letters, digits and dashes)',
            );
          }
          return { vaultUrl: target };
        },
        // The Azure SDK's default chain (environment, workload identity, managed identity, Azure CLI).
        open: async (t, ctx) =>
          new (await keyVault()).AzureKeyVaultStore({
            vaultUrl: t.vaultUrl!,
            environment: ctx.environment,
            credential: await defaultCredential(),
          }),
      },
    },
    {
      type: 'appconfig',
      naming: (opts) => {
        if (opts.environment === undefined) {
          throw new SmcError('InvalidSpec', 'appconfig naming needs secrets.environment');
        }
        return appConfigNaming({ environment: opts.environment });
      },
      limits: APPCONFIG_LIMITS,
      cli: {
        scheme: 'appconfig',
        help: [
          'appconfig:ENDPOINT        Azure App Configuration (configs; https://<store>.azconfig.io, or the',
          '                          connection string in AZURE_APPCONFIG_CONNECTION_STRING when ENDPOINT is "env")',
        ],
        parse: (target) => {
          if (target !== 'env' && !matches(P.HTTPS_URL, target)) {
            refuseTarget('expected appconfig:https://STORE.azconfig.io or appconfig:env');
          }
          if (target === 'env' && !process.env.AZURE_APPCONFIG_CONNECTION_STRING) {
            refuseTarget('appconfig:env needs AZURE_APPCONFIG_CONNECTION_STRING, which is not set');
          }
          return { endpoint: target };
        },
        open: async (t, ctx) => {
          const connectionString =
            t.endpoint === 'env' ? process.env.AZURE_APPCONFIG_CONNECTION_STRING : undefined;
          const run = { environment: ctx.environment, prefix: ctx.prefix };
          const { AzureAppConfigurationStore } = await appConfiguration();
          return connectionString
            ? new AzureAppConfigurationStore({ connectionString, ...run })
            : new AzureAppConfigurationStore({
                endpoint: t.endpoint!,
                credential: await defaultCredential(),
                ...run,
              });
        },
      },
    },
  ],
  openForSmc: {
    provider: 'azure',
    allowlist: { syntax: 'azure/<vault host>', segments: (t) => [t.vaultHost?.toLowerCase()] },
    async open(ctx) {
      const { spec } = ctx;
      const vaultUrl = azureVaultUrl(spec.provider.azure!);
      let host: string;
      try {
        host = new URL(vaultUrl).host;
      } catch {
        throw new SmcError('InvalidSpec', `spec.provider.azure.vaultUrl "${vaultUrl}" is not a URL`);
      }
      ctx.allow({ provider: 'azure', vaultHost: host }, `Azure Key Vault ${host}`);
      const credential = await azureCredential(ctx);
      const environment = spec.secrets.environment;
      const rate = ctx.maxWritesPerSecond;
      // One client per vault or configuration store and credential, shared across reconciles and SMCs.
      const { AzureKeyVaultStore } = await keyVault();
      const secretStore = new AzureKeyVaultStore({
        vaultUrl,
        environment,
        credential,
        maxWritesPerSecond: rate,
        observer: ctx.observer('azure-keyvault'),
        ...ctx.overrides,
        client: ctx.clients?.(['azure', 'keyvault', vaultUrl, credential]),
      });
      if (!spec.configs.enabled) return { secretStore };
      const endpoint = spec.configs.appConfigEndpoint;
      if (!endpoint) {
        throw new SmcError(
          'InvalidSpec',
          'spec.configs.appConfigEndpoint: must be set for the Azure provider when configs.enabled is true',
        );
      }
      const configStore = new (await appConfiguration()).AzureAppConfigurationStore({
        endpoint,
        credential,
        environment,
        prefix: spec.secrets.prefix,
        maxWritesPerSecond: rate,
        observer: ctx.observer('appconfig'),
        ...ctx.overrides,
        client: ctx.clients?.(['azure', 'appconfig', endpoint, credential]),
      });
      return { secretStore, configStore };
    },
  },
};
