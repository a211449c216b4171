import {
  type AccessToken,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import type { AzureProvider } from '../../api/schema.js';
import { SmcError } from '../../errors.js';
import { ProviderError } from '../provider-error.js';

export type AzureAuth = AzureProvider['auth'];

/** The key of the `secretRef` Secret that holds a service principal's client secret. */
export const AZURE_CLIENT_SECRET_KEY = 'AZURE_CLIENT_SECRET';

/**
 * The credential for `provider.azure.auth`:
 * - `workloadIdentity` (default): AKS Workload Identity — the federated token file and client/tenant
 *   ids the webhook injects (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`),
 *   `clientId`/`tenantId` overriding them;
 * - `managedIdentity`: the node's or pod's managed identity (`clientId` picks a user-assigned one);
 * - `servicePrincipal`: `tenantId`, `clientId` and the client secret from the `secretRef` Secret
 *   (`secretValues`, its decoded data).
 * Constructing a credential makes no request; the first token is fetched on the first vault call.
 * Callers cache one credential per auth spec (and Secret resourceVersion), so tokens are reused.
 */
export function credentialFor(
  auth: AzureAuth,
  secretValues: Readonly<Record<string, string | undefined>> = {},
): TokenCredential {
  switch (auth.type) {
    case 'workloadIdentity':
      try {
        return new WorkloadIdentityCredential({
          ...(auth.clientId ? { clientId: auth.clientId } : {}),
          ...(auth.tenantId ? { tenantId: auth.tenantId } : {}),
        });
      } catch (e) {
        // Its message names the missing setting only; still, build our own.
        throw new ProviderError(
          'ProviderAuthFailed',
          `Azure workload identity is not configured (${e instanceof Error ? e.name : 'error'}): the pod needs ` +
            'AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (label azure.workload.identity/use: "true" ' +
            'and an annotated ServiceAccount), or set clientId/tenantId in provider.azure.auth',
        );
      }
    case 'managedIdentity':
      return auth.clientId
        ? new ManagedIdentityCredential({ clientId: auth.clientId })
        : new ManagedIdentityCredential();
    case 'servicePrincipal': {
      if (!auth.clientId || !auth.tenantId) {
        throw new SmcError(
          'InvalidSpec',
          'spec.provider.azure.auth: servicePrincipal needs clientId and tenantId',
        );
      }
      const secret = secretValues[AZURE_CLIENT_SECRET_KEY];
      if (!secret) {
        throw new SmcError(
          'InvalidSpec',
          `spec.provider.azure.auth.secretRef: the Secret has no non-empty key ${AZURE_CLIENT_SECRET_KEY}`,
        );
      }
      return new ClientSecretCredential(auth.tenantId, auth.clientId, secret);
    }
    default:
      throw new SmcError(
        'InvalidSpec',
        `spec.provider.azure.auth.type: unknown type "${String((auth as { type?: unknown }).type)}"`,
      );
  }
}

/**
 * A credential that always returns the same token: for emulators and test vaults that accept any
 * bearer token. Never use it against Azure.
 */
export function staticTokenCredential(token = 'static-test-token'): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}
