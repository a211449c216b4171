/**
 * Key services for SOPS data keys (docs/sops.md "Key services"): AWS KMS, GCP KMS, Azure Key Vault
 * and HashiCorp Vault transit, each opened in-process through its official client (Vault: its HTTP
 * API). `KmsKeys` is what a keyring carries: one SMC's (or the CLI's) credentials per service, or
 * the SDKs' default chains where workload identity is allowed.
 *
 * Cost: an opened data key is kept in the process's cache (src/sops/kms/cache.ts), keyed by the
 * credentials' scope and everything sent to the service, so a file that did not change costs no
 * call; two files holding the same wrapped key while it is being opened share one call; each service
 * has a concurrency limit; failures are retried with the store layer's policy (throttling and 5xx
 * only). Every request is reported (`sops_kms_calls_total{service,result}`).
 */
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { SmcError } from '../../errors.js';
import { ProviderError, type ProviderErrorReason } from '../../stores/provider-error.js';
import { withRetry } from '../../stores/retry.js';
import type { KmsEntry } from '../metadata.js';
import type { KmsCredentials } from './credentials.js';
import { type KmsRuntime, kmsRuntime } from './runtime.js';
import {
  KmsOpenError,
  type KmsFailureReason,
  type KmsOpener,
  type KmsService,
  SERVICE_NAMES,
} from './types.js';

export { KMS_SECRET_KEYS, kmsCredentialsFrom, type KmsCredentials } from './credentials.js';
export { type KmsCall, KmsRuntime, type KmsRuntimeOptions, kmsRuntime } from './runtime.js';
export { KmsOpenError, type KmsOpener, type KmsService, SERVICE_NAMES } from './types.js';

/** Endpoint overrides (tests, private endpoints, emulators); otherwise each SDK's own resolution. */
export interface KmsEndpoints {
  awsKms?: string;
  awsSts?: string;
  gcpKms?: string;
}

export interface KmsKeysOptions {
  credentials?: KmsCredentials;
  /** Where each service's explicit credentials came from (value-free), for messages. */
  sources?: Partial<Record<KmsService, string>>;
  /**
   * Services without explicit credentials use the SDKs' default chains (workload identity, env,
   * shared config). The controller allows it only where the operator's setting does.
   */
  ambient: boolean;
  /** Why ambient credentials are not allowed, quoted when a key has none. */
  ambientRefusal?: string;
  endpoints?: KmsEndpoints;
  /**
   * The CLI: honour `aws_profile`; ambient Vault credentials are this `env`'s `VAULT_TOKEN` or
   * `~/.vault-token` (the controller's: its own environment's, where allowed).
   */
  cli?: { env: NodeJS.ProcessEnv };
  runtime?: KmsRuntime;
  /** A ready Azure credential (embedding, tests); counts as explicit credentials for Azure Key Vault. */
  azureTokenCredential?: TokenCredential;
}

interface Backend {
  decrypt(entry: KmsEntry, signal?: AbortSignal): Promise<Uint8Array>;
}

const REASONS: Record<ProviderErrorReason, KmsFailureReason> = {
  ProviderAuthFailed: 'auth_failed',
  Throttled: 'throttled',
  NotFound: 'not_found',
  Conflict: 'error',
  TooLarge: 'invalid',
  InvalidRequest: 'invalid',
  ProviderUnavailable: 'unavailable',
  StoreError: 'error',
};

/** The credentials of one keyring for every key service. Never prints a credential. */
export class KmsKeys implements KmsOpener {
  private readonly runtime: KmsRuntime;
  private readonly backends = new Map<KmsService, Promise<Backend>>();
  /** Cache scope per service: explicit credentials get their own; ambient ones are shared. */
  private readonly scope = randomUUID();

  constructor(private readonly opts: KmsKeysOptions) {
    this.runtime = opts.runtime ?? kmsRuntime();
  }

  describe(): string[] {
    return (['aws_kms', 'gcp_kms', 'azure_kv', 'hc_vault'] as const).map((s) => {
      const from = this.opts.sources?.[s];
      return `${SERVICE_NAMES[s]}: ${from ?? (this.opts.ambient ? 'default credentials (workload identity)' : 'no credentials')}`;
    });
  }

  async open(entry: KmsEntry): Promise<Uint8Array> {
    let backend: Backend;
    try {
      backend = await this.backend(entry);
    } catch (e) {
      if (e instanceof KmsOpenError) throw e;
      const error = toProviderError(e, entry);
      throw new KmsOpenError(entry.type, entry.id, REASONS[error.reason], error.message);
    }
    const id = `${this.scopeOf(entry.type)}\0${JSON.stringify(entry)}`;
    const cached = this.runtime.cache.get(id);
    if (cached) return cached;
    let pending = this.runtime.inFlight.get(id);
    if (pending) return Uint8Array.from(await pending);
    pending = this.call(backend, entry).finally(() => this.runtime.inFlight.delete(id));
    this.runtime.inFlight.set(id, pending);
    const key = await pending;
    this.runtime.cache.set(id, key);
    const copy = Uint8Array.from(key);
    // Files waiting on the same call copy it in their own continuations (microtasks), all of
    // which run before this macrotask: then no copy of the service's answer is left unzeroed.
    setImmediate(() => key.fill(0));
    return copy;
  }

  private async call(backend: Backend, entry: KmsEntry): Promise<Uint8Array> {
    const service = entry.type;
    try {
      return await this.runtime.limiter(service).run(() =>
        withRetry(
          async () => {
            try {
              const key = await backend.decrypt(entry);
              this.runtime.onCall?.({ service, result: 'ok' });
              return key;
            } catch (e) {
              const error = toProviderError(e, entry);
              this.runtime.onCall?.({ service, result: REASONS[error.reason] });
              throw error;
            }
          },
          { policy: this.runtime.retryPolicy, classify: (e) => toProviderError(e, entry) },
        ),
      );
    } catch (e) {
      const error = toProviderError(e, entry);
      throw new KmsOpenError(service, entry.id, REASONS[error.reason], error.message);
    }
  }

  /** Keys opened with explicit credentials are cached for those only; ambient ones are shared. */
  private scopeOf(service: KmsService): string {
    return this.opts.sources?.[service] !== undefined ||
      (service === 'azure_kv' && this.opts.azureTokenCredential)
      ? this.scope
      : 'ambient';
  }

  /** The service's client (its SDK loaded on first use: a CLI run without KMS files never loads it). */
  private backend(entry: KmsEntry): Promise<Backend> {
    const service = entry.type;
    const existing = this.backends.get(service);
    if (existing) return existing;
    const creds = this.opts.credentials ?? {};
    const has = {
      aws_kms: creds.aws !== undefined,
      gcp_kms: creds.gcp !== undefined,
      azure_kv:
        this.opts.azureTokenCredential !== undefined ||
        (creds.azure !== undefined && creds.azure.type !== 'managedIdentity'),
      hc_vault: creds.vaultToken !== undefined,
    }[service];
    if (!has && !this.opts.ambient) {
      const managed = service === 'azure_kv' && creds.azure?.type === 'managedIdentity';
      throw new KmsOpenError(
        service,
        entry.id,
        'no_credentials',
        `no credentials for ${SERVICE_NAMES[service]}: ${
          managed
            ? `${this.opts.sources?.azure_kv ?? 'the Secret'} names a managed identity, which is workload identity`
            : `no ${secretKeyHint(service)} given`
        }${this.opts.ambientRefusal ? ` and ${this.opts.ambientRefusal}` : ''}`,
      );
    }
    const backend = this.load(service, creds);
    this.backends.set(service, backend);
    backend.catch(() => this.backends.delete(service));
    return backend;
  }

  private async load(service: KmsService, creds: KmsCredentials): Promise<Backend> {
    const ep = this.opts.endpoints ?? {};
    switch (service) {
      case 'aws_kms': {
        const { AwsKmsBackend } = await import('./aws.js');
        const aws = new AwsKmsBackend({
          ...(creds.aws ? { credentials: creds.aws } : {}),
          ...(ep.awsKms ? { endpoint: ep.awsKms } : {}),
          ...(ep.awsSts ? { stsEndpoint: ep.awsSts } : {}),
          useProfiles: this.opts.cli !== undefined,
        });
        return { decrypt: (e, s) => aws.decrypt(e as Extract<KmsEntry, { type: 'aws_kms' }>, s) };
      }
      case 'gcp_kms': {
        const { GcpKmsBackend } = await import('./gcp.js');
        const endpoint = ep.gcpKms
          ? { value: ep.gcpKms, source: '--gcp-kms-endpoint' }
          : process.env['SMC_GCP_KMS_ENDPOINT']
            ? { value: process.env['SMC_GCP_KMS_ENDPOINT'], source: 'SMC_GCP_KMS_ENDPOINT' }
            : undefined;
        const gcp = new GcpKmsBackend({
          ...(creds.gcp ? { credentials: creds.gcp } : {}),
          ...(endpoint ? { endpoint } : {}),
        });
        return { decrypt: (e) => gcp.decrypt(e as Extract<KmsEntry, { type: 'gcp_kms' }>) };
      }
      case 'azure_kv': {
        const { AzureKvBackend } = await import('./azure.js');
        const azure = new AzureKvBackend({
          ...(creds.azure ? { credentials: creds.azure } : {}),
          ...(this.opts.azureTokenCredential ? { tokenCredential: this.opts.azureTokenCredential } : {}),
        });
        return { decrypt: (e, s) => azure.decrypt(e as Extract<KmsEntry, { type: 'azure_kv' }>, s) };
      }
      case 'hc_vault': {
        const { VaultTransitBackend } = await import('./vault.js');
        const vault = new VaultTransitBackend({
          token: creds.vaultToken ?? (() => ambientVaultToken(this.opts.cli?.env ?? process.env)),
        });
        return { decrypt: (e, s) => vault.decrypt(e as Extract<KmsEntry, { type: 'hc_vault' }>, s) };
      }
      default:
        throw new ProviderError('InvalidRequest', `${SERVICE_NAMES[service]} is not supported yet`);
    }
  }

  toJSON(): unknown {
    return { kms: this.describe() };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KmsKeys { ${this.describe().join('; ')} }`;
  }
}

function secretKeyHint(service: KmsService): string {
  return {
    aws_kms: 'sops.aws-kms',
    gcp_kms: 'sops.gcp-kms',
    azure_kv: 'sops.azure-kv',
    hc_vault: 'sops.vault-token',
  }[service];
}

/** `VAULT_TOKEN`, else `~/.vault-token` (what the vault CLI and sops read). */
async function ambientVaultToken(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env['VAULT_TOKEN']) return env['VAULT_TOKEN'].trim();
  const home = env['HOME'];
  if (!home) return undefined;
  const { readFile } = await import('node:fs/promises');
  try {
    return (await readFile(`${home}/.vault-token`, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whatever a backend threw, as a value-free ProviderError. */
function toProviderError(e: unknown, entry: KmsEntry): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof SmcError) return new ProviderError('InvalidRequest', e.message);
  return new ProviderError(
    'StoreError',
    `${SERVICE_NAMES[entry.type]} key "${entry.id}": unexpected ${e instanceof Error ? e.name : 'error'}`,
  );
}
