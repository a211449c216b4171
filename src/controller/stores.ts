/**
 * The stores one SecretManagerConfig writes to (docs/crd-reference.md `provider`, `configs`): the secret store
 * of its provider and, with `configs.enabled`, the config store (GCP Parameter Manager, AWS SSM
 * Parameter Store, Azure App Configuration). Credentials named by `provider.*.auth.secretRef` are
 * read from their Secret (default namespace: the SMC's), checked against the multi-tenancy settings,
 * and cached per (Secret uid/resourceVersion, auth), so a rotated Secret is picked up on the next
 * reconcile. Credential material lives in memory only and never appears in a message or a log line.
 * Which stores a provider opens, and from which keys of the Secret, is the provider's own business
 * (src/stores/<provider>/provider.ts, found through src/stores/registry.ts).
 *
 * Cloud SDK clients are built once per store configuration and credentials and shared across
 * reconciles (src/stores/client-cache.ts): a store opened here borrows its client and gives it back
 * on `close()`. A client no SMC's latest open used (its spec or credentials changed; `forget` on
 * deletion) is closed once the last store holding it is closed; so is one idle for 30 minutes.
 */
import { createHash } from 'node:crypto';
import type { CoreV1Api, KubeConfig, V1Secret } from '../kube/client-node.js';
import { type ProviderName, type SecretManagerConfigSpec, selectedProvider } from '../api/index.js';
import { SmcError } from '../errors.js';
import type { SecretKeyRefLike } from '../stores/provider.js';
import { ClientCache, type ClientCacheOptions, type Lease } from '../stores/client-cache.js';
import { smcProvider } from '../stores/registry.js';
import type { StoreObserver } from '../stores/store.js';
import { checkSecretRef } from './keys.js';
import type { SmcStores } from './reconcile.js';
import { type StoreAllowRule, isStoreAllowed } from './settings.js';

/** The SMC the stores are opened for. */
export interface StoreOwner {
  namespace: string;
  name: string;
  uid?: string;
}

export interface StoreFactoryOptions {
  /** Reads credential Secrets (only `readNamespacedSecret` is used). */
  core: Pick<CoreV1Api, 'readNamespacedSecret'>;
  /** For the Kubernetes Secret store. */
  kubeConfig?: KubeConfig;
  controllerNamespace: string;
  /** The settings that bound stores and credentials; read on every `open` (settings can be reloaded). */
  policy: () => StorePolicy;
  /** Told the resourceVersion of every credentials Secret read, for change detection. */
  onSecretRead?: (namespace: string, name: string, resourceVersion: string | undefined) => void;
  /** Metrics observer per store type (`gcp`, `gcp-pm`, `aws`, `ssm`, `azure-keyvault`, …). */
  observer?: (storeType: string) => StoreObserver | undefined;
  /** Test seams: extra options merged into each store's constructor options. */
  overrides?: Partial<Record<ProviderName, Record<string, unknown>>>;
  /** Bounds of the shared client cache (tests). */
  clientCache?: ClientCacheOptions;
}

export interface StorePolicy {
  /** `no_cross_namespace_refs`: a credentials Secret must be in the SMC's namespace. */
  noCrossNamespaceRefs: boolean;
  storeAllowlist: readonly StoreAllowRule[];
  /** `provider_max_rps`: per-store write rate. */
  maxWritesPerSecond?: number;
}

/** Bound on cached credentials (one per Secret version and auth spec). */
const CACHE_MAX = 256;

export class StoreFactory {
  private readonly cache = new Map<string, unknown>();
  private readonly clients: ClientCache;

  constructor(private readonly o: StoreFactoryOptions) {
    this.clients = new ClientCache(o.clientCache);
  }

  /** Number of cached credentials (tests). */
  get cachedCredentials(): number {
    return this.cache.size;
  }

  /** Number of cached SDK clients (tests). */
  get cachedClients(): number {
    return this.clients.size;
  }

  /** The SMC is gone: the clients only it used are closed (once no open store holds them). */
  forget(smc: StoreOwner): void {
    this.clients.forget(userOf(smc));
  }

  /** Close every cached client (shutdown); those held by open stores close when the stores do. */
  close(): void {
    this.clients.closeAll();
  }

  async open(smc: StoreOwner, spec: SecretManagerConfigSpec): Promise<SmcStores> {
    const provider = selectedProvider(spec).name;
    const { namespace, name } = smc;
    const policy = this.o.policy();
    const used = new Set<string>();
    const leases: Lease<unknown>[] = [];
    const opening = smcProvider(provider).open({
      smc,
      spec,
      allow: (target, what) => {
        if (!isStoreAllowed(policy.storeAllowlist, namespace, target)) {
          throw new SmcError(
            'AccessDenied',
            `${namespace}/${name}: writing to ${what} is not allowed for namespace ${namespace} by the setting store_allowlist`,
          );
        }
      },
      credential: (ref, field, auth, build) => this.credential(smc, ref, field, auth, build),
      remember: (parts, make) => this.remember(fingerprint(parts), make),
      maxWritesPerSecond: policy.maxWritesPerSecond,
      observer: (t) => this.o.observer?.(t),
      overrides: this.o.overrides?.[provider] ?? {},
      clients: (parts) => {
        const key = this.clients.key(parts);
        used.add(key);
        return (make, close) => {
          const lease = this.clients.lease(key, make, close);
          leases.push(lease);
          return lease;
        };
      },
      ...(this.o.kubeConfig ? { kubeConfig: this.o.kubeConfig } : {}),
    });
    let stores: SmcStores;
    try {
      stores = await opening;
    } catch (e) {
      // A store made before the failure is never returned, so never closed: give its client back.
      for (const lease of leases) lease.release();
      this.clients.dropUnused(used);
      throw e;
    }
    this.clients.setUses(userOf(smc), used);
    return stores;
  }

  /**
   * Read the credential Secret `ref` and build the credential from its decoded data, cached per
   * (Secret, uid, resourceVersion, auth). Errors name the Secret and key, never a value.
   */
  private async credential<T>(
    smc: StoreOwner,
    ref: SecretKeyRefLike,
    field: string,
    auth: unknown,
    build: (data: Record<string, string | undefined>, where: string) => T,
  ): Promise<T> {
    const namespace = ref.namespace ?? smc.namespace;
    const policy = this.o.policy();
    checkSecretRef(smc.namespace, { name: ref.name, namespace }, policy, field);
    const where = `${field}: Secret ${namespace}/${ref.name}`;
    const secret = await this.readSecret(namespace, ref.name, where);
    const key = fingerprint([
      namespace,
      ref.name,
      secret.metadata?.uid,
      secret.metadata?.resourceVersion,
      JSON.stringify(auth),
    ]);
    return this.remember(key, () => {
      const data: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(secret.data ?? {}))
        data[k] = Buffer.from(v, 'base64').toString('utf8');
      for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = v;
      return build(data, where);
    });
  }

  private remember<T>(key: string, make: () => T): T {
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const v = make();
    this.cache.set(key, v);
    while (this.cache.size > CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    return v;
  }

  private async readSecret(namespace: string, name: string, where: string): Promise<V1Secret> {
    try {
      const secret = await this.o.core.readNamespacedSecret({ namespace, name });
      this.o.onSecretRead?.(namespace, name, secret.metadata?.resourceVersion);
      return secret;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) {
        this.o.onSecretRead?.(namespace, name, undefined);
        throw new SmcError('ProviderAuthFailed', `${where} not found`);
      }
      if (code === 403) {
        throw new SmcError(
          'AccessDenied',
          `${where}: cannot read it (forbidden): grant the controller get on it`,
        );
      }
      throw new SmcError('StoreError', `${where}: reading it failed (HTTP ${code ?? 'error'})`);
    }
  }
}

function userOf(smc: StoreOwner): string {
  return `${smc.namespace}/${smc.name}`;
}

function fingerprint(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * `namespace/name` of the credential Secret an SMC's provider auth references (raw spec, as the
 * informer holds it), if any: a change to it triggers a reconcile, like a SOPS key Secret.
 */
export function credentialSecretsOf(smc: { metadata: { namespace: string }; spec?: unknown }): string[] {
  const provider = (smc.spec as { provider?: Record<string, { auth?: { secretRef?: unknown } }> } | undefined)
    ?.provider;
  const out: string[] = [];
  for (const p of Object.values(provider ?? {})) {
    const ref = p?.auth?.secretRef as { name?: unknown; namespace?: unknown } | undefined;
    if (typeof ref?.name !== 'string') continue;
    out.push(`${typeof ref.namespace === 'string' ? ref.namespace : smc.metadata.namespace}/${ref.name}`);
  }
  return out;
}
