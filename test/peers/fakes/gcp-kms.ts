/**
 * FAKE — not Google's service. A small in-memory stand-in for the Cloud KMS v1 REST data plane
 * (symmetric encrypt/decrypt), because no Cloud KMS emulator can be installed here. Written from the
 * REST reference (`projects.locations.keyRings.cryptoKeys.encrypt` / `.decrypt`), over plain HTTP on
 * 127.0.0.1. Checked against the real `sops` (v3.13.2): sops encrypts through it with
 * `SOPS_GCP_KMS_CLIENT_TYPE=rest` and `SOPS_GCP_KMS_ENDPOINT=http://127.0.0.1:PORT` (its own REST
 * client, `GOOGLE_OAUTH_ACCESS_TOKEN` any token), and `sops -d` decrypts what it made.
 *
 * Reproduced:
 * - `POST /v1/{cryptoKey}:encrypt` `{plaintext, additionalAuthenticatedData?}` →
 *   `{name: "{cryptoKey}/cryptoKeyVersions/1", ciphertext}`; `POST /v1/{cryptoKey}:decrypt`
 *   `{ciphertext, additionalAuthenticatedData?}` → `{plaintext, usedPrimary}` (bytes as base64).
 *   Ciphertext is AES-256-GCM under a per-key secret made at `createKey`, bound to the key's name
 *   and the AAD: another key's (or a tampered) ciphertext is `400 INVALID_ARGUMENT`.
 * - An unknown key is `404 NOT_FOUND`; `deny(key)` makes every call on it `403 PERMISSION_DENIED`
 *   (what a missing `cloudkms.cryptoKeyVersions.useToDecrypt` gives). Errors are Google's JSON
 *   `{error: {code, message, status}}`.
 * Not reproduced: authentication (over plain HTTP the clients send no token; tokens are not
 * checked), key versions and rotation, CRC32C checksums, asymmetric keys, IAM, quotas.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GcpKmsFake {
  /** `http://127.0.0.1:PORT` (for `SMC_GCP_KMS_ENDPOINT` and `SOPS_GCP_KMS_ENDPOINT`). */
  endpoint: string;
  /** Make `projects/P/locations/L/keyRings/R/cryptoKeys/K` (returns it). */
  createKey(resourceId: string): string;
  /** Every call on the key answers 403 PERMISSION_DENIED from now on. */
  deny(resourceId: string): void;
  /** Operations received, in order (`encrypt` / `decrypt` and the key). */
  readonly requests: { op: string; key: string }[];
  decryptCalls(): number;
  stop(): Promise<void>;
}

const KEY =
  /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/:]+)(?:\/cryptoKeyVersions\/[^/:]+)?:(encrypt|decrypt)$/;

export async function startGcpKmsFake(): Promise<GcpKmsFake> {
  const keys = new Map<string, Buffer>();
  const denied = new Set<string>();
  const requests: { op: string; key: string }[] = [];

  const fail = (res: ServerResponse, code: number, status: string, message: string) => {
    const body = JSON.stringify({ error: { code, message, status } });
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const m = KEY.exec(path);
    if (req.method !== 'POST' || !m) return fail(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`);
    const [, key, op] = m as unknown as [string, string, 'encrypt' | 'decrypt'];
    requests.push({ op, key });
    let body: { plaintext?: string; ciphertext?: string; additionalAuthenticatedData?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return fail(res, 400, 'INVALID_ARGUMENT', 'invalid JSON');
    }
    const secret = keys.get(key);
    if (!secret) return fail(res, 404, 'NOT_FOUND', `${key} not found.`);
    if (denied.has(key))
      return fail(
        res,
        403,
        'PERMISSION_DENIED',
        `Permission 'cloudkms.cryptoKeyVersions.useTo${op === 'encrypt' ? 'Encrypt' : 'Decrypt'}' denied on resource '${key}'.`,
      );
    const aad = Buffer.concat([
      Buffer.from(key),
      Buffer.from(body.additionalAuthenticatedData ?? '', 'base64'),
    ]);
    res.setHeader('Content-Type', 'application/json');
    if (op === 'encrypt') {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', secret, iv);
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(Buffer.from(body.plaintext ?? '', 'base64')), c.final()]);
      const ciphertext = Buffer.concat([Buffer.from([1]), iv, c.getAuthTag(), ct]).toString('base64');
      res.end(JSON.stringify({ name: `${key}/cryptoKeyVersions/1`, ciphertext }));
      return;
    }
    const blob = Buffer.from(body.ciphertext ?? '', 'base64');
    try {
      if (blob.length < 29 || blob[0] !== 1) throw new Error('short');
      const d = createDecipheriv('aes-256-gcm', secret, blob.subarray(1, 13));
      d.setAAD(aad);
      d.setAuthTag(blob.subarray(13, 29));
      const plaintext = Buffer.concat([d.update(blob.subarray(29)), d.final()]).toString('base64');
      res.end(JSON.stringify({ plaintext, usedPrimary: true }));
    } catch {
      fail(
        res,
        400,
        'INVALID_ARGUMENT',
        "Decryption failed: verify that 'name' refers to the correct CryptoKey.",
      );
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    createKey(resourceId) {
      keys.set(resourceId, randomBytes(32));
      return resourceId;
    },
    deny(resourceId) {
      denied.add(resourceId);
    },
    requests,
    decryptCalls: () => requests.filter((r) => r.op === 'decrypt').length,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
