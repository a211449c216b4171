/**
 * Argo CD Application sources in the controller (docs/crd-reference.md `sourceRef`, docs/sources.md): which Git
 * source of an Application an SMC reads, and the Git credentials for it — the SMC's
 * `sourceRef.gitCredentials` Secret, else Argo CD's own declarative repository Secrets
 * (`argocd.argoproj.io/secret-type: repository`, matched by URL) and credential templates
 * (`repo-creds`, longest URL prefix). Credential material stays in memory and never reaches a
 * message: errors name the Secret and the key, never a value.
 */
import type { CoreV1Api, V1Secret } from '../../kube/client-node.js';
import { SmcError } from '../../errors.js';
import { type ArgoGitSource, type GitCredentials, argoGitSources } from '../../source/argo-git.js';
import { type KeyPolicy, checkSecretRef } from '../keys.js';

export { ARGO_GROUP, ARGO_VERSION } from '../../api/foreign-apis.js';
export const ARGO_APPLICATIONS = 'applications';
/** Label of Argo CD's repository Secrets and its value for one repository / a credential template. */
export const ARGO_SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';

/** An Argo CD Application, as far as the controller reads it. */
export interface ArgoApplicationObject {
  metadata?: { name?: string; namespace?: string; generation?: number };
  spec?: unknown;
  status?: { sync?: { revision?: string; revisions?: string[] } };
}

/**
 * The Git source an SMC reads from an Application: `spec.source`, or from `spec.sources[]` the first
 * Git source that has a `path` (entries that only name a values repository with `ref` and no `path`
 * are skipped), else the first Git source. Helm chart sources are never used.
 */
export function selectArgoGitSource(app: ArgoApplicationObject): ArgoGitSource | undefined {
  const spec = (app.spec ?? {}) as { sources?: unknown[] };
  const all = argoGitSources(app.spec);
  if (Array.isArray(spec.sources) && spec.sources.length > 0) {
    for (const s of spec.sources as Record<string, unknown>[]) {
      if (!s || typeof s !== 'object' || typeof s.path !== 'string' || s.path === '') continue;
      const match = all.find((g) => g.repoURL === s.repoURL && g.path === s.path);
      if (match) return match;
    }
  }
  return all[0];
}

/** What identifies a Git source for pull tracking: a change means the remote must be asked again. */
export function gitSourceKey(src: ArgoGitSource): string {
  return `${src.repoURL}\u0000${src.targetRevision}\u0000${src.path}`;
}

/** The parts of an Application whose change must trigger a reconcile at once. */
export function applicationFingerprint(app: ArgoApplicationObject | undefined): string {
  if (!app) return '';
  const sources = argoGitSources(app.spec).map(gitSourceKey).join('\u0001');
  return `${sources}|${app.status?.sync?.revision ?? ''}|${(app.status?.sync?.revisions ?? []).join(',')}`;
}

/** Argo CD's URL normalisation for matching: case-insensitive, no trailing `/` or `.git`. */
export function normalizeRepoURL(url: string): string {
  return url
    .trim()
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

function text(secret: V1Secret, key: string): string | undefined {
  const raw = secret.data?.[key];
  if (raw === undefined) return secret.stringData?.[key];
  return Buffer.from(raw, 'base64').toString('utf8');
}

/**
 * Credentials from a Secret's keys: `sshPrivateKey` (+ `known_hosts`, or `insecure: "true"` to skip
 * the host key check), `token` or Argo's `bearerToken` (+ optional `username`), or `username` +
 * `password`. Undefined when the Secret has none of them.
 */
export function credentialsFromSecret(secret: V1Secret): GitCredentials | undefined {
  const ssh = text(secret, 'sshPrivateKey');
  if (ssh && ssh.trim() !== '') {
    const knownHosts = text(secret, 'known_hosts');
    return {
      sshPrivateKey: ssh,
      ...(knownHosts && knownHosts.trim() !== '' ? { knownHosts } : {}),
      ...(text(secret, 'insecure') === 'true' ? { insecureIgnoreHostKey: true } : {}),
    };
  }
  const username = text(secret, 'username');
  const token = text(secret, 'token') ?? text(secret, 'bearerToken');
  if (token && token !== '') return { token, ...(username ? { username } : {}) };
  const password = text(secret, 'password');
  if (password !== undefined && password !== '') return { username: username ?? '', password };
  return undefined;
}

/** Policy for reading credential Secrets (the multi-tenancy settings). */
export type CredentialPolicy = () => KeyPolicy;

export interface GitCredentialRequest {
  /** The SMC's namespace. */
  smcNamespace: string;
  /** `spec.sourceRef.gitCredentials` (namespace defaulted by the caller or here). */
  gitCredentials?: { name: string; namespace?: string };
  /** The Application's namespace: where Argo CD's repository Secrets are looked up. */
  applicationNamespace: string;
  repoURL: string;
}

/**
 * Finds the Git credentials for a repository. Reads Secrets on each call (only when the remote is
 * contacted: a pull or a fetch), so a rotated Secret is used at once.
 */
export class GitCredentialResolver {
  constructor(
    private readonly core: Pick<CoreV1Api, 'readNamespacedSecret' | 'listNamespacedSecret'>,
    private readonly policy: CredentialPolicy,
  ) {}

  async resolve(req: GitCredentialRequest): Promise<GitCredentials | undefined> {
    const policy = this.policy();
    if (req.gitCredentials) {
      const ref = {
        name: req.gitCredentials.name,
        namespace: req.gitCredentials.namespace ?? req.smcNamespace,
      };
      const field = 'spec.sourceRef.gitCredentials';
      checkSecretRef(req.smcNamespace, ref, policy, field);
      const secret = await this.read(ref.namespace, ref.name, field);
      if (!secret) {
        throw new SmcError('GitAuthFailed', `${field}: Secret ${ref.namespace}/${ref.name} not found`);
      }
      const creds = credentialsFromSecret(secret);
      if (!creds) {
        throw new SmcError(
          'GitAuthFailed',
          `${field}: Secret ${ref.namespace}/${ref.name} has none of the keys username+password, token, sshPrivateKey`,
        );
      }
      return creds;
    }
    // Argo CD's repository Secrets live with the Applications (its own namespace). Under
    // no_cross_namespace_refs they are used only when that is the SMC's namespace, and only when
    // the controller was granted `list` on Secrets there (docs/security.md).
    const ns = req.applicationNamespace;
    if (policy.noCrossNamespaceRefs && ns !== req.smcNamespace) return undefined;
    const want = normalizeRepoURL(req.repoURL);
    const repos = await this.list(ns, 'repository');
    for (const s of repos) {
      const url = text(s, 'url');
      if (url === undefined || normalizeRepoURL(url) !== want) continue;
      const creds = credentialsFromSecret(s);
      if (creds) return creds;
    }
    // Credential templates: the longest `url` that prefixes the repository URL.
    let best: { len: number; creds: GitCredentials } | undefined;
    for (const s of await this.list(ns, 'repo-creds')) {
      const prefix = text(s, 'url')?.trim().toLowerCase();
      if (!prefix || !req.repoURL.trim().toLowerCase().startsWith(prefix)) continue;
      const creds = credentialsFromSecret(s);
      if (creds && (!best || prefix.length > best.len)) best = { len: prefix.length, creds };
    }
    return best?.creds;
  }

  private async read(namespace: string, name: string, field: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace });
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) return undefined;
      if (code === 403) {
        throw new SmcError(
          'AccessDenied',
          `${field}: cannot read Secret ${namespace}/${name} (forbidden): grant the controller get on it`,
        );
      }
      throw new SmcError(
        'GitFetchFailed',
        `${field}: reading Secret ${namespace}/${name} failed (HTTP ${code ?? 'error'})`,
      );
    }
  }

  private async list(namespace: string, type: 'repository' | 'repo-creds'): Promise<V1Secret[]> {
    try {
      const list = await this.core.listNamespacedSecret({
        namespace,
        labelSelector: `${ARGO_SECRET_TYPE_LABEL}=${type}`,
      });
      return list.items;
    } catch (e) {
      const code = (e as { code?: number }).code;
      // 403: the shipped RBAC lists no Secrets outside the controller's namespace; listing Argo CD's
      // repository Secrets needs a Role the operator grants (docs/security.md). Without it the
      // repository is read without credentials, and an authentication failure says how to give some.
      if (code === 404 || code === 403) return [];
      throw new SmcError(
        'GitFetchFailed',
        `cannot list Argo CD ${type} Secrets in namespace ${namespace} (HTTP ${code ?? 'error'})`,
      );
    }
  }
}
