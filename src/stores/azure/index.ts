export {
  AZURE_KEYVAULT_CA_FILE_ENV,
  AZURE_KEYVAULT_DISABLE_CHALLENGE_VERIFICATION_ENV,
  AZURE_KEY_TAG,
  AzureKeyVaultStore,
  type AzureKeyVaultStoreOptions,
} from './keyvault-store.js';
export {
  AZURE_CLIENT_SECRET_KEY,
  type AzureAuth,
  credentialFor,
  staticTokenCredential,
} from './credentials.js';
export { azureProviderError, isDeletedButRecoverable, isSecretDisabled } from './errors.js';
export {
  APPCONFIG_KEY_TAG,
  AzureAppConfigurationStore,
  type AzureAppConfigurationStoreOptions,
} from './app-configuration.js';
export {
  APPCONFIG_ATTRIBUTE_RESERVE_BYTES,
  APPCONFIG_LIMITS,
  APPCONFIG_MAX_KEY_VALUE_BYTES,
  KEYVAULT_LIMITS,
  appConfigNaming,
  azureKeyVaultNaming,
} from './naming.js';
export { keyVaultOperation } from './keyvault-observer.js';
export {
  AppConfigProviderError,
  appConfigOperation,
  appConfigProviderError,
} from './app-configuration-calls.js';
