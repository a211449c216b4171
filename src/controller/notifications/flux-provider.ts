/**
 * Forwarding through a Flux notification `Provider` (notification.toolkit.fluxcd.io/v1beta3,
 * `spec.notifications.fluxcd.providerRef`): read the Provider (`type`, `address`, `suspend`,
 * `timeout`, `secretRef`, `certSecretRef`) and its Secret (`address` overrides `spec.address`,
 * `token`, `headers`), then POST the Flux event JSON the way notification-controller does for the
 * `generic` and `generic-hmac` types (`Gotk-Component` header; `X-Signature` for `generic-hmac`).
 *
 * Errors name the Provider, the Secret and the key; never the address (it may embed a token), a
 * token or a header value.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CoreV1Api, CustomObjectsApi } from '../../kube/client-node.js';
import { FLUX_NOTIFICATION_GROUP } from '../../api/foreign-apis.js';
import { backoffDelayMs } from '../../backoff.js';
import { durationMs } from '../../api/index.js';
import { DeliveryError } from '../../errors.js';
import { REPORTING_CONTROLLER, hmacSignature, parseHeaders } from './flux-event.js';

export const FLUX_PROVIDER_VERSION = 'v1beta3';
export const SUPPORTED_PROVIDER_TYPES = ['generic', 'generic-hmac'] as const;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface ProviderRef {
  namespace: string;
  name: string;
}

/** Where and how to POST, resolved from the Provider and its Secret. Holds credentials: never log it. */
export interface Delivery {
  provider: string;
  type: (typeof SUPPORTED_PROVIDER_TYPES)[number];
  address: URL;
  headers: Record<string, string>;
  /** `generic-hmac`: the HMAC key. */
  token?: string;
  ca?: string;
  timeoutMs: number;
}

export type ProviderResolution =
  | { kind: 'deliver'; delivery: Delivery }
  | { kind: 'suspended'; provider: string }
  /** Not sent; `message` says why (value-free). `unsupported`: the Provider's type is not one we send. */
  | { kind: 'problem'; message: string; unsupported?: boolean };

interface ProviderObject {
  spec?: {
    type?: string;
    address?: string;
    suspend?: boolean;
    timeout?: string;
    proxy?: string;
    secretRef?: { name?: string };
    certSecretRef?: { name?: string };
  };
}

export class FluxProviderClient {
  constructor(
    private readonly custom: CustomObjectsApi,
    private readonly core: CoreV1Api,
  ) {}

  async resolve(ref: ProviderRef): Promise<ProviderResolution> {
    const provider = `Flux notification Provider ${ref.namespace}/${ref.name}`;
    let obj: ProviderObject;
    try {
      obj = (await this.custom.getNamespacedCustomObject({
        group: FLUX_NOTIFICATION_GROUP,
        version: FLUX_PROVIDER_VERSION,
        namespace: ref.namespace,
        plural: 'providers',
        name: ref.name,
      })) as ProviderObject;
    } catch (e) {
      const code = (e as { code?: number }).code;
      return {
        kind: 'problem',
        message:
          code === 404 ? `${provider} not found` : `${provider} could not be read (HTTP ${code ?? 'error'})`,
      };
    }
    const spec = obj.spec ?? {};
    if (spec.suspend) return { kind: 'suspended', provider };
    const type = spec.type ?? '';
    if (!(SUPPORTED_PROVIDER_TYPES as readonly string[]).includes(type)) {
      return {
        kind: 'problem',
        unsupported: true,
        message: `${provider} has type "${type.slice(0, 40)}", which this controller does not send to (supported: ${SUPPORTED_PROVIDER_TYPES.join(', ')})`,
      };
    }
    let secret: Record<string, string> = {};
    const secretName = spec.secretRef?.name;
    if (secretName) {
      const read = await this.secretData(ref.namespace, secretName, `${provider}: spec.secretRef`);
      if ('problem' in read) return { kind: 'problem', message: read.problem };
      secret = read.data;
    }
    const where = (key: string) => `${provider}: Secret ${ref.namespace}/${secretName} key ${key}`;
    if (spec.proxy || secret.proxy)
      return {
        kind: 'problem',
        message: `${provider}: a proxy is configured, which this controller does not support`,
      };
    const rawAddress = secret.address ?? spec.address;
    if (!rawAddress)
      return { kind: 'problem', message: `${provider}: no address (spec.address or Secret key address)` };
    let address: URL;
    try {
      address = new URL(rawAddress.trim());
      if (address.protocol !== 'http:' && address.protocol !== 'https:') throw new Error('scheme');
    } catch {
      return {
        kind: 'problem',
        message: `${secret.address ? where('address') : `${provider}: spec.address`} is not an http(s) URL`,
      };
    }
    let headers: Record<string, string> = {};
    if (secret.headers !== undefined) {
      try {
        headers = parseHeaders(secret.headers, where('headers'));
      } catch (e) {
        return { kind: 'problem', message: (e as Error).message };
      }
    }
    const token = secret.token?.trim();
    if (type === 'generic-hmac' && !token) {
      return {
        kind: 'problem',
        message: secretName
          ? `${where('token')} is missing (generic-hmac signs with it)`
          : `${provider}: generic-hmac needs spec.secretRef with a token key`,
      };
    }
    let ca: string | undefined;
    const certName = spec.certSecretRef?.name;
    if (certName) {
      const read = await this.secretData(ref.namespace, certName, `${provider}: spec.certSecretRef`);
      if ('problem' in read) return { kind: 'problem', message: read.problem };
      ca = read.data['ca.crt'] ?? read.data.caFile;
      if (!ca)
        return {
          kind: 'problem',
          message: `${provider}: Secret ${ref.namespace}/${certName} has no key ca.crt`,
        };
    }
    const timeoutMs = spec.timeout ? (durationMs(spec.timeout) ?? DEFAULT_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
    return {
      kind: 'deliver',
      delivery: {
        provider,
        type: type as Delivery['type'],
        address,
        headers,
        ...(type === 'generic-hmac' ? { token } : {}),
        ...(ca ? { ca } : {}),
        timeoutMs,
      },
    };
  }

  private async secretData(
    namespace: string,
    name: string,
    field: string,
  ): Promise<{ data: Record<string, string> } | { problem: string }> {
    try {
      const s = await this.core.readNamespacedSecret({ namespace, name });
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
      return { data };
    } catch (e) {
      const code = (e as { code?: number }).code;
      return {
        problem:
          code === 404
            ? `${field}: Secret ${namespace}/${name} not found`
            : `${field}: Secret ${namespace}/${name} could not be read (HTTP ${code ?? 'error'})`,
      };
    }
  }
}

/** POST `body` (the event JSON) as notification-controller would for the Provider's type. */
export function post(delivery: Delivery, body: string): Promise<void> {
  const headers: Record<string, string> = {
    ...delivery.headers,
    'Content-Type': 'application/json',
    'Gotk-Component': REPORTING_CONTROLLER,
    'User-Agent': REPORTING_CONTROLLER,
    'Content-Length': String(Buffer.byteLength(body)),
  };
  if (delivery.type === 'generic-hmac' && delivery.token)
    headers['X-Signature'] = hmacSignature(body, delivery.token);
  const request = delivery.address.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      delivery.address,
      {
        method: 'POST',
        headers,
        timeout: delivery.timeoutMs,
        ...(delivery.ca ? { ca: delivery.ca } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else
            reject(
              new DeliveryError(
                `${delivery.provider}: the address answered HTTP ${status}`,
                status === 429 || status >= 500,
              ),
            );
        });
        res.on('error', () => reject(new DeliveryError(`${delivery.provider}: response failed`, true)));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new DeliveryError(
          `${delivery.provider}: request failed (${e.code ?? (e.message === 'timeout' ? 'timeout' : 'error')})`,
          true,
        ),
      ),
    );
    req.end(body);
  });
}

/** `post` with up to `attempts` tries for retriable failures (exponential delay from `baseMs`). */
export async function postWithRetry(
  delivery: Delivery,
  body: string,
  opts: { attempts?: number; baseMs?: number } = {},
): Promise<void> {
  const attempts = opts.attempts ?? 3;
  for (let i = 1; ; i++) {
    try {
      return await post(delivery, body);
    } catch (e) {
      if (!(e instanceof DeliveryError) || !e.retryable || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, backoffDelayMs({ baseMs: opts.baseMs ?? 500 }, i)));
    }
  }
}
