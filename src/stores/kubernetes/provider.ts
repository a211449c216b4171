/**
 * The Kubernetes Secret store's face (src/stores/provider.ts): `--store k8s:NAMESPACE/NAME` (the
 * current kubeconfig context) or an SMC's `provider.kubernetes` (the controller's own credentials).
 */
import { KubeConfig } from '../../kube/client-node.js';
import type { KubernetesProvider } from '../../api/schema.js';
import type { DeletionPolicy } from '../../plan/actions.js';
import { SmcError } from '../../errors.js';
import { PATTERNS as P, matches, refuseTarget, splitTarget } from '../cli-target.js';
import type { StoreProvider } from '../provider.js';
import type { RetryPolicy } from '../retry.js';
import type { StoreObserver } from '../store.js';
import { K8S_LIMITS, k8sNaming } from './naming.js';
import { KubernetesSecretStore } from './secret-store.js';

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

export const kubernetesProvider: StoreProvider = {
  name: 'kubernetes',
  kinds: [
    {
      type: 'k8s',
      naming: k8sNaming,
      limits: K8S_LIMITS,
      cli: {
        scheme: 'k8s',
        help: ['k8s:NAMESPACE/NAME        a Kubernetes Secret (current kubeconfig context)'],
        parse: (target) => {
          const { first, remainder } = splitTarget(target);
          if (!remainder || remainder.includes('/')) refuseTarget('expected k8s:NAMESPACE/NAME');
          if (!matches(P.DNS_LABEL, first) || first.length > 63) {
            refuseTarget(`"${first}" is not a namespace name (lower-case letters, digits and dashes)`);
          }
          if (!matches(P.DNS_SUBDOMAIN, remainder) || remainder.length > 253) {
            refuseTarget(`"${remainder}" is not a Secret name (lower-case letters, digits, dashes and dots)`);
          }
          return { namespace: first, name: remainder };
        },
        open: async (t, ctx) => {
          const kubeConfig = new KubeConfig();
          kubeConfig.loadFromDefault();
          return new KubernetesSecretStore({
            kubeConfig,
            namespace: t.namespace!,
            secretName: t.name!,
            environment: ctx.environment,
          });
        },
      },
    },
  ],
  openForSmc: {
    provider: 'kubernetes',
    allowlist: { syntax: 'kubernetes', segments: () => [] },
    async open(ctx) {
      ctx.allow({ provider: 'kubernetes' }, 'Kubernetes Secrets');
      if (!ctx.kubeConfig) throw new SmcError('InvalidSpec', 'the Kubernetes store needs a kubeconfig');
      return {
        secretStore: kubernetesStoreForSmc({
          kubeConfig: ctx.kubeConfig,
          smc: ctx.smc,
          provider: ctx.spec.provider.kubernetes!,
          environment: ctx.spec.secrets.environment,
          deletionPolicy: ctx.spec.deletionPolicy,
          observer: ctx.observer('kubernetes'),
        }),
      };
    },
  },
};
