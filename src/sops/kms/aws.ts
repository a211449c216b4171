/**
 * AWS KMS through its official client (`@aws-sdk/client-kms`), as sops does: Decrypt with the key
 * ARN, the ciphertext and the encryption context sops recorded, in the ARN's region; with the
 * recorded role assumed first (STS AssumeRole). Credentials: the Secret's `sops.aws-kms` keys, or
 * (where allowed) the SDK's default chain — env, IRSA / EKS Pod Identity, shared config, IMDS.
 * Failures are ProviderErrors with value-free messages (SDK error name and HTTP status only).
 */
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { type AwsCredentialsConfig, awsCredentials } from '../../stores/aws/credentials.js';
import { mapAwsError } from '../../stores/aws/errors.js';
import { ProviderError } from '../../stores/provider-error.js';
import type { AwsKmsEntry } from '../metadata.js';
import type { AwsStaticCredentials } from './credentials.js';

/** sops' own pattern for a KMS key ARN; the region is its first group. */
const KMS_ARN = /^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)\/.+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface AwsKmsOptions {
  /** Static keys (`sops.aws-kms`); undefined: the SDK's default chain. */
  credentials?: AwsStaticCredentials;
  /** KMS endpoint; otherwise the SDK's resolution (`AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`, the region's). */
  endpoint?: string;
  /** STS endpoint for roles; otherwise the SDK's resolution (`AWS_ENDPOINT_URL_STS`, …). */
  stsEndpoint?: string;
  /** Honour a key's `aws_profile` (shared config): the CLI only. */
  useProfiles?: boolean;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
}

export class AwsKmsBackend {
  private readonly clients = new Map<string, KMSClient>();

  constructor(private readonly opts: AwsKmsOptions) {}

  async decrypt(entry: AwsKmsEntry, signal?: AbortSignal): Promise<Uint8Array> {
    const region = KMS_ARN.exec(entry.id)?.[1];
    if (region === undefined)
      throw new ProviderError('InvalidRequest', `"${entry.id}" is not an AWS KMS key ARN`);
    if (!BASE64.test(entry.enc) || entry.enc === '')
      throw new ProviderError('InvalidRequest', `the data key of AWS KMS key "${entry.id}" is not base64`);
    const client = this.client(region, entry);
    let out;
    try {
      out = await client.send(
        new DecryptCommand({
          KeyId: entry.id,
          CiphertextBlob: Buffer.from(entry.enc, 'base64'),
          ...(Object.keys(entry.context).length > 0 ? { EncryptionContext: entry.context } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (e) {
      throw mapAwsError(e, { service: 'kms', operation: 'Decrypt', name: entry.id });
    }
    if (!out.Plaintext)
      throw new ProviderError('StoreError', `aws kms Decrypt "${entry.id}" returned no data key`);
    return out.Plaintext;
  }

  private client(region: string, entry: AwsKmsEntry): KMSClient {
    const profile = this.opts.useProfiles && !this.opts.credentials ? entry.awsProfile : '';
    const id = JSON.stringify([region, entry.role, profile]);
    let client = this.clients.get(id);
    if (client) return client;
    const base: AwsCredentialsConfig | undefined = this.opts.credentials
      ? { ...this.opts.credentials }
      : profile
        ? defaultProvider({ profile })
        : undefined;
    let credentials = base;
    if (entry.role) {
      credentials = awsCredentials(
        {
          type: 'assumeRole',
          roleArn: entry.role,
          sessionName: 'sops-secret-manager-controller',
          ...(this.opts.credentials ? { source: this.opts.credentials } : {}),
          ...(this.opts.stsEndpoint ? { stsEndpoint: this.opts.stsEndpoint } : {}),
        },
        { region },
      );
    }
    client = new KMSClient({
      region,
      // Our retry layer is the only one (the store layer's policy).
      maxAttempts: 1,
      requestHandler: { requestTimeout: this.opts.requestTimeoutMs ?? 30_000, connectionTimeout: 10_000 },
      ...(credentials !== undefined ? { credentials } : {}),
      ...(this.opts.endpoint !== undefined ? { endpoint: this.opts.endpoint } : {}),
    });
    this.clients.set(id, client);
    return client;
  }
}
