/**
 * Hot reload on SIGHUP: for an application that should decide itself when to reload, driven by
 * `kill -HUP <pid>` or by the reloader sidecar (`msmctl reloader --signal HUP --pid-file F`).
 *
 *   SECRETS_DIR=/tmp/msm-demo PID_FILE=/tmp/app.pid npx tsx examples/hot-reload/sighup.ts
 *   kill -HUP "$(cat /tmp/app.pid)"
 *
 * Reloads never overlap: signals during a reload are folded into one more reload after it.
 */
import { writeFile } from 'node:fs/promises';
import { createReloadable, onSighup } from '../../src/reload/app/index.js';
import { loadSecrets, log, SECRETS_DIR, validateSecrets } from './secrets.js';

// A distinctive process name lets the sidecar find the process with `--process hot-reload-app`
// (Node's own name is just "node", shared with every other Node process).
process.title = process.env.APP_NAME ?? 'hot-reload-app';

const secrets = await createReloadable(loadSecrets, validateSecrets);
secrets.onOutcome((o) =>
  o.ok
    ? log('secrets reloaded', { generation: o.generation })
    : log('secrets reload refused; keeping the previous values', { reason: o.message }),
);
onSighup(() => secrets.reload());

if (process.env.PID_FILE) await writeFile(process.env.PID_FILE, `${process.pid}\n`);
log('waiting for SIGHUP', { pid: process.pid, dir: SECRETS_DIR });

setInterval(() => {
  // the application's work, using secrets.current()
}, 60_000);
process.once('SIGTERM', () => process.exit(0));
