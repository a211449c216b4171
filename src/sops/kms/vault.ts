/**
 * HashiCorp Vault transit through its HTTP API, as sops does: POST
 * `<vault_address>/v1/<engine_path>/decrypt/<key_name>` with the recorded ciphertext; the answer's
 * `data.plaintext` is the base64 data key. Plain `fetch`: HashiCorp publishes no official
 * JavaScript client (the npm `node-vault` is a community package), and this is one documented call
 * (https://developer.hashicorp.com/vault/api-docs/secret/transit#decrypt-data).
 *
 * Failures are ProviderErrors naming the key path and the HTTP status — never Vault's error text
 * (which can quote the request) and never the token.
 */
import { ProviderError, parseRetryAfter, reasonForHttpStatus } from '../../stores/provider-error.js';
import type { VaultEntry } from '../metadata.js';

export interface VaultTransitOptions {
  /** The token, or how to find it (CLI: `VAULT_TOKEN`, `~/.vault-token`); undefined: none. */
  token: string | (() => Promise<string | undefined>) | undefined;
  /** `X-Vault-Namespace` (Vault Enterprise / HCP namespaces). */
  namespace?: string;
  requestTimeoutMs?: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class VaultTransitBackend {
  constructor(private readonly opts: VaultTransitOptions) {}

  async decrypt(entry: VaultEntry, signal?: AbortSignal): Promise<Uint8Array> {
    const where = `vault transit decrypt "${entry.id}"`;
    let url: URL;
    try {
      url = new URL(entry.address);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new ProviderError('InvalidRequest', `${where}: vault_address is not an http(s) URL`);
    }
    const path = [...entry.enginePath.split('/'), 'decrypt', ...entry.keyName.split('/')]
      .filter((p) => p !== '' && p !== '.')
      .map(encodeURIComponent)
      .join('/');
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/${path}`;
    const token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    if (!token) throw new ProviderError('ProviderAuthFailed', `${where}: no Vault token`);
    const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'X-Vault-Token': token,
          'Content-Type': 'application/json',
          ...(this.opts.namespace ? { 'X-Vault-Namespace': this.opts.namespace } : {}),
        },
        body: JSON.stringify({ ciphertext: entry.enc }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        redirect: 'error',
      });
    } catch (e) {
      throw new ProviderError(
        'ProviderUnavailable',
        `${where} failed: no answer from Vault (${e instanceof Error ? e.name : 'error'})`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      const reason = reasonForHttpStatus(res.status);
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      throw new ProviderError(reason, `${where} failed: HTTP ${res.status}`, {
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    let plaintext: unknown;
    try {
      plaintext = ((await res.json()) as { data?: { plaintext?: unknown } }).data?.plaintext;
    } catch {
      throw new ProviderError('StoreError', `${where}: the answer is not JSON`);
    }
    if (typeof plaintext !== 'string' || !BASE64.test(plaintext))
      throw new ProviderError('StoreError', `${where}: the answer holds no base64 data key`);
    return Buffer.from(plaintext, 'base64');
  }
}
