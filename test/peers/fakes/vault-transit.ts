/**
 * FAKE — not HashiCorp's server. A small in-memory stand-in for Vault's transit secrets engine,
 * because the Vault server cannot be built here (docs/testing.md "SOPS key services"). Written from
 * the transit HTTP API reference (`POST /v1/:mount/encrypt/:name`, `POST /v1/:mount/decrypt/:name`),
 * over plain HTTP on 127.0.0.1. Checked against the real `sops` (v3.13.2): it encrypts through the
 * fake (`--hc-vault-transit http://127.0.0.1:PORT/v1/<mount>/keys/<name>`, `VAULT_TOKEN`) with its
 * own Vault API client, and `sops -d` decrypts what it made.
 *
 * Reproduced:
 * - `X-Vault-Token`: an unknown token, or a token whose policy does not list the path
 *   (`<mount>/encrypt/<name>`, `<mount>/decrypt/<name>`), gets `403 {"errors":["permission denied"]}`.
 * - encrypt `{plaintext}` (base64) → `{data: {ciphertext: "vault:v1:…", key_version: 1}}`; decrypt
 *   `{ciphertext}` → `{data: {plaintext}}`. AES-256-GCM under a per-key secret made at
 *   `createKey`, bound to the key: another key's or a tampered ciphertext is
 *   `400 {"errors":["invalid ciphertext: …"]}`; an unknown key is `400` ("encryption key not found").
 * Not reproduced: key rotation and versions, convergent encryption, derived keys and `context`,
 * batch input, policies beyond exact paths, namespaces, sealing, leases and token TTLs.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VaultTransitFake {
  /** `http://127.0.0.1:PORT` (VAULT_ADDR; a sops file's `vault_address`). */
  address: string;
  createKey(mount: string, name: string): void;
  /** A token allowed exactly these paths (e.g. `sops/decrypt/app`). */
  token(paths: string[]): string;
  readonly requests: { op: string; path: string }[];
  decryptCalls(): number;
  stop(): Promise<void>;
}

const ROUTE = /^\/v1\/(.+)\/(encrypt|decrypt)\/([^/]+)$/;

export async function startVaultTransitFake(): Promise<VaultTransitFake> {
  const keys = new Map<string, Buffer>();
  const tokens = new Map<string, Set<string>>();
  const requests: { op: string; path: string }[] = [];

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const m = ROUTE.exec(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!m || (req.method !== 'POST' && req.method !== 'PUT')) return send(res, 404, { errors: [] });
    const [, mount, op, name] = m as unknown as [string, string, 'encrypt' | 'decrypt', string];
    const path = `${mount}/${op}/${name}`;
    requests.push({ op, path });
    const allowed = tokens.get(String(req.headers['x-vault-token'] ?? ''));
    if (!allowed?.has(path))
      return send(res, 403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
    let body: { plaintext?: string; ciphertext?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { errors: ['failed to parse JSON input'] });
    }
    const secret = keys.get(`${mount}/${name}`);
    if (!secret) return send(res, 400, { errors: ['encryption key not found'] });
    if (op === 'encrypt') {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', secret, iv);
      const ct = Buffer.concat([c.update(Buffer.from(body.plaintext ?? '', 'base64')), c.final()]);
      const ciphertext = `vault:v1:${Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64')}`;
      return send(res, 200, { data: { ciphertext, key_version: 1 } });
    }
    const text = body.ciphertext ?? '';
    if (!text.startsWith('vault:v1:')) return send(res, 400, { errors: ['invalid ciphertext: no prefix'] });
    const blob = Buffer.from(text.slice('vault:v1:'.length), 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', secret, blob.subarray(0, 12));
      d.setAuthTag(blob.subarray(blob.length - 16));
      const plaintext = Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()]);
      return send(res, 200, { data: { plaintext: plaintext.toString('base64') } });
    } catch {
      return send(res, 400, { errors: ['invalid ciphertext: unable to decrypt'] });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    createKey(mount, name) {
      keys.set(`${mount}/${name}`, randomBytes(32));
    },
    token(paths) {
      const t = `hvs.${randomBytes(12).toString('base64url')}`;
      tokens.set(t, new Set(paths));
      return t;
    },
    requests,
    decryptCalls: () => requests.filter((r) => r.op === 'decrypt').length,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
