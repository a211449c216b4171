import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/entry.js';
import { nameEntries } from '../../src/naming/name.js';
import type { DeletionPolicy } from '../../src/plan/actions.js';
import { planActions } from '../../src/plan/plan.js';
import type { Owner, SecretStore } from '../../src/stores/store.js';

export async function tempDir(label = 'smc-local-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), label));
  return { dir: join(base, 'out'), cleanup: () => rm(base, { recursive: true, force: true }) };
}

export function entries(values: Record<string, string>, disabled: readonly string[] = []): Entry[] {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value,
    kind: 'secret',
    enabled: !disabled.includes(key),
    origin: 'app/application.secrets.env',
  }));
}

export interface SyncOptions {
  deletionPolicy?: DeletionPolicy;
  triggerUpdate?: boolean;
  adopt?: boolean;
}

/** name → read → plan → apply, the way the pipeline drives a store. */
export async function syncTo(store: SecretStore, owner: Owner, source: Entry[], opts: SyncOptions = {}) {
  const desired = nameEntries(source, { rule: store.naming });
  const actual = await store.read(
    owner,
    desired.map((d) => d.storeName),
  );
  const actions = planActions({
    desired,
    actual,
    owner,
    deletionPolicy: opts.deletionPolicy ?? 'Delete',
    triggerUpdate: opts.triggerUpdate ?? true,
    adopt: opts.adopt ?? false,
  });
  const results = await store.apply(owner, actions);
  return { actions, results };
}

/** Every name in DIR with what it is (symlink target, dir, file) and its mtime: a fingerprint of the directory. */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': String((await lstat(dir)).mtimeMs) };
  for (const n of (await readdir(dir)).sort()) {
    const p = join(dir, n);
    const st = await lstat(p);
    const what = st.isSymbolicLink() ? `link:${await readlink(p)}` : st.isDirectory() ? 'dir' : 'file';
    out[n] = `${what}@${st.mtimeMs}#${st.ino}`;
  }
  return out;
}

/** The payload directories (`..YYYY_…`) present in DIR. */
export async function payloadDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^\.\.\d{4}_/.test(n));
}
