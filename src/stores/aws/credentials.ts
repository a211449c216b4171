/**
 * AWS credentials for a store (docs/crd-reference.md `provider.aws.auth`): the SDK's default chain (IRSA / EKS Pod
 * Identity / env / shared config — resolved by the SDK itself), explicit access keys, or an assumed
 * role (STS AssumeRole on top of explicit keys or the default chain). Credentials are kept in memory
 * only, cached per credential, and never appear in a message, a target string or a log line.
 */
import { createHash } from 'node:crypto';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
// The SDK's own STS client (the one its credential providers use). `@aws-sdk/client-sts` or
// `@aws-sdk/credential-providers` would be the declared alternatives.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
// The SDK's default chain (env, web identity/IRSA, EKS Pod Identity, shared config, IMDS); the STS
// client above has none of its own. `@aws-sdk/credential-providers` (fromNodeProviderChain) is the
// declared alternative.
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SmcError } from '../../errors.js';
import { ProviderError } from '../provider-error.js';
import { awsErrorInfo, awsWhere, mapAwsError } from './errors.js';

export interface AwsAccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type AwsAuth =
  /** The SDK default chain: env keys, web identity (IRSA), EKS Pod Identity, shared config, IMDS. */
  | { type: 'default' }
  | ({ type: 'accessKeys' } & AwsAccessKeys)
  | {
      type: 'assumeRole';
      roleArn: string;
      externalId?: string;
      /** Default `secret-manager-controller`. */
      sessionName?: string;
      /** Default 3600. */
      durationSeconds?: number;
      /** Keys to call STS with; the default chain when absent. */
      source?: AwsAccessKeys;
      /** STS endpoint; otherwise the SDK's own resolution (`AWS_ENDPOINT_URL_STS`, regional endpoint). */
      stsEndpoint?: string;
    };

/** What the AWS SDK clients accept as `credentials`. */
export type AwsCredentialsConfig = NonNullable<SecretsManagerClientConfig['credentials']>;

interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Refresh an assumed role's credentials this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

const cache = new Map<string, () => Promise<Identity>>();

/** Forget cached role sessions (tests; credential rotation is handled by the cache key). */
export function clearAwsCredentialCache(): void {
  cache.clear();
}

function fingerprint(parts: readonly (string | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * The `credentials` to give an AWS SDK client for `auth`; undefined means "let the SDK run its
 * default chain". Assumed-role providers are cached per (role, external id, session, source keys,
 * region, endpoint) and refresh before expiry.
 */
export function awsCredentials(
  auth: AwsAuth | undefined,
  opts: { region: string },
): AwsCredentialsConfig | undefined {
  if (auth === undefined || auth.type === 'default') return undefined;
  if (auth.type === 'accessKeys') {
    if (!auth.accessKeyId || !auth.secretAccessKey) {
      throw new SmcError('InvalidSpec', 'aws accessKeys auth needs accessKeyId and secretAccessKey');
    }
    const identity: Identity = {
      accessKeyId: auth.accessKeyId,
      secretAccessKey: auth.secretAccessKey,
      ...(auth.sessionToken ? { sessionToken: auth.sessionToken } : {}),
    };
    return async () => identity;
  }
  if (!ROLE_ARN.test(auth.roleArn)) {
    throw new SmcError(
      'InvalidSpec',
      'aws assumeRole auth needs roleArn like arn:aws:iam::123456789012:role/NAME',
    );
  }
  const key = fingerprint([
    auth.roleArn,
    auth.externalId,
    auth.sessionName,
    String(auth.durationSeconds ?? ''),
    auth.source?.accessKeyId,
    auth.source?.secretAccessKey,
    auth.source?.sessionToken,
    opts.region,
    auth.stsEndpoint,
  ]);
  let provider = cache.get(key);
  if (!provider) {
    provider = assumeRoleProvider(auth, opts.region);
    cache.set(key, provider);
  }
  return provider;
}

function assumeRoleProvider(
  auth: Extract<AwsAuth, { type: 'assumeRole' }>,
  region: string,
): () => Promise<Identity> {
  let current: Identity | undefined;
  let pending: Promise<Identity> | undefined;
  const sts = new STSClient({
    region,
    credentials: auth.source ? { ...auth.source } : defaultProvider(),
    ...(auth.stsEndpoint ? { endpoint: auth.stsEndpoint } : {}),
  });

  async function fetchIdentity(): Promise<Identity> {
    let out;
    try {
      out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: auth.roleArn,
          RoleSessionName: auth.sessionName ?? 'secret-manager-controller',
          DurationSeconds: auth.durationSeconds ?? 3600,
          ...(auth.externalId ? { ExternalId: auth.externalId } : {}),
        }),
      );
    } catch (e) {
      const ctx = { service: 'sts', operation: 'AssumeRole', name: auth.roleArn };
      const info = awsErrorInfo(e);
      // A transient failure is retried by the store's retry policy; anything else means we have no
      // credentials to act with: an auth failure.
      if (info.reason === 'Throttled' || info.reason === 'ProviderUnavailable') throw mapAwsError(e, ctx);
      throw new ProviderError(
        'ProviderAuthFailed',
        `${awsWhere(ctx)} failed: could not assume the role (${info.detail})`,
      );
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) {
      throw new ProviderError(
        'ProviderAuthFailed',
        `aws sts AssumeRole "${auth.roleArn}" returned no credentials`,
      );
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
    };
  }

  return async () => {
    const fresh =
      current && (!current.expiration || current.expiration.getTime() - Date.now() > REFRESH_MARGIN_MS);
    if (fresh && current) return current;
    pending ??= fetchIdentity().finally(() => {
      pending = undefined;
    });
    current = await pending;
    return current;
  };
}
