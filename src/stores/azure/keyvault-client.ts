/**
 * The Key Vault SecretClient's options: our retry and observer settings on top of the caller's, an
 * extra CA from `SMC_AZURE_KEYVAULT_CA_FILE`, and the challenge-verification switch for emulators.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { SmcError } from '../../errors.js';
import type { StoreObserver } from '../store.js';
import { azureClientOptions } from './common.js';
import { keyVaultObserverPolicy } from './keyvault-observer.js';

export const AZURE_KEYVAULT_CA_FILE_ENV = 'SMC_AZURE_KEYVAULT_CA_FILE';
export const AZURE_KEYVAULT_DISABLE_CHALLENGE_VERIFICATION_ENV =
  'SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION';

export function keyVaultClientOptions(
  url: URL,
  given: SecretClientOptions,
  observer: StoreObserver | undefined,
  env: Readonly<Record<string, string | undefined>>,
): SecretClientOptions {
  const clientOptions = azureClientOptions(
    given,
    observer ? keyVaultObserverPolicy(observer, url.pathname.replace(/\/+$/, '')) : undefined,
  );
  const caFile = env[AZURE_KEYVAULT_CA_FILE_ENV];
  if (caFile) {
    let pem: string;
    try {
      pem = readFileSync(caFile, 'utf8');
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new SmcError(
        'InvalidSpec',
        `${AZURE_KEYVAULT_CA_FILE_ENV}=${caFile}: cannot read the CA file${typeof code === 'string' ? ` (${code})` : ''}`,
      );
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new SmcError('InvalidSpec', `${AZURE_KEYVAULT_CA_FILE_ENV}=${caFile}: not a PEM certificate`);
    }
    const extra = given.tlsOptions?.ca;
    clientOptions.tlsOptions = {
      ...given.tlsOptions,
      ca: [...rootCertificates, ...(extra === undefined ? [] : Array.isArray(extra) ? extra : [extra]), pem],
    };
  }
  if (env[AZURE_KEYVAULT_DISABLE_CHALLENGE_VERIFICATION_ENV] === 'true') {
    clientOptions.disableChallengeResourceVerification = true;
  }
  return clientOptions;
}
