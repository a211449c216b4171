export {
  DEFAULT_FIELD_MANAGER,
  KUBE_ANNOTATIONS,
  KUBE_LABELS,
  KUBE_LABEL_PREFIX,
  KubernetesSecretStore,
  type KubernetesSecretStoreOptions,
  disabledSecretName,
  ownerFromLabels,
  ownershipLabels,
} from './secret-store.js';
export { K8S_LIMITS, K8S_SECRET_MAX_BYTES, k8sNaming } from './naming.js';
export { kubeProviderError } from './errors.js';
export { kubernetesProvider, kubernetesStoreForSmc } from './provider.js';
