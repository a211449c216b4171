import { createRequire } from 'node:module';
import { SmcError } from '../../errors.js';

/** The Google APIs the GCP stores call. */
export type GcpService = 'secretmanager' | 'parametermanager';

/**
 * Documented endpoint overrides (docs/providers.md), e.g. for an emulator:
 *
 * - `http://HOST:PORT`  — REST (google-gax's HTTP/1.1 + JSON transport) over plain HTTP, **without
 *   credentials**: no token is fetched and none is sent over an unencrypted connection. Emulators.
 * - `https://HOST[:PORT]` — REST over TLS, with the normal credentials.
 * - `HOST[:PORT]` — gRPC over TLS, with the normal credentials (e.g. a private endpoint).
 */
export const ENDPOINT_ENV: Readonly<Record<GcpService, string>> = {
  secretmanager: 'SMC_GCP_SECRET_MANAGER_ENDPOINT',
  parametermanager: 'SMC_GCP_PARAMETER_MANAGER_ENDPOINT',
};

/** The npm package whose own google-gax / google-auth-library serves each API. */
const PACKAGE: Readonly<Record<GcpService, string>> = {
  secretmanager: '@google-cloud/secret-manager',
  parametermanager: '@google-cloud/parametermanager',
};

export interface GcpEndpoint {
  host: string;
  port: number;
  /** `rest` uses google-gax's HTTP/1.1 fallback transport; `grpc` the default one. */
  transport: 'grpc' | 'rest';
  protocol: 'http' | 'https';
}

/** Parse an endpoint override (see ENDPOINT_ENV). Throws InvalidSpec naming `source`. */
export function parseEndpoint(value: string, source = 'endpoint'): GcpEndpoint {
  const trimmed = value.trim();
  const scheme = /^([a-z]+):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    throw new SmcError(
      'InvalidSpec',
      `${source}: unsupported scheme "${scheme}" (use http://, https:// or HOST:PORT)`,
    );
  }
  let url: URL;
  try {
    url = new URL(scheme ? trimmed : `https://${trimmed}`);
  } catch {
    throw new SmcError('InvalidSpec', `${source}: "${trimmed}" is not HOST:PORT or an http(s) URL`);
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search) {
    throw new SmcError('InvalidSpec', `${source}: give only a scheme, host and port`);
  }
  const protocol = (scheme ?? 'https') as 'http' | 'https';
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port, transport: scheme ? 'rest' : 'grpc', protocol };
}

/** A service account key (the JSON file `gcloud iam service-accounts keys create` writes). */
export interface ServiceAccountKey {
  type?: string;
  client_email: string;
  private_key: string;
  [field: string]: unknown;
}

/**
 * Parse a service account key given as JSON text or an object. Errors never quote the input: it
 * holds a private key.
 */
export function parseServiceAccountKey(input: string | object): ServiceAccountKey {
  let parsed: unknown = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new SmcError('InvalidSpec', 'the GCP service account key is not valid JSON');
    }
  }
  const key = parsed as Partial<ServiceAccountKey> | null;
  if (typeof key !== 'object' || key === null || Array.isArray(key)) {
    throw new SmcError('InvalidSpec', 'the GCP service account key is not a JSON object');
  }
  if (key.type !== undefined && key.type !== 'service_account') {
    throw new SmcError(
      'InvalidSpec',
      'the GCP credentials are not a service account key (type is not "service_account")',
    );
  }
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new SmcError('InvalidSpec', 'the GCP service account key lacks client_email or private_key');
  }
  return key as ServiceAccountKey;
}

export interface GcpClientSettings {
  /** Regional endpoint (`SERVICE.LOCATION.rep.googleapis.com`) when set and not `global`. */
  location?: string;
  /** Endpoint override; default: the service's environment variable (ENDPOINT_ENV). */
  endpoint?: string;
  /** Service account key; default: Application Default Credentials (GKE Workload Identity). */
  credentials?: string | object;
  /** Passed to the client constructor last, overriding everything derived above. */
  clientOptions?: object;
  env?: NodeJS.ProcessEnv;
}

/**
 * Constructor options for a Google API client: ADC over gRPC to the global or regional endpoint by
 * default; a service account key when given; an endpoint override from `endpoint` or the
 * environment; and the caller's own `clientOptions` on top.
 */
export function gcpClientOptions(
  service: GcpService,
  settings: GcpClientSettings = {},
): Record<string, unknown> {
  const env = settings.env ?? process.env;
  const opts: Record<string, unknown> = {};
  const location = settings.location && settings.location !== 'global' ? settings.location : undefined;
  if (location !== undefined) opts.apiEndpoint = `${service}.${location}.rep.googleapis.com`;

  const override = settings.endpoint ?? nonEmpty(env[ENDPOINT_ENV[service]]);
  const endpoint =
    override === undefined
      ? undefined
      : parseEndpoint(override, settings.endpoint !== undefined ? 'endpoint' : ENDPOINT_ENV[service]);
  if (endpoint) {
    opts.apiEndpoint = endpoint.host;
    opts.port = endpoint.port;
    if (endpoint.transport === 'rest') {
      opts.fallback = true;
      opts.protocol = endpoint.protocol;
    }
  }

  if (endpoint?.protocol === 'http') {
    // Plain HTTP is for emulators: never look credentials up, never send a token in the clear.
    opts.authClient = passThroughAuthClient(service);
    opts.universeDomain = 'googleapis.com';
  } else if (settings.credentials !== undefined) {
    const key = parseServiceAccountKey(settings.credentials);
    opts.credentials = key;
    if (typeof key.project_id === 'string') opts.projectId = key.project_id;
  }
  return { ...opts, ...(settings.clientOptions ?? {}) };
}

/** The auth client that adds no credentials, from the google-auth-library the API's own gax uses. */
function passThroughAuthClient(service: GcpService): unknown {
  const require = createRequire(import.meta.resolve(PACKAGE[service]));
  const { PassThroughClient } = require('google-auth-library') as { PassThroughClient: new () => unknown };
  return new PassThroughClient();
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
