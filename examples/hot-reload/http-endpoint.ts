/**
 * Hot reload over HTTP: `POST /reload`, protected by a bearer token, for the reloader sidecar
 * (`msmctl reloader --post http://127.0.0.1:8080/reload --token-file F`) or an operator.
 *
 *   SECRETS_DIR=/tmp/msm-demo RELOAD_TOKEN_FILE=/tmp/token npx tsx examples/hot-reload/http-endpoint.ts
 *   curl -X POST -H "Authorization: Bearer $(cat /tmp/token)" http://127.0.0.1:8080/reload
 *
 * Answers 200 {"status":"reloaded"}, 500 {"status":"failed","error":...} (old values kept),
 * 401 without the right token, 405 for other methods. Bound to 127.0.0.1: a sidecar in the same pod
 * reaches it, nothing outside does.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReloadable, reloadHandler } from '../../src/reload/app/index.js';
import { loadSecrets, log, validateSecrets } from './secrets.js';

const secrets = await createReloadable(loadSecrets, validateSecrets);
secrets.onOutcome((o) =>
  o.ok
    ? log('secrets reloaded', { generation: o.generation })
    : log('secrets reload refused; keeping the previous values', { reason: o.message }),
);

const tokenFile = process.env.RELOAD_TOKEN_FILE;
const server = createServer(
  reloadHandler({
    reload: () => secrets.reload(),
    // Read per request, so a rotated token (a re-mounted Secret) is picked up without a restart.
    token: tokenFile ? () => readFile(tokenFile, 'utf8') : undefined,
  }),
);
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  log('listening', { url: `http://${address}:${port}/reload`, token: tokenFile ? 'required' : 'none' });
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
