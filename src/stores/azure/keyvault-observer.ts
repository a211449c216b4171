/** Key Vault requests as the controller's metrics see them: operation names and what counts as an answer. */
import type { StoreObserver } from '../store.js';
import { azureProviderError } from './errors.js';
import { defaultVerdict, observerPolicy, type PipelinePolicy } from './observer-policy.js';

/** `/secrets/{name}`… relative to the vault → the REST operation name, and whether it writes. */
export function keyVaultOperation(
  method: string,
  url: string,
  vaultPath: string,
): { operation: string; write: boolean } {
  let path = new URL(url).pathname;
  if (path.startsWith(vaultPath)) path = path.slice(vaultPath.length);
  const [root, name, third, fourth] = path.split('/').filter((p) => p !== '');
  const m = method.toUpperCase();
  if (root === 'secrets') {
    if (name === undefined) return { operation: 'GetSecrets', write: false };
    if (third === 'versions' && fourth === undefined) return { operation: 'GetSecretVersions', write: false };
    if (m === 'PUT') return { operation: 'SetSecret', write: true };
    if (m === 'PATCH') return { operation: 'UpdateSecret', write: true };
    if (m === 'DELETE') return { operation: 'DeleteSecret', write: true };
    if (m === 'GET') return { operation: 'GetSecret', write: false };
  }
  if (root === 'deletedsecrets') {
    if (name === undefined) return { operation: 'GetDeletedSecrets', write: false };
    if (third === 'recover') return { operation: 'RecoverDeletedSecret', write: true };
    if (m === 'DELETE') return { operation: 'PurgeDeletedSecret', write: true };
    if (m === 'GET') return { operation: 'GetDeletedSecret', write: false };
  }
  return { operation: `${m} ${root ?? '/'}`, write: m !== 'GET' && m !== 'HEAD' };
}

/**
 * Reports every HTTP request the client sends (after the SDK's auth policy, so the unauthenticated
 * challenge probe and the authorised request are two calls). `404` on a read and `403 SecretDisabled`
 * are answers ("absent", "disabled"), not failures.
 */
export function keyVaultObserverPolicy(observer: StoreObserver, vaultPath: string): PipelinePolicy {
  return observerPolicy(observer, {
    name: 'smcObserverPolicy',
    describe: (r) => keyVaultOperation(r.method, r.url, vaultPath),
    classify(res, call, request) {
      if (
        res.status === 401 &&
        !request.headers.has('authorization') &&
        res.headers.get('www-authenticate')
      ) {
        return { operation: 'AuthChallenge', write: false };
      }
      if (!call.write && isDisabledAnswer(res.status, res.bodyAsText)) return 'ok';
      return defaultVerdict(res.status, call);
    },
    errorReason: (e, operation) => azureProviderError(e, operation, '').reason,
  });
}

function isDisabledAnswer(status: number, body: string | null | undefined): boolean {
  if (status !== 403 || !body) return false;
  try {
    const parsed = JSON.parse(body) as { error?: { innererror?: { code?: unknown } } };
    return parsed.error?.innererror?.code === 'SecretDisabled';
  } catch {
    return false;
  }
}
