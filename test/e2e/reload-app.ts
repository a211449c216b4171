/**
 * The application for the hot-reload e2e test, written the way the docs tell users to: it loads a
 * mounted secret directory through `createReloadable`, watches it with `watchSecretDir` and reloads
 * once per real change, printing one JSON line per event. (It prints the value of `--key`, a test
 * value, so the test can see which content is in use; a real application would not print values.)
 *
 *   tsx reload-app.ts --dir DIR --key KEY
 */
import { parseArgs } from 'node:util';
import { createReloadable, readSecretDir, watchSecretDir } from '../../src/reload/app/index.js';

const { values: args } = parseArgs({ options: { dir: { type: 'string' }, key: { type: 'string' } } });
const dir = args.dir!;
const key = args.key!;
const say = (event: object) => process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);

const secrets = await createReloadable(async () => readSecretDir(dir));
const value = () => secrets.current().get(key)?.toString('utf8');
let changed: string[] = [];
secrets.onOutcome((o) =>
  say({ event: 'reload', ok: o.ok, generation: o.generation, changed, value: value() }),
);

const watcher = watchSecretDir(dir, async (change) => {
  changed = change.changed;
  await secrets.reload();
});
await watcher.ready;
say({ event: 'ready', pid: process.pid, keys: [...secrets.current().keys()].sort(), value: value() });
process.once('SIGTERM', () => void watcher.close().then(() => process.exit(0)));
