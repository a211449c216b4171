/**
 * The App Configuration client a store talks through: built from a connection string or an endpoint
 * and credential (each checked, never quoted in an error), with our retry and observer settings,
 * leased or the store's own.
 */
import { AppConfigurationClient } from '@azure/app-configuration';
import { SmcError } from '../../errors.js';
import { ownClient } from '../client-cache.js';
import type { AzureAppConfigurationStoreOptions } from './app-configuration.js';
import { appConfigOperation, appConfigProviderError, endpointOf } from './app-configuration-calls.js';
import { azureClientOptions } from './common.js';
import { observerPolicy } from './observer-policy.js';

export interface AppConfigConnection {
  client: AppConfigurationClient;
  release: () => unknown;
  /** The store's endpoint, from the connection string or as given. */
  endpoint: string;
}

export function connectAppConfig(options: AzureAppConfigurationStoreOptions): AppConfigConnection {
  const clientOptions = azureClientOptions(
    options.clientOptions ?? {},
    options.observer
      ? observerPolicy(options.observer, {
          name: 'smcAppConfigObserverPolicy',
          describe: (r) => appConfigOperation(r.method, r.url),
          errorReason: (e, operation) => appConfigProviderError(e, operation, '').reason,
        })
      : undefined,
  );
  // The SDK client has nothing to close: its keep-alive sockets end when idle.
  const lease = (make: () => AppConfigurationClient) =>
    options.client ? options.client(make, () => undefined) : ownClient(make(), () => undefined);
  if (options.connectionString) {
    const endpoint = endpointOf(options.connectionString);
    try {
      const connectionString = options.connectionString;
      const { client, release } = lease(() => new AppConfigurationClient(connectionString, clientOptions));
      return { client, release, endpoint };
    } catch {
      throw new SmcError(
        'InvalidSpec',
        'Azure App Configuration connection string is not of the form Endpoint=…;Id=…;Secret=…',
      );
    }
  }
  if (options.endpoint && options.credential) {
    const endpoint = options.endpoint;
    try {
      new URL(endpoint);
    } catch {
      throw new SmcError('InvalidSpec', `Azure App Configuration endpoint "${endpoint}" is not a URL`);
    }
    const credential = options.credential;
    const { client, release } = lease(() => new AppConfigurationClient(endpoint, credential, clientOptions));
    return { client, release, endpoint };
  }
  throw new SmcError(
    'InvalidSpec',
    'Azure App Configuration store needs a connectionString, or an endpoint and a credential',
  );
}
