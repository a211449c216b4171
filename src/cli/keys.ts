import type { Command } from 'commander';
import { keyringFromFiles, type SopsKeyring } from '../sops/index.js';
import { KmsKeys } from '../sops/kms/index.js';

export interface KeyOptions {
  ageKeyFile?: string[];
  gpgKeyFile?: string[];
  /** `--max-key-file-bytes` */
  maxKeyFileBytes?: number;
  /** `--aws-kms-endpoint` (else the SDK's `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL`). */
  awsKmsEndpoint?: string;
  /** `--aws-sts-endpoint`, for roles recorded in the file (else `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL`). */
  awsStsEndpoint?: string;
  /** `--gcp-kms-endpoint` (else `SMC_GCP_KMS_ENDPOINT`). */
  gcpKmsEndpoint?: string;
}

/** The key-service options of `decrypt`, `render`, `sync` and `diff` (docs/sops.md "Key services"). */
export function addKmsOptions(cmd: Command): Command {
  return cmd
    .option('--aws-kms-endpoint <url>', 'AWS KMS endpoint (default: the SDK’s, e.g. AWS_ENDPOINT_URL_KMS)')
    .option(
      '--aws-sts-endpoint <url>',
      'AWS STS endpoint for roles recorded in SOPS files (default: the SDK’s)',
    )
    .option(
      '--gcp-kms-endpoint <url>',
      'GCP KMS endpoint: http://HOST:PORT (emulator), https://… or HOST:PORT (gRPC); also SMC_GCP_KMS_ENDPOINT',
    );
}

/**
 * The SOPS keyring: age and PGP keys from --age-key-file/--gpg-key-file and
 * SOPS_AGE_KEY_FILE/SOPS_AGE_KEY, and the key services (AWS KMS, GCP KMS, Azure Key Vault, Vault
 * transit) with each SDK's default credential chain, as `sops` itself uses them.
 */
export async function keyringFromOptions(opts: KeyOptions, env = process.env): Promise<SopsKeyring> {
  const gcpKms = opts.gcpKmsEndpoint;
  const kms = new KmsKeys({
    ambient: true,
    cli: { env },
    endpoints: {
      ...(opts.awsKmsEndpoint ? { awsKms: opts.awsKmsEndpoint } : {}),
      ...(opts.awsStsEndpoint ? { awsSts: opts.awsStsEndpoint } : {}),
      ...(gcpKms ? { gcpKms } : {}),
    },
  });
  return keyringFromFiles({
    ageKeyFiles: opts.ageKeyFile ?? [],
    gpgKeyFiles: opts.gpgKeyFile ?? [],
    env,
    maxKeyFileBytes: opts.maxKeyFileBytes,
    kms,
  });
}
