/** Reading a mounted secret directory in one consistent piece, for an application's own loader. */
import { resolve } from 'node:path';
import { defaultKeyFilter, readDirSnapshot, type KeyFilter } from './snapshot.js';

/**
 * Read every key of a secret directory: key → content. For a kubelet volume (or the `local` store),
 * all keys come from the single payload `..data` points to, so a swap during the read can never give
 * half old and half new values — reading `DIR/KEY` files one by one can. A directory that does not
 * exist reads as empty.
 *
 * @example
 * ```ts
 * const secrets = await createReloadable(async () => {
 *   const files = await readSecretDir('/etc/secrets');
 *   return { dbPassword: files.get('DB_PASSWORD')?.toString('utf8') ?? '' };
 * }, validate);
 * ```
 */
export async function readSecretDir(
  dir: string,
  options: { filter?: KeyFilter } = {},
): Promise<Map<string, Buffer>> {
  return (await readDirSnapshot(resolve(dir), options.filter ?? defaultKeyFilter)).files;
}
