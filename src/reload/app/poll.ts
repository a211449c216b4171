/** Polling with content hashing, for when fs.watch is unreliable or a fixed interval is preferred. */
import { resolve } from 'node:path';
import { SmcError } from '../../errors.js';
import { defaultKeyFilter, readDirSnapshot, readFilesSnapshot } from './snapshot.js';
import {
  ChangeDetector,
  type ChangeListener,
  type SecretWatcher,
  type WatchSecretDirOptions,
} from './watch-secret-dir.js';

/**
 * Poll a directory, or a list of files, every `intervalMs` and call `onChange` once per real change of
 * content (compared by SHA-256; the digests never leave the library). For platforms or file systems
 * where fs.watch is unreliable, or when a fixed check interval is simply preferred.
 *
 * @example
 * ```ts
 * const poller = pollForChanges(['/etc/secrets/DB_PASSWORD'], reloadSecrets, { intervalMs: 60_000 });
 * ```
 */
export function pollForChanges(
  target: string | readonly string[],
  onChange: ChangeListener,
  options: PollOptions,
): SecretWatcher {
  const { intervalMs, ...rest } = options;
  if (!(intervalMs > 0)) throw new SmcError('InvalidSpec', 'pollForChanges: intervalMs must be positive');
  const opts = { ...rest, fsWatch: false, pollIntervalMs: intervalMs };
  if (typeof target === 'string') {
    const root = resolve(target);
    const filter = options.filter ?? defaultKeyFilter;
    return new ChangeDetector(
      () => readDirSnapshot(root, filter),
      undefined,
      onChange,
      opts,
      `polling ${root}`,
    );
  }
  const files = [...target];
  return new ChangeDetector(
    () => readFilesSnapshot(files),
    undefined,
    onChange,
    opts,
    `polling ${files.length} file(s)`,
  );
}

export interface PollOptions extends Omit<WatchSecretDirOptions, 'fsWatch' | 'pollIntervalMs' | 'maxWaitMs'> {
  /** How often to read and compare. */
  intervalMs: number;
}
