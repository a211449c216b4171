/**
 * Git credentials for Argo sources against the real kube-apiserver, read as the controller's
 * ServiceAccount with the shipped RBAC: a `gitCredentials` Secret, Argo CD repository Secrets
 * (exact URL) and credential templates (`repo-creds`, longest prefix), `no_cross_namespace_refs`,
 * and clear errors that name the Secret but never a value. Also the Flux API discovery.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitCredentialResolver } from '../../src/controller/sources/argo-source.js';
import { discoverFluxSources, fluxSourceTypes } from '../../src/controller/sources/flux-versions.js';
import { createLogger } from '../../src/observability/logger.js';
import { useKube } from '../peers/kube/use.js';
import { grantArgoRepositorySecrets, removeShippedRbac, shippedRbacAccess } from '../e2e/rbac.js';

const kube = useKube();
const CANARY = 'canary-cred-pw-91d2e7';
let ns: string;
let other: string;
let resolver: (noCross: boolean) => GitCredentialResolver;
let saKubeConfig: KubeConfig;

async function secret(namespace: string, name: string, data: Record<string, string>, type?: string) {
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({
      namespace,
      body: {
        metadata: { name, labels: type ? { 'argocd.argoproj.io/secret-type': type } : {} },
        stringData: data,
      },
    });
}

beforeAll(async () => {
  ns = await kube().createNamespace('argo-creds');
  other = await kube().createNamespace('argo-creds-other');
  const access = await shippedRbacAccess(kube(), ns);
  // Listing Argo CD's repository Secrets needs the optional Role (not in the shipped RBAC).
  await grantArgoRepositorySecrets(kube(), ns, ns);
  saKubeConfig = access.kubeConfig();
  const core = saKubeConfig.makeApiClient(CoreV1Api);
  resolver = (noCross) =>
    new GitCredentialResolver(core, () => ({
      controllerNamespace: 'controller-ns',
      noCrossNamespaceRefs: noCross,
      controllerKeyNamespaces: [],
    }));
  await Promise.all([
    secret(
      ns,
      'exact',
      { url: 'https://git.example/org/app.git', username: 'exact', password: CANARY },
      'repository',
    ),
    secret(ns, 'url-only', { url: 'https://git.example/org/lib', type: 'git' }, 'repository'),
    secret(
      ns,
      'tmpl-org',
      { url: 'https://git.example/org', username: 'org', password: CANARY },
      'repo-creds',
    ),
    secret(ns, 'tmpl-team', { url: 'https://git.example/org/team', token: CANARY }, 'repo-creds'),
    secret(ns, 'mine', { sshPrivateKey: 'KEY-MATERIAL', known_hosts: 'git.example ssh-ed25519 AAAA' }),
    secret(ns, 'empty', { note: 'nothing here' }),
    secret(other, 'elsewhere', { username: 'x', password: CANARY }),
    secret(
      other,
      'other-repo',
      { url: 'https://git.example/org/app.git', username: 'o', password: CANARY },
      'repository',
    ),
  ]);
});

afterAll(async () => {
  await removeShippedRbac(kube(), ns);
});

const req = (repoURL: string, extra: Record<string, unknown> = {}) => ({
  smcNamespace: ns,
  applicationNamespace: ns,
  repoURL,
  ...extra,
});

describe('GitCredentialResolver', () => {
  it('Argo repository Secret by URL (normalised), else the longest matching repo-creds template', async () => {
    const r = resolver(false);
    expect(await r.resolve(req('https://GIT.example/org/app/'))).toMatchObject({ username: 'exact' });
    expect(await r.resolve(req('https://git.example/org/team/svc.git'))).toMatchObject({ token: CANARY });
    // A repository Secret without credentials falls through to the templates.
    expect(await r.resolve(req('https://git.example/org/lib'))).toMatchObject({ username: 'org' });
    expect(await r.resolve(req('https://elsewhere.example/x.git'))).toBeUndefined();
  });

  it('gitCredentials wins over Argo Secrets; a missing or unusable Secret is a clear error', async () => {
    const r = resolver(false);
    expect(
      await r.resolve(req('https://git.example/org/app.git', { gitCredentials: { name: 'mine' } })),
    ).toEqual({
      sshPrivateKey: 'KEY-MATERIAL',
      knownHosts: 'git.example ssh-ed25519 AAAA',
    });
    await expect(r.resolve(req('https://g/x', { gitCredentials: { name: 'nope' } }))).rejects.toThrow(
      `spec.sourceRef.gitCredentials: Secret ${ns}/nope not found`,
    );
    await expect(r.resolve(req('https://g/x', { gitCredentials: { name: 'empty' } }))).rejects.toThrow(
      /has none of the keys username\+password, token, sshPrivateKey/,
    );
  });

  it('no_cross_namespace_refs: a Secret in another namespace is refused; Argo Secrets only in the own namespace', async () => {
    const ref = { gitCredentials: { name: 'elsewhere', namespace: other } };
    expect(await resolver(false).resolve(req('https://g/x', ref))).toMatchObject({ username: 'x' });
    const denied = resolver(true).resolve(req('https://g/x', ref));
    await expect(denied).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(denied).rejects.toThrow(/no_cross_namespace_refs/);
    await denied.catch((e: Error) => expect(e.message).not.toContain(CANARY));
    expect(
      await resolver(true).resolve({
        ...req('https://git.example/org/app.git'),
        applicationNamespace: other,
      }),
    ).toBeUndefined();
  });
});

describe('GitCredentialResolver without the optional Role', () => {
  it('a namespace whose Secrets the controller may not list: no credentials (the lookup is forbidden, not an error)', async () => {
    const found = await resolver(false).resolve({
      ...req('https://git.example/org/app.git'),
      applicationNamespace: other,
    });
    expect(found).toBeUndefined();
  });
});

describe('Flux API discovery', () => {
  it('finds v1 served for every source kind in the test cluster (as the ServiceAccount)', async () => {
    const served = await discoverFluxSources(saKubeConfig, createLogger({ level: 'silent' }));
    expect(fluxSourceTypes(served).map((t) => t.version)).toEqual(['v1', 'v1', 'v1']);
  });
});
