import type { KubeConfig } from '@kubernetes/client-node';
import type { DeletionPolicy, KubernetesProvider } from '../../api/schema.js';
import type { RetryPolicy } from '../retry.js';
import type { StoreObserver } from '../store.js';
import { KubernetesSecretStore } from './secret-store.js';

export {
  DEFAULT_FIELD_MANAGER,
  K8S_SECRET_MAX_BYTES,
  KUBE_ANNOTATIONS,
  KUBE_LABELS,
  KUBE_LABEL_PREFIX,
  KubernetesSecretStore,
  type KubernetesSecretStoreOptions,
  disabledSecretName,
  ownerFromLabels,
  ownershipLabels,
} from './secret-store.js';
export { kubeProviderError } from './errors.js';

/**
 * The store for an SMC with `provider.kubernetes`: the Secret `secretName` (default: the SMC's name)
 * in the SMC's namespace. The ownerReference to the SMC is set only with `deletionPolicy: Delete`,
 * since garbage collection would otherwise delete a Secret the policy says to retain or disable.
 */
export function kubernetesStoreForSmc(opts: {
  kubeConfig: KubeConfig;
  smc: { namespace: string; name: string; uid?: string };
  provider: KubernetesProvider;
  environment?: string;
  deletionPolicy: DeletionPolicy;
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
}): KubernetesSecretStore {
  const { smc, provider } = opts;
  return new KubernetesSecretStore({
    kubeConfig: opts.kubeConfig,
    namespace: smc.namespace,
    secretName: provider.secretName ?? smc.name,
    labels: provider.labels,
    annotations: provider.annotations,
    environment: opts.environment,
    ownerReference:
      smc.uid !== undefined && opts.deletionPolicy === 'Delete'
        ? { name: smc.name, uid: smc.uid }
        : undefined,
    observer: opts.observer,
    retryPolicy: opts.retryPolicy,
  });
}
