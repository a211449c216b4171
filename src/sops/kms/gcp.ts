/**
 * GCP KMS through its official client (`@google-cloud/kms`), as sops does: Decrypt with the
 * recorded `resource_id` and the base64-decoded ciphertext. Credentials: the Secret's
 * `sops.gcp-kms` (a Google credentials JSON), or (where allowed) Application Default Credentials
 * (GKE Workload Identity). An endpoint override (`SMC_GCP_KMS_ENDPOINT`, `--gcp-kms-endpoint`) takes
 * the store's syntax (docs/providers.md): `http://HOST:PORT` is REST over plain HTTP without
 * credentials (emulators and fakes only), `https://…` REST over TLS, `HOST:PORT` gRPC over TLS.
 * Failures are value-free ProviderErrors (status name and HTTP status only).
 */
import { createRequire } from 'node:module';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { parseEndpoint } from '../../stores/gcp/client-options.js';
import { gcpProviderError } from '../../stores/gcp/errors.js';
import { ProviderError } from '../../stores/provider-error.js';
import type { GcpKmsEntry } from '../metadata.js';

const RESOURCE = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface GcpKmsOptions {
  /** Parsed Google credentials JSON; undefined: Application Default Credentials. */
  credentials?: Record<string, unknown>;
  /** Endpoint override (see above); the source it came from names it in errors. */
  endpoint?: { value: string; source: string };
  requestTimeoutMs?: number;
}

export class GcpKmsBackend {
  private client: KeyManagementServiceClient | undefined;

  constructor(private readonly opts: GcpKmsOptions) {}

  async decrypt(entry: GcpKmsEntry): Promise<Uint8Array> {
    if (!RESOURCE.test(entry.id))
      throw new ProviderError(
        'InvalidRequest',
        `"${entry.id}" is not a GCP KMS key (projects/…/locations/…/keyRings/…/cryptoKeys/…)`,
      );
    if (!BASE64.test(entry.enc) || entry.enc === '')
      throw new ProviderError('InvalidRequest', `the data key of GCP KMS key "${entry.id}" is not base64`);
    let response;
    try {
      [response] = await this.kms().decrypt(
        { name: entry.id, ciphertext: Buffer.from(entry.enc, 'base64') },
        { timeout: this.opts.requestTimeoutMs ?? 30_000, retry: null },
      );
    } catch (e) {
      throw gcpProviderError('gcp kms Decrypt', `"${entry.id}"`, e);
    }
    const plaintext = response.plaintext;
    if (!plaintext || plaintext.length === 0)
      throw new ProviderError('StoreError', `gcp kms Decrypt "${entry.id}" returned no data key`);
    return typeof plaintext === 'string' ? Buffer.from(plaintext, 'base64') : Uint8Array.from(plaintext);
  }

  private kms(): KeyManagementServiceClient {
    if (this.client) return this.client;
    const opts: Record<string, unknown> = {};
    const endpoint = this.opts.endpoint
      ? parseEndpoint(this.opts.endpoint.value, this.opts.endpoint.source)
      : undefined;
    if (endpoint) {
      opts['apiEndpoint'] = endpoint.host;
      opts['port'] = endpoint.port;
      if (endpoint.transport === 'rest') {
        opts['fallback'] = true;
        opts['protocol'] = endpoint.protocol;
      }
    }
    if (endpoint?.protocol === 'http') {
      // Plain HTTP is for emulators and fakes: never look credentials up, never send a token in the clear.
      const require = createRequire(import.meta.resolve('@google-cloud/kms'));
      const { PassThroughClient } = require('google-auth-library') as {
        PassThroughClient: new () => unknown;
      };
      opts['authClient'] = new PassThroughClient();
      opts['universeDomain'] = 'googleapis.com';
    } else if (this.opts.credentials) {
      opts['credentials'] = this.opts.credentials;
    }
    this.client = new KeyManagementServiceClient(
      opts as ConstructorParameters<typeof KeyManagementServiceClient>[0],
    );
    return this.client;
  }
}
