/** The store contract for Azure App Configuration, against a fake (see targets/azure-app-configuration.ts). */
import { runStoreContract } from './suite.js';
import { azureAppConfigurationTarget } from './targets/azure-app-configuration.js';

runStoreContract(azureAppConfigurationTarget);
