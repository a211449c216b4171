/** The one store a spec selects, and the Key Vault URL an Azure provider names. */
import { SmcError } from '../../errors.js';
import type { AzureProvider, SecretManagerConfigSpec, SelectedProvider } from './types.js';

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
