/**
 * AWS peer: moto's server (PyPI `moto[server]`, installed by scripts/peers.d/moto.sh) for Secrets
 * Manager and SSM Parameter Store. Clients get static credentials and an explicit endpoint, so the
 * SDK's credential chain never runs and IMDS (169.254.169.254) is never probed.
 *
 * moto keeps state per account and region, in memory; every access key maps to account
 * 123456789012. Tests sharing one server keep apart by names from `uniqueName()` (or call reset()).
 */
import { freePort, httpOk, LOOPBACK, peerBinary, startPeerProcess, uniqueSuffix } from './process.js';

export interface MotoPeer {
  endpointUrl: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Spread into an AWS SDK v3 client's config: `new SSMClient(moto.clientConfig)`. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** Environment for a child process using the default AWS SDK configuration. */
  env: Record<string, string>;
  /** `prefix-<random>`: a secret or parameter name no other test uses. */
  uniqueName(prefix?: string): string;
  /** Drop all state in the server (POST /moto-api/reset). */
  reset(): Promise<void>;
  startMs: number;
  logPath: string;
  stop(): Promise<void>;
}

export interface MotoStartOptions {
  region?: string;
  port?: number;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startMoto(opts: MotoStartOptions = {}): Promise<MotoPeer> {
  const bin = peerBinary('moto');
  const port = opts.port ?? (await freePort());
  const endpointUrl = `http://${LOOPBACK}:${port}`;
  const region = opts.region ?? 'us-east-1';
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const proc = await startPeerProcess({
    peer: 'moto',
    command: bin,
    args: ['-H', LOOPBACK, '-p', String(port), ...(opts.extraArgs ?? [])],
    // moto reads these itself; keep its own boto code off any metadata endpoint too.
    env: { AWS_EC2_METADATA_DISABLED: 'true', MOTO_PORT: String(port) },
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    // A real Secrets Manager call (awsJson1_1, signed-looking request routed by moto).
    ready: () =>
      httpOk(endpointUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'secretsmanager.ListSecrets',
          Authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/${region}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0`,
        },
        body: '{}',
      }),
  });
  return {
    endpointUrl,
    region,
    credentials,
    clientConfig: { endpoint: endpointUrl, region, credentials },
    env: {
      AWS_ENDPOINT_URL: endpointUrl,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    uniqueName: (prefix = 'smc-test') => `${prefix}-${uniqueSuffix()}`,
    async reset() {
      const res = await fetch(`${endpointUrl}/moto-api/reset`, {
        method: 'POST',
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    startMs: proc.startMs,
    logPath: proc.logPath,
    stop: proc.stop,
  };
}
