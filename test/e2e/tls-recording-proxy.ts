/**
 * An HTTPS front for a plain-http test peer (the GCP Secret Manager emulator speaks http only): a
 * throwaway CA-less self-signed certificate for 127.0.0.1 made with `openssl`, every request's
 * `Authorization` header recorded, the request forwarded to the peer unchanged. A client trusts it
 * through `NODE_EXTRA_CA_CERTS=<certPath>` (Node's own mechanism; nothing is disabled).
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedCall {
  method: string;
  url: string;
  authorization?: string;
  status?: number;
}

export interface TlsRecordingProxy {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** PEM of the self-signed certificate (give it to the client as NODE_EXTRA_CA_CERTS). */
  certPath: string;
  calls: RecordedCall[];
  stop(): Promise<void>;
}

export async function startTlsRecordingProxy(upstream: string): Promise<TlsRecordingProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'smc-e2e-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const up = new URL(upstream);
  const calls: RecordedCall[] = [];
  const server = https.createServer(
    { cert: await readFile(certPath), key: await readFile(keyPath) },
    (req, res) => {
      const call: RecordedCall = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      };
      calls.push(call);
      const headers = { ...req.headers, host: up.host };
      delete headers.connection;
      const out = http.request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent: false },
        (answer) => {
          call.status = answer.statusCode;
          const h = { ...answer.headers };
          delete h.connection;
          res.writeHead(answer.statusCode ?? 502, h);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    certPath,
    calls,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
