/** `msmctl sync --store k8s:NS/NAME` against the real kube-apiserver, through the kubeconfig as a user has it. */
import { CoreV1Api } from '@kubernetes/client-node';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useKube } from '../peers/kube/use.js';
import { repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const kube = useKube();

describe('msmctl sync to a Kubernetes Secret', () => {
  it('writes every enabled entry into one Secret, then a second run is all noop', async () => {
    const ns = await kube().createNamespace('msmctl-k8s');
    const args = [
      'sync',
      path.join(repoRoot, 'examples/gitops'),
      '--env',
      'dev',
      '-o',
      'json',
      '--age-key-file',
      path.join(repoRoot, 'examples/keys/demo.agekey'),
      '--store',
      `k8s:${ns}/app-secrets`,
    ];
    const env = { KUBECONFIG: kube().kubeconfigPath };
    const first = msmctl(args, { env });
    expect(first.status, first.stderr).toBe(0);
    const entries = (JSON.parse(first.stdout) as { entries: { name: string; action: string }[] }).entries;
    expect(entries.every((e) => e.action === 'create')).toBe(true);

    const secret = await kube()
      .client(CoreV1Api)
      .readNamespacedSecret({ name: 'app-secrets', namespace: ns });
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    expect(data['payments-STRIPE_API_KEY']).toBe('sk_test_demo_51Hx');
    expect(data).not.toHaveProperty('payments-LEGACY_API_TOKEN'); // commented out: disabled, not exposed

    const second = msmctl(args, { env });
    expect(second.status, second.stderr).toBe(0);
    const again = (JSON.parse(second.stdout) as { entries: { action: string }[] }).entries;
    expect(again.map((e) => e.action)).toEqual(entries.map(() => 'noop'));
    const after = await kube().client(CoreV1Api).readNamespacedSecret({ name: 'app-secrets', namespace: ns });
    expect(after.metadata?.resourceVersion).toBe(secret.metadata?.resourceVersion);
  });
});
