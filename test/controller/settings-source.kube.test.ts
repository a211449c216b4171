/**
 * The settings ConfigMap as a stream of states (src/controller/settings-source.ts) against the real
 * apiserver: absent, created, changed, deleted, created again; and a watcher without RBAC reports
 * the refusal (value-free) and recovers once it is granted.
 */
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type ConfigMapSnapshot, kubernetesSettingsSource } from '../../src/controller/settings-source.js';
import { createLogger } from '../../src/observability/logger.js';
import { useKube } from '../peers/kube/use.js';
import { waitFor } from '../e2e/controller-process.js';

const kube = useKube();
const logger = createLogger({ level: 'silent', format: 'json' });

/** States as seen, repeats dropped: `absent` or `<level>` (the ConfigMap's `log_level`). */
function recorder() {
  const states: string[] = [];
  const errors: string[] = [];
  return {
    states,
    errors,
    handlers: {
      onState(s: ConfigMapSnapshot | undefined) {
        const label = s ? (s.data.log_level ?? '?') : 'absent';
        if (states.at(-1) !== label) states.push(label);
      },
      onError(message: string) {
        errors.push(message);
      },
    },
  };
}

const reaches = (states: string[], label: string) => () =>
  Promise.resolve(states.at(-1) === label ? true : undefined);

describe('kubernetesSettingsSource', () => {
  it('reports absent, created, changed, deleted and re-created, and only the named ConfigMap', async () => {
    const ns = await kube().createNamespace('settings-source');
    const core = kube().client(CoreV1Api);
    const r = recorder();
    const source = kubernetesSettingsSource(kube().kubeConfig(), logger);
    const handle = source({ namespace: ns, name: 'smc-settings' }, r.handlers);
    try {
      await waitFor('the first list (absent)', reaches(r.states, 'absent'));
      // Another ConfigMap in the namespace is not the settings.
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'other' }, data: { log_level: 'trace' } },
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'smc-settings' }, data: { log_level: 'debug' } },
      });
      await waitFor('created', reaches(r.states, 'debug'));
      await core.patchNamespacedConfigMap({
        namespace: ns,
        name: 'smc-settings',
        body: [{ op: 'replace', path: '/data/log_level', value: 'warn' }],
      });
      await waitFor('changed', reaches(r.states, 'warn'));
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'smc-settings' });
      await waitFor('deleted', reaches(r.states, 'absent'));
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'smc-settings' }, data: { log_level: 'error' } },
      });
      await waitFor('re-created', reaches(r.states, 'error'));
      expect(r.states).toEqual(['absent', 'debug', 'warn', 'absent', 'error']);
      expect(r.errors).toEqual([]);
    } finally {
      handle.stop();
    }
  });

  it('reports a refused list (HTTP 403) and recovers once RBAC grants it', async () => {
    const ns = await kube().createNamespace('settings-source-rbac');
    const core = kube().client(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'smc-settings' }, data: { log_level: 'info' } },
    });
    const sa = await kube().serviceAccountKubeconfig(ns, 'settings-reader');
    const r = recorder();
    const handle = kubernetesSettingsSource(sa.kubeConfig(), logger)(
      { namespace: ns, name: 'smc-settings' },
      r.handlers,
    );
    try {
      await waitFor('the refusal', () => Promise.resolve(r.errors.length > 0 ? true : undefined));
      expect(r.errors[0]).toBe(`watching ConfigMap ${ns}/smc-settings failed (HTTP 403)`);
      expect(r.states).toEqual([]);
      const rbac = kube().client(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'settings-reader' },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'settings-reader' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'settings-reader' },
          subjects: [{ kind: 'ServiceAccount', name: 'settings-reader', namespace: ns }],
        },
      });
      await waitFor('the state once granted', reaches(r.states, 'info'), { timeoutMs: 60_000 });
      await core.patchNamespacedConfigMap({
        namespace: ns,
        name: 'smc-settings',
        body: [{ op: 'replace', path: '/data/log_level', value: 'debug' }],
      });
      await waitFor('a change seen through the watch', reaches(r.states, 'debug'));
    } finally {
      handle.stop();
    }
  });
});
