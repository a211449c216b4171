/** What the key-service tests (kms-*.test.ts) share: decrypting with a keyring, and catching its SmcError. */
import { expect } from 'vitest';
import { SmcError } from '../../src/errors.js';
import { decryptSops, formatFromPath, type SopsKeyring } from '../../src/sops/index.js';

/** Decrypts a SOPS file the way render does (format from the file name), as bytes to compare with `sops -d`. */
export async function decryptWith(
  content: Buffer | string,
  name: string,
  keyring: SopsKeyring,
): Promise<Buffer> {
  return Buffer.from(await decryptSops(content, { format: formatFromPath(name), keyring, fileName: name }));
}

/** The SmcError a promise rejects with (fails the test when it resolves or rejects with anything else). */
export async function failure(p: Promise<unknown>): Promise<SmcError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SmcError);
  return e as SmcError;
}
