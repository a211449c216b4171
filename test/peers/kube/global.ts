/**
 * Vitest global setup for suites that need Kubernetes: starts one etcd + kube-apiserver for the
 * whole run with every CRD applied, and provides its KubeInfo to the workers (useKube() picks it
 * up through inject('kube')). Tests isolate themselves with unique namespaces. The peers are
 * installed before this runs by test/setup/peers.ts (listed first in the kube project), so a
 * missing one fails here naming it.
 *
 * Also exported in the environment of the workers: KUBECONFIG (so nothing can reach a developer's
 * real cluster by accident) and SMC_TEST_KUBECONFIG, and the kubectl directory on PATH.
 */
import { delimiter, dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startKube } from './index.js';
import './use.js'; // the ProvidedContext declaration

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const kube = await startKube();
  const t = kube.info.timings;
  console.log(
    `[kube] kube-apiserver ${kube.info.versions.kube} + etcd ${kube.info.versions.etcd} ready at ${kube.server} ` +
      `in ${t.totalMs} ms (pki ${t.pkiMs}, etcd ${t.etcdMs}, apiserver ${t.apiserverMs}, ${kube.info.crds.length} CRDs ${t.crdsMs}); ` +
      `logs in ${kube.info.dir}`,
  );
  project.provide('kube', kube.info);
  process.env.KUBECONFIG = kube.kubeconfigPath;
  process.env.SMC_TEST_KUBECONFIG = kube.kubeconfigPath;
  process.env.PATH = [dirname(kube.info.kubectlPath), process.env.PATH].join(delimiter);
  return async () => {
    await kube.stop();
  };
}
