/**
 * The store contract for the Kubernetes Secret store, against the real kube-apiserver + etcd of the
 * `kube` vitest project. Each store gets its own namespace; out-of-band access goes through the
 * admin client straight to the Secrets.
 */
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { KubernetesSecretStore } from '../../../src/stores/kubernetes/index.js';
import { statusOf } from '../../peers/kube/index.js';
import { useKube } from '../../peers/kube/use.js';
import { runStoreContract } from './suite.js';
import type { OutOfBand, StoreTarget } from './target.js';

const kube = useKube();
const SECRET = 'app-secrets';

async function getSecret(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace, name });
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString());

export function kubernetesOutOfBand(
  core: CoreV1Api,
  namespace: string,
  store: KubernetesSecretStore,
): OutOfBand {
  const main = () => getSecret(core, namespace, store.secretName);
  const disabled = () => getSecret(core, namespace, store.disabledSecretName);
  /** A hand edit of the Secret's data: labels and annotations untouched. */
  const edit = async (key: string, value: string) => {
    const s = await main();
    if (!s) {
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: store.secretName }, data: { [key]: b64(value) } },
      });
      return;
    }
    s.data = { ...(s.data ?? {}), [key]: b64(value) };
    await core.replaceNamespacedSecret({ namespace, name: store.secretName, body: s });
  };
  return {
    createUnmanaged: edit,
    setValue: edit,
    async readValue(name) {
      return unb64((await main())?.data?.[name]);
    },
    async isEnabled(name) {
      if ((await main())?.data?.[name] !== undefined) return true;
      if ((await disabled())?.data?.[name] !== undefined) return false;
      return undefined;
    },
    async exists(name) {
      return (await this.isEnabled(name)) !== undefined;
    },
    async versionCount() {
      return undefined; // a Secret key has no versions
    },
  };
}

const target: StoreTarget = {
  name: 'kubernetes-secret',
  async start() {
    return {
      async newStore({ observer }) {
        const namespace = await kube().createNamespace('contract-k8s');
        const seen = { writes: 0, reads: 0 };
        const store = new KubernetesSecretStore({
          kubeConfig: kube().kubeConfig(),
          namespace,
          secretName: SECRET,
          observer: {
            onCall: (call) => {
              if (call.write) seen.writes++;
              else seen.reads++;
              observer?.onCall?.(call);
            },
            onThrottled: () => observer?.onThrottled?.(),
          },
        });
        return {
          store,
          outOfBand: kubernetesOutOfBand(kube().client(CoreV1Api), namespace, store),
          calls: {
            writes: () => seen.writes,
            reads: () => seen.reads,
            reset: () => {
              seen.writes = seen.reads = 0;
            },
          },
        };
      },
      async stop() {},
    };
  },
};

runStoreContract(target);
