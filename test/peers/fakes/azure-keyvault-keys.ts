/**
 * FAKE — not Microsoft's service. A small in-memory stand-in for the Azure Key Vault *keys* data
 * plane (RSA keys, `decrypt`), because no Key Vault emulator can be installed here. Written from the
 * Key Vault REST reference (Keys: Get Key, Decrypt, Encrypt; the api-version `@azure/keyvault-keys`
 * 4.10 sends), over HTTPS on 127.0.0.1 with a certificate made per start (clients trust it with
 * `SMC_AZURE_KEYVAULT_CA_FILE` = `certFile`).
 *
 * Reproduced:
 * - Auth: a request without `Authorization: Bearer …` gets `401` with
 *   `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
 *   resource="https://vault.azure.net"` (the challenge the SDK answers); any bearer token is
 *   accepted (clients on 127.0.0.1 disable the challenge's resource check).
 * - `GET /keys/{name}/{version}` → `{key: {kid, kty: "RSA", key_ops, n, e}, attributes}` (public
 *   part only); `POST /keys/{name}/{version}/decrypt` and `/unwrapkey` `{alg: "RSA-OAEP-256", value}`
 *   → `{kid, value}` (base64url), RSA-OAEP with SHA-256 under a 2048-bit key made at `createKey`;
 *   `/encrypt` and `/wrapkey` likewise. Another key's ciphertext is `400 BadParameter`.
 * - Unknown key or version: `404 KeyNotFound`; `deny(name)` → `403 Forbidden` (what a missing
 *   `keys/decrypt` permission gives). Errors are `{"error":{"code","message"}}`.
 * Not reproduced: access policies / RBAC beyond `deny`, key rotation and versions listing, EC and
 * oct keys, other algorithms (they are `400`), soft delete, HSM, tokens (not validated).
 * Not checked against the real `sops`: with `AZURE_AUTHORITY_HOST` pointed here its Azure client
 * (MSAL) first asks login.microsoftonline.com for instance discovery of the unknown authority (tried:
 * a DNS lookup of that host, refused here; Go's azidentity has no variable to turn discovery off),
 * and its Key Vault client checks the challenge's resource against the vault host. The vectors are
 * real sops files whose age-wrapped data key is re-wrapped for this fake's key
 * (test/sops/kms-azure.test.ts).
 */
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from './self-signed.js';

const TENANT = '00000000-0000-0000-0000-000000000000';

export interface AzureKeysFake {
  /** `https://127.0.0.1:PORT` */
  vaultUrl: string;
  /** The TLS certificate (PEM file) to trust. */
  certFile: string;
  /** Make an RSA key; returns its version. */
  createKey(name: string): string;
  /** RSA-OAEP-256 with the key's public part (what sops' encrypt gives), base64url. */
  wrap(name: string, version: string, data: Uint8Array): string;
  deny(name: string): void;
  /** Operations received (after authentication), in order. */
  readonly requests: { op: string; name: string }[];
  decryptCalls(): number;
  stop(): Promise<void>;
}

const ROUTE = /^\/keys\/([0-9A-Za-z-]{1,127})\/([0-9a-f]{32})(?:\/(decrypt|encrypt|unwrapkey|wrapkey))?\/?$/;

export async function startAzureKeysFake(): Promise<AzureKeysFake> {
  const dir = await mkdtemp(join(tmpdir(), 'smc-fake-akv-keys-'));
  const { key: tlsKey, cert, certFile } = await selfSignedCertificate(dir, 'fake-keyvault-keys');
  const keys = new Map<string, { version: string; priv: KeyObject; pub: KeyObject }>();
  const denied = new Set<string>();
  const requests: { op: string; name: string }[] = [];
  let base = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message } });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      return send(
        res,
        401,
        { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
        {
          'WWW-Authenticate': `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`,
        },
      );
    }
    const m = ROUTE.exec(new URL(req.url ?? '/', 'https://x').pathname);
    if (!m) return error(res, 404, 'NotFound', 'no such route');
    const [, name, version, op = 'get'] = m as unknown as [string, string, string, string | undefined];
    requests.push({ op, name });
    const k = keys.get(name.toLowerCase());
    if (!k || k.version !== version)
      return error(
        res,
        404,
        'KeyNotFound',
        `A key with (name/id) ${name}/${version} was not found in this key vault.`,
      );
    if (denied.has(name.toLowerCase()))
      return error(
        res,
        403,
        'Forbidden',
        `The user, group or application does not have keys ${op} permission on key vault.`,
      );
    const kid = `${base}/keys/${name}/${version}`;
    if (op === 'get' && req.method === 'GET') {
      const jwk = k.pub.export({ format: 'jwk' });
      return send(res, 200, {
        key: { kid, kty: 'RSA', key_ops: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], n: jwk.n, e: jwk.e },
        attributes: { enabled: true, recoveryLevel: 'Recoverable' },
      });
    }
    if (req.method !== 'POST') return error(res, 405, 'BadParameter', 'method not allowed');
    let body: { alg?: string; value?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return error(res, 400, 'BadParameter', 'invalid JSON');
    }
    if (body.alg !== 'RSA-OAEP-256')
      return error(res, 400, 'BadParameter', 'Algorithm is not supported by this fake.');
    const value = Buffer.from(body.value ?? '', 'base64url');
    const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
    try {
      const out =
        op === 'decrypt' || op === 'unwrapkey'
          ? privateDecrypt({ key: k.priv, ...oaep }, value)
          : publicEncrypt({ key: k.pub, ...oaep }, value);
      return send(res, 200, { kid, value: out.toString('base64url') });
    } catch {
      return error(res, 400, 'BadParameter', 'Bad Request');
    }
  }

  const server = createServer({ key: tlsKey, cert }, (req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    vaultUrl: base,
    certFile,
    createKey(name) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const version = Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString(
        'hex',
      );
      keys.set(name.toLowerCase(), { version, priv: privateKey, pub: publicKey });
      return version;
    },
    wrap(name, version, data) {
      const k = keys.get(name.toLowerCase());
      if (!k || k.version !== version) throw new Error(`no key ${name}/${version}`);
      return publicEncrypt(
        { key: k.pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        data,
      ).toString('base64url');
    },
    deny(name) {
      denied.add(name.toLowerCase());
    },
    requests,
    decryptCalls: () => requests.filter((r) => r.op === 'decrypt' || r.op === 'unwrapkey').length,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
