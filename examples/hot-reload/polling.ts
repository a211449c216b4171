/**
 * Hot reload by polling: for file systems where change events are unreliable, or when a fixed
 * check interval is simply preferred. Compares content (SHA-256, kept inside the library), so a
 * rewrite with the same content, or a new modification time, reloads nothing.
 *
 *   SECRETS_DIR=/tmp/msm-demo POLL_INTERVAL_MS=5000 npx tsx examples/hot-reload/polling.ts
 */
import { createReloadable, pollForChanges } from '../../src/reload/app/index.js';
import { loadSecrets, log, SECRETS_DIR, validateSecrets } from './secrets.js';

const secrets = await createReloadable(loadSecrets, validateSecrets);
secrets.onOutcome((o) =>
  o.ok
    ? log('secrets reloaded', { generation: o.generation })
    : log('secrets reload refused; keeping the previous values', { reason: o.message }),
);

const intervalMs = Number(process.env.POLL_INTERVAL_MS ?? 60_000);
const poller = pollForChanges(
  SECRETS_DIR,
  async ({ changed }) => {
    log('secret files changed', { changed });
    await secrets.reload();
  },
  { intervalMs },
);
await poller.ready;
log('polling', { dir: SECRETS_DIR, intervalMs });
process.once('SIGTERM', () => void poller.close().then(() => process.exit(0)));
