/**
 * GCP Secret Manager peer: drongo's standalone server (PyPI `drongo`, installed by
 * scripts/peers.d/gcp-sm-emulator.sh), which serves the Secret Manager v1 REST API over plain HTTP.
 *
 * The official Node client reaches it through google-gax's REST transport (`fallback: true`,
 * `protocol: 'http'`) with a pass-through auth client: no credentials are looked up, no token is
 * fetched, and nothing probes the GCE metadata server (also set METADATA_SERVER_DETECTION=none).
 */
import { createRequire } from 'node:module';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { freePort, httpOk, LOOPBACK, peerBinary, startPeerProcess, uniqueSuffix } from './process.js';

// The auth client must come from the google-auth-library that the Secret Manager client's own
// google-gax uses (not whatever copy is hoisted to the top of node_modules).
type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;
const requireFromSecretManager = createRequire(import.meta.resolve('@google-cloud/secret-manager'));
const { PassThroughClient } = requireFromSecretManager('google-auth-library') as {
  PassThroughClient: new () => NonNullable<ClientOptions['authClient']>;
};

export interface GcpSecretManagerPeer {
  endpoint: { host: string; port: number };
  /** Options for `new SecretManagerServiceClient(...)` (REST over http, no auth, no metadata probe). */
  clientOptions: ClientOptions;
  /** A new client on this emulator; closed by stop(). */
  client(): SecretManagerServiceClient;
  /** A project id no other test uses (the emulator accepts any project). */
  newProject(): string;
  /** The latest enabled value of `projects/<project>/secrets/<secret>`, or undefined when none. */
  latestValue(project: string, secret: string): Promise<string | undefined>;
  /** The ids of a project's secrets. */
  secretNames(project: string): Promise<string[]>;
  /** Drop every secret in the emulator. */
  reset(): Promise<void>;
  /** Milliseconds from spawn to ready. */
  startMs: number;
  logPath: string;
  stop(): Promise<void>;
}

export interface GcpStartOptions {
  /** Use this port instead of a fresh free one (tests of the failure path). */
  port?: number;
  /** Extra command-line arguments for the emulator (tests of the failure path). */
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startGcpSecretManager(opts: GcpStartOptions = {}): Promise<GcpSecretManagerPeer> {
  const bin = peerBinary('gcp-sm-emulator');
  const port = opts.port ?? (await freePort());
  const base = `http://${LOOPBACK}:${port}`;
  const clients: SecretManagerServiceClient[] = [];
  const proc = await startPeerProcess({
    peer: 'gcp-sm-emulator',
    command: bin,
    args: ['server', '--host', LOOPBACK, '--port', String(port), ...(opts.extraArgs ?? [])],
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    // A real Secret Manager call, not just a socket: list secrets of a throw-away project.
    ready: () => httpOk(`${base}/v1/projects/readiness-probe/secrets`),
    onStop: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  });
  const clientOptions: ClientOptions = {
    apiEndpoint: LOOPBACK,
    port,
    protocol: 'http',
    fallback: true, // google-gax REST transport (HTTP/1.1 + JSON)
    authClient: new PassThroughClient(),
    universeDomain: 'googleapis.com',
  };
  const client = () => {
    const c = new SecretManagerServiceClient(clientOptions);
    clients.push(c);
    return c;
  };
  /** One client for the read helpers below. */
  let reader: SecretManagerServiceClient | undefined;
  const read = () => (reader ??= client());
  return {
    endpoint: { host: LOOPBACK, port },
    clientOptions,
    client,
    newProject: () => `smc-test-${uniqueSuffix()}`,
    async latestValue(project, secret) {
      try {
        const [v] = await read().accessSecretVersion({
          name: `projects/${project}/secrets/${secret}/versions/latest`,
        });
        return Buffer.from(v.payload!.data as Uint8Array).toString('utf8');
      } catch {
        return undefined;
      }
    },
    async secretNames(project) {
      const [list] = await read().listSecrets({ parent: `projects/${project}` });
      return list.map((s) => s.name!.split('/').pop()!);
    },
    async reset() {
      const res = await fetch(`${base}/drongo/reset`, { method: 'POST', signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`gcp-sm-emulator reset failed: HTTP ${res.status}`);
    },
    startMs: proc.startMs,
    logPath: proc.logPath,
    stop: proc.stop,
  };
}
