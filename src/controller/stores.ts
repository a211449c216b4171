/**
 * The stores one SecretManagerConfig writes to (docs/crd-reference.md `provider`, `configs`): the secret store
 * of its provider and, with `configs.enabled`, the config store (GCP Parameter Manager, AWS SSM
 * Parameter Store, Azure App Configuration). Credentials named by `provider.*.auth.secretRef` are
 * read from their Secret (default namespace: the SMC's), checked against the multi-tenancy settings,
 * and cached per (Secret uid/resourceVersion, auth), so a rotated Secret is picked up on the next
 * reconcile. Credential material lives in memory only and never appears in a message or a log line.
 */
import { createHash } from 'node:crypto';
import type { CoreV1Api, KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { TokenCredential } from '@azure/identity';
import { type SecretManagerConfigSpec, azureVaultUrl, selectedProvider } from '../api/index.js';
import { SmcError } from '../errors.js';
import { type AwsAccessKeys, type AwsAuth } from '../stores/aws/credentials.js';
import { AwsSecretsManagerStore } from '../stores/aws/secrets-manager.js';
import { AwsSsmParameterStore } from '../stores/aws/ssm.js';
import { AzureAppConfigurationStore } from '../stores/azure/app-configuration.js';
import { AZURE_CLIENT_SECRET_KEY, credentialFor } from '../stores/azure/credentials.js';
import { AzureKeyVaultStore } from '../stores/azure/keyvault-store.js';
import {
  GcpParameterManagerStore,
  GcpSecretManagerStore,
  type ServiceAccountKey,
  parseServiceAccountKey,
} from '../stores/gcp/index.js';
import { kubernetesStoreForSmc } from '../stores/kubernetes/index.js';
import type { StoreObserver } from '../stores/store.js';
import { checkSecretRef } from './keys.js';
import type { SmcStores } from './reconcile.js';
import { type StoreAllowRule, type StoreTarget, isStoreAllowed } from './settings.js';

export const AWS_ACCESS_KEY_ID = 'AWS_ACCESS_KEY_ID';
export const AWS_SECRET_ACCESS_KEY = 'AWS_SECRET_ACCESS_KEY';
export const AWS_SESSION_TOKEN = 'AWS_SESSION_TOKEN';
export const GCP_DEFAULT_KEY = 'credentials.json';

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
  overrides?: {
    gcp?: Record<string, unknown>;
    aws?: Record<string, unknown>;
    azure?: Record<string, unknown>;
  };
}

export interface StorePolicy {
  /** `no_cross_namespace_refs`: a credentials Secret must be in the SMC's namespace. */
  noCrossNamespaceRefs: boolean;
  storeAllowlist: readonly StoreAllowRule[];
  /** `provider_max_rps`: per-store write rate. */
  maxWritesPerSecond?: number;
}

interface SecretKeyRefLike {
  name: string;
  namespace?: string;
  key?: string;
}

/** Bound on cached credentials (one per Secret version and auth spec). */
const CACHE_MAX = 256;

export class StoreFactory {
  private readonly cache = new Map<string, unknown>();

  constructor(private readonly o: StoreFactoryOptions) {}

  /** Number of cached credentials (tests). */
  get cachedCredentials(): number {
    return this.cache.size;
  }

  async open(smc: StoreOwner, spec: SecretManagerConfigSpec): Promise<SmcStores> {
    const p = selectedProvider(spec);
    const { namespace, name } = smc;
    const environment = spec.secrets.environment;
    const policy = this.o.policy();
    const rate = policy.maxWritesPerSecond;
    const observer = (t: string) => this.o.observer?.(t);
    const allow = (target: StoreTarget, what: string) => {
      if (!isStoreAllowed(policy.storeAllowlist, namespace, target)) {
        throw new SmcError(
          'AccessDenied',
          `${namespace}/${name}: writing to ${what} is not allowed for namespace ${namespace} by the setting store_allowlist`,
        );
      }
    };
    switch (p.name) {
      case 'gcp': {
        allow({ provider: 'gcp', projectId: p.gcp.projectId }, `GCP project ${p.gcp.projectId}`);
        let credentials: ServiceAccountKey | undefined;
        if (p.gcp.auth.type === 'serviceAccountKey') {
          const ref = p.gcp.auth.secretRef;
          if (!ref) {
            throw new SmcError(
              'InvalidSpec',
              'spec.provider.gcp.auth.secretRef: must be set when type is serviceAccountKey',
            );
          }
          credentials = await this.credential(
            smc,
            ref,
            'spec.provider.gcp.auth.secretRef',
            p.gcp.auth,
            (data, where) => {
              const key = ref.key ?? GCP_DEFAULT_KEY;
              const raw = data[key];
              if (!raw) throw new SmcError('InvalidSpec', `${where} has no non-empty key ${key}`);
              try {
                return parseServiceAccountKey(raw);
              } catch (e) {
                // parseServiceAccountKey's messages never quote the key material.
                const why = e instanceof SmcError ? e.message : 'invalid';
                throw new SmcError('InvalidSpec', `${where} key ${key}: ${why}`);
              }
            },
          );
        }
        const common = {
          projectId: p.gcp.projectId,
          location: p.gcp.location,
          environment,
          ...(credentials ? { credentials } : {}),
          maxWritesPerSecond: rate,
          ...this.o.overrides?.gcp,
        };
        const secretStore = new GcpSecretManagerStore({ ...common, observer: observer('gcp') });
        if (!spec.configs.enabled) return { secretStore };
        const configStore =
          spec.configs.store === 'ParameterManager'
            ? new GcpParameterManagerStore({ ...common, observer: observer('gcp-pm') })
            : new GcpSecretManagerStore({ ...common, observer: observer('gcp') });
        return { secretStore, configStore };
      }
      case 'aws': {
        const region = p.aws.region;
        allow({ provider: 'aws', region }, `AWS region ${region}`);
        const a = p.aws.auth;
        let auth: AwsAuth = { type: 'default' };
        if (a.type === 'accessKeys' || (a.type === 'assumeRole' && a.secretRef)) {
          const ref = a.secretRef;
          if (!ref) {
            throw new SmcError(
              'InvalidSpec',
              'spec.provider.aws.auth.secretRef: must be set when type is accessKeys',
            );
          }
          const keys = await this.credential(
            smc,
            ref,
            'spec.provider.aws.auth.secretRef',
            a,
            (data, where) => {
              for (const k of [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]) {
                if (!data[k]) throw new SmcError('InvalidSpec', `${where} has no non-empty key ${k}`);
              }
              const out: AwsAccessKeys = {
                accessKeyId: data[AWS_ACCESS_KEY_ID]!,
                secretAccessKey: data[AWS_SECRET_ACCESS_KEY]!,
                ...(data[AWS_SESSION_TOKEN] ? { sessionToken: data[AWS_SESSION_TOKEN] } : {}),
              };
              return out;
            },
          );
          auth =
            a.type === 'accessKeys'
              ? { type: 'accessKeys', ...keys }
              : { type: 'assumeRole', roleArn: a.roleArn ?? '', source: keys };
        } else if (a.type === 'assumeRole') {
          auth = { type: 'assumeRole', roleArn: a.roleArn ?? '' };
        }
        const common = { region, environment, auth, maxWritesPerSecond: rate, ...this.o.overrides?.aws };
        const secretStore = new AwsSecretsManagerStore({ ...common, observer: observer('aws') });
        if (!spec.configs.enabled) return { secretStore };
        const parameterPath =
          spec.configs.parameterPath ??
          (spec.secrets.prefix ? `/${spec.secrets.prefix}/${environment}` : `/${environment}`);
        const configStore = new AwsSsmParameterStore({ ...common, parameterPath, observer: observer('ssm') });
        return { secretStore, configStore };
      }
      case 'azure': {
        const vaultUrl = azureVaultUrl(p.azure);
        let host: string;
        try {
          host = new URL(vaultUrl).host;
        } catch {
          throw new SmcError('InvalidSpec', `spec.provider.azure.vaultUrl "${vaultUrl}" is not a URL`);
        }
        allow({ provider: 'azure', vaultHost: host }, `Azure Key Vault ${host}`);
        const a = p.azure.auth;
        let credential: TokenCredential;
        if (a.type === 'servicePrincipal') {
          const ref = a.secretRef;
          if (!ref) {
            throw new SmcError(
              'InvalidSpec',
              'spec.provider.azure.auth.secretRef: must be set when type is servicePrincipal',
            );
          }
          credential = await this.credential(
            smc,
            ref,
            'spec.provider.azure.auth.secretRef',
            a,
            (data, where) => {
              if (!data[AZURE_CLIENT_SECRET_KEY]) {
                throw new SmcError('InvalidSpec', `${where} has no non-empty key ${AZURE_CLIENT_SECRET_KEY}`);
              }
              return credentialFor(a, data);
            },
          );
        } else {
          const key = `azure:${fingerprint([JSON.stringify(a)])}`;
          credential = this.remember(key, () => credentialFor(a));
        }
        const over = this.o.overrides?.azure ?? {};
        const secretStore = new AzureKeyVaultStore({
          vaultUrl,
          environment,
          credential,
          maxWritesPerSecond: rate,
          observer: observer('azure-keyvault'),
          ...over,
        });
        if (!spec.configs.enabled) return { secretStore };
        const endpoint = spec.configs.appConfigEndpoint;
        if (!endpoint) {
          throw new SmcError(
            'InvalidSpec',
            'spec.configs.appConfigEndpoint: must be set for the Azure provider when configs.enabled is true',
          );
        }
        const configStore = new AzureAppConfigurationStore({
          endpoint,
          credential,
          environment,
          prefix: spec.secrets.prefix,
          maxWritesPerSecond: rate,
          observer: observer('appconfig'),
          ...over,
        });
        return { secretStore, configStore };
      }
      case 'kubernetes': {
        allow({ provider: 'kubernetes' }, 'Kubernetes Secrets');
        if (!this.o.kubeConfig) throw new SmcError('InvalidSpec', 'the Kubernetes store needs a kubeconfig');
        return {
          secretStore: kubernetesStoreForSmc({
            kubeConfig: this.o.kubeConfig,
            smc: { namespace, name, uid: smc.uid },
            provider: p.kubernetes,
            environment,
            deletionPolicy: spec.deletionPolicy,
            observer: observer('kubernetes'),
          }),
        };
      }
    }
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

function fingerprint(parts: readonly (string | undefined)[]): string {
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
