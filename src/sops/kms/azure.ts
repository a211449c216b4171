/**
 * Azure Key Vault keys through the official client (`@azure/keyvault-keys`), as sops does: the
 * recorded `enc` is base64url RSA-OAEP-256 ciphertext of the data key, opened with the key's
 * `decrypt` operation (sops ≥ 3.8 wraps with `encrypt`; older sops used `wrapKey` with the same
 * algorithm, which `decrypt` opens too). Credentials: the Secret's `sops.azure-kv` (a service
 * principal's secret or certificate), or (where allowed) DefaultAzureCredential (AKS Workload
 * Identity, managed identity). TLS and the challenge follow the Key Vault store's variables
 * (`SMC_AZURE_KEYVAULT_CA_FILE`, `SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION`), for a
 * private CA or an emulator. Failures are value-free ProviderErrors (HTTP status and error code only).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { CryptographyClient, type CryptographyClientOptions } from '@azure/keyvault-keys';
import { SmcError } from '../../errors.js';
import { ProviderError, parseRetryAfter, reasonForHttpStatus } from '../../stores/provider-error.js';
import type { AzureKvEntry } from '../metadata.js';
import type { AzureKvCredentials } from './credentials.js';

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const CA_FILE_ENV = 'SMC_AZURE_KEYVAULT_CA_FILE';
const NO_CHALLENGE_CHECK_ENV = 'SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION';

export interface AzureKvOptions {
  /** From `sops.azure-kv`; undefined: DefaultAzureCredential (workload identity). */
  credentials?: AzureKvCredentials;
  /** A ready credential (embedding and tests); wins over `credentials`. */
  tokenCredential?: TokenCredential;
  env?: NodeJS.ProcessEnv;
}

export function azureCredential(c: AzureKvCredentials | undefined): TokenCredential {
  if (c === undefined) return new DefaultAzureCredential();
  const host = 'authorityHost' in c && c.authorityHost ? { authorityHost: c.authorityHost } : {};
  switch (c.type) {
    case 'secret':
      return new ClientSecretCredential(c.tenantId, c.clientId, c.clientSecret, host);
    case 'certificate':
      return new ClientCertificateCredential(
        c.tenantId,
        c.clientId,
        {
          certificate: c.certificate,
          ...(c.certificatePassword ? { certificatePassword: c.certificatePassword } : {}),
        },
        { ...host, sendCertificateChain: c.sendChain },
      );
    case 'managedIdentity':
      return new ManagedIdentityCredential({ clientId: c.clientId });
  }
}

export class AzureKvBackend {
  private readonly clients = new Map<string, CryptographyClient>();
  private readonly credential: TokenCredential;
  private readonly clientOptions: CryptographyClientOptions;

  constructor(opts: AzureKvOptions) {
    this.credential = opts.tokenCredential ?? azureCredential(opts.credentials);
    const env = opts.env ?? process.env;
    this.clientOptions = { retryOptions: { maxRetries: 0 } };
    const caFile = env[CA_FILE_ENV];
    if (caFile) {
      let pem: string;
      try {
        pem = readFileSync(caFile, 'utf8');
      } catch {
        throw new SmcError('InvalidSpec', `${CA_FILE_ENV}=${caFile}: cannot read the CA file`);
      }
      this.clientOptions.tlsOptions = { ca: [...rootCertificates, pem] };
    }
    if (env[NO_CHALLENGE_CHECK_ENV] === 'true')
      this.clientOptions.disableChallengeResourceVerification = true;
  }

  async decrypt(entry: AzureKvEntry, signal?: AbortSignal): Promise<Uint8Array> {
    const where = `azure keyvault decrypt "${entry.id}"`;
    let url: URL;
    try {
      url = new URL(entry.vaultUrl);
      if (url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new ProviderError('InvalidRequest', `${where}: vault_url is not an https URL`);
    }
    if (!entry.name || !entry.version)
      throw new ProviderError('InvalidRequest', `${where}: the key name or version is missing`);
    if (!BASE64URL.test(entry.enc) || entry.enc === '')
      throw new ProviderError('InvalidRequest', `${where}: the data key is not base64url`);
    const keyId = `${url.origin}${url.pathname.replace(/\/+$/, '')}/keys/${encodeURIComponent(entry.name)}/${encodeURIComponent(entry.version)}`;
    let client = this.clients.get(keyId);
    if (!client) {
      client = new CryptographyClient(keyId, this.credential, this.clientOptions);
      this.clients.set(keyId, client);
    }
    try {
      const out = await client.decrypt(
        { algorithm: 'RSA-OAEP-256', ciphertext: Buffer.from(entry.enc, 'base64url') },
        signal ? { abortSignal: signal } : {},
      );
      if (!out.result || out.result.length === 0)
        throw new ProviderError('StoreError', `${where} returned no data key`);
      return out.result;
    } catch (e) {
      throw azureKvError(e, where);
    }
  }
}

interface RestErrorLike {
  name?: unknown;
  statusCode?: unknown;
  code?: unknown;
  response?: { headers?: { get(name: string): string | undefined } };
}

function token(x: unknown): string | undefined {
  return typeof x === 'string' && /^[A-Za-z0-9_.:-]{1,80}$/.test(x) ? x : undefined;
}

/** Value-free: HTTP status and the service's error code; credential failures are auth failures. */
function azureKvError(e: unknown, where: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const r = (typeof e === 'object' && e !== null ? e : {}) as RestErrorLike;
  const name = token(r.name);
  if (
    name === 'CredentialUnavailableError' ||
    name === 'AuthenticationError' ||
    name === 'AggregateAuthenticationError'
  )
    return new ProviderError('ProviderAuthFailed', `${where} failed: no usable Azure credential (${name})`);
  const status = typeof r.statusCode === 'number' ? r.statusCode : undefined;
  const code = token(r.code);
  if (status === undefined) {
    const network = code !== undefined && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code);
    return new ProviderError(
      network ? 'ProviderUnavailable' : 'StoreError',
      `${where} failed: ${network ? 'vault unreachable' : 'no response'}${code ? ` (${code})` : ''}`,
    );
  }
  const retryAfterMs = parseRetryAfter(r.response?.headers?.get('retry-after'));
  return new ProviderError(
    reasonForHttpStatus(status),
    `${where} failed: HTTP ${status}${code ? ` ${code}` : ''}`,
    {
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    },
  );
}
