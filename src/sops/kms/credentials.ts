/**
 * Key-service credentials from a Secret, under the key names Flux's kustomize-controller uses
 * (docs/sops.md "Key services"): `sops.aws-kms` (YAML: aws_access_key_id, aws_secret_access_key,
 * aws_session_token), `sops.gcp-kms` (a Google credentials JSON, e.g. a service account key),
 * `sops.azure-kv` (YAML or JSON: tenantId, clientId, clientSecret — or clientCertificate — and
 * optionally authorityHost; or the `az` CLI's appId, tenant, password) and `sops.vault-token`.
 * Errors name the source and the fields, never their content.
 */
import { parse as parseYaml } from 'yaml';
import { SmcError } from '../../errors.js';
import type { KmsService } from './types.js';

export const KMS_SECRET_KEYS: Readonly<Record<KmsService, string>> = {
  aws_kms: 'sops.aws-kms',
  gcp_kms: 'sops.gcp-kms',
  azure_kv: 'sops.azure-kv',
  hc_vault: 'sops.vault-token',
};

export interface AwsStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type AzureKvCredentials =
  | { type: 'secret'; tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }
  | {
      type: 'certificate';
      tenantId: string;
      clientId: string;
      certificate: string;
      certificatePassword?: string;
      sendChain: boolean;
      authorityHost?: string;
    }
  /** A user-assigned managed identity: the controller's own identity (allowed like workload identity). */
  | { type: 'managedIdentity'; clientId: string };

/** Explicit credentials per service (secret; kept in memory only). */
export interface KmsCredentials {
  aws?: AwsStaticCredentials;
  /** Parsed Google credentials JSON. */
  gcp?: Record<string, unknown>;
  azure?: AzureKvCredentials;
  vaultToken?: string;
}

function bad(source: string, what: string): SmcError {
  return new SmcError('ParseError', `${source}: ${what}`);
}

/** A YAML (or JSON) mapping of strings; other shapes are refused without quoting them. */
function mapping(text: string, source: string, expected: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 0, prettyErrors: false });
  } catch {
    throw bad(source, `not valid YAML; expected ${expected}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw bad(source, `expected ${expected}`);
  return doc as Record<string, unknown>;
}

function str(m: Record<string, unknown>, k: string): string | undefined {
  const v = m[k];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function parseAwsKms(text: string, source: string): AwsStaticCredentials {
  const expected =
    'a mapping with aws_access_key_id and aws_secret_access_key (and optionally aws_session_token)';
  const m = mapping(text, source, expected);
  const accessKeyId = str(m, 'aws_access_key_id');
  const secretAccessKey = str(m, 'aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) throw bad(source, `expected ${expected}`);
  const sessionToken = str(m, 'aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export function parseGcpKms(text: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text.trim());
  } catch {
    throw bad(source, 'not valid JSON; expected a Google credentials file (e.g. a service account key)');
  }
  if (
    doc === null ||
    typeof doc !== 'object' ||
    Array.isArray(doc) ||
    typeof (doc as { type?: unknown }).type !== 'string'
  )
    throw bad(source, 'expected a Google credentials JSON object with a "type" field');
  return doc as Record<string, unknown>;
}

export function parseAzureKv(text: string, source: string): AzureKvCredentials {
  const expected =
    'tenantId, clientId and clientSecret (or clientCertificate); or appId, tenant and password; or clientId alone (managed identity)';
  const m = mapping(text, source, expected);
  const tenantId = str(m, 'tenantId');
  const clientId = str(m, 'clientId');
  const authorityHost = str(m, 'authorityHost');
  const host = authorityHost ? { authorityHost } : {};
  if (tenantId && clientId) {
    const clientSecret = str(m, 'clientSecret');
    if (clientSecret) return { type: 'secret', tenantId, clientId, clientSecret, ...host };
    const certificate = str(m, 'clientCertificate');
    if (certificate) {
      const certificatePassword = str(m, 'clientCertificatePassword');
      return {
        type: 'certificate',
        tenantId,
        clientId,
        certificate,
        ...(certificatePassword ? { certificatePassword } : {}),
        sendChain: m['clientCertificateSendChain'] === true,
        ...host,
      };
    }
  }
  const appId = str(m, 'appId');
  const tenant = str(m, 'tenant');
  const password = str(m, 'password');
  if (appId && tenant && password)
    return { type: 'secret', tenantId: tenant, clientId: appId, clientSecret: password, ...host };
  if (clientId && !tenantId) return { type: 'managedIdentity', clientId };
  throw bad(source, `expected ${expected}`);
}

export function parseVaultToken(text: string, source: string): string {
  const token = text.trim();
  if (token === '' || /\s/.test(token))
    throw bad(source, 'expected one Vault token (no spaces or line breaks)');
  return token;
}

/**
 * Credentials from a Secret's decoded data: every `sops.*` key service key present, parsed.
 * `source(key)` names where a key came from in messages (e.g. `Secret ns/name key sops.aws-kms`).
 */
export function kmsCredentialsFrom(
  data: Readonly<Record<string, string | undefined>>,
  source: (key: string) => string,
): { credentials: KmsCredentials; sources: Partial<Record<KmsService, string>> } {
  const credentials: KmsCredentials = {};
  const sources: Partial<Record<KmsService, string>> = {};
  const take = (service: KmsService): string | undefined => {
    const k = KMS_SECRET_KEYS[service];
    const v = data[k];
    if (v === undefined) return undefined;
    sources[service] = source(k);
    return v;
  };
  const aws = take('aws_kms');
  if (aws !== undefined) credentials.aws = parseAwsKms(aws, sources.aws_kms!);
  const gcp = take('gcp_kms');
  if (gcp !== undefined) credentials.gcp = parseGcpKms(gcp, sources.gcp_kms!);
  const azure = take('azure_kv');
  if (azure !== undefined) credentials.azure = parseAzureKv(azure, sources.azure_kv!);
  const vault = take('hc_vault');
  if (vault !== undefined) credentials.vaultToken = parseVaultToken(vault, sources.hc_vault!);
  return { credentials, sources };
}
