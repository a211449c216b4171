/** The store contract for Azure Key Vault, against a fake (see targets/azure-keyvault.ts). */
import { runStoreContract } from './suite.js';
import { azureKeyVaultTarget } from './targets/azure-keyvault.js';

runStoreContract(azureKeyVaultTarget);
