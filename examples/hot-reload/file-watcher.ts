/**
 * Hot reload with a file watcher: the most reliable mechanism, no sidecar needed.
 *
 *   SECRETS_DIR=/tmp/msm-demo REQUIRED_KEYS=... npx tsx examples/hot-reload/file-watcher.ts
 *
 * watchSecretDir watches the directory (not the files), survives the kubelet's `..data` swap,
 * debounces each burst, compares content and calls back once per real change; createReloadable
 * validates the new values and keeps the old ones if they are refused.
 */
import { createReloadable, watchSecretDir } from '../../src/reload/app/index.js';
import { loadSecrets, log, SECRETS_DIR, validateSecrets } from './secrets.js';

const secrets = await createReloadable(loadSecrets, validateSecrets);
secrets.onOutcome((o) =>
  o.ok
    ? log('secrets reloaded', { generation: o.generation, keys: secrets.current().size })
    : log('secrets reload refused; keeping the previous values', { reason: o.message, generation: o.generation }),
);

const watcher = watchSecretDir(SECRETS_DIR, async ({ changed }) => {
  log('secret files changed', { changed }); // key names only
  await secrets.reload();
});
await watcher.ready;
log('watching', { dir: SECRETS_DIR, keys: secrets.current().size });

// The application reads secrets.current() at each use, so a reload takes effect at once:
//   const password = secrets.current().get('DB_PASSWORD');

process.once('SIGTERM', () => void watcher.close().then(() => process.exit(0)));
