/**
 * Reading a file with a size cap enforced while reading: a regular file larger than the cap is
 * refused before any byte is read, and anything else (a FIFO, `/dev/zero`, a file still growing)
 * is read only up to the cap plus one byte, never to its end.
 */
import { open } from 'node:fs/promises';
import { SmcError } from '../errors.js';
import { type InputLimits, LIMIT_NAMES } from './input.js';

const CHUNK = 64 * 1024;

/** SmcError `TooLarge` naming what was refused (`name`), the cap and the setting that raises it. */
export function tooLarge(name: string, limit: keyof InputLimits, maxBytes: number): SmcError {
  return new SmcError(
    'TooLarge',
    `${name} is larger than ${maxBytes} bytes, the limit set by ${LIMIT_NAMES[limit]}; refusing to read it`,
  );
}

/**
 * The bytes of `path`, at most `maxBytes` of them; more is SmcError `TooLarge` naming `name`.
 * Errors opening or reading (ENOENT, EISDIR, …) are thrown as they are.
 */
export async function readFileCapped(
  path: string,
  maxBytes: number,
  limit: keyof InputLimits,
  name: string = path,
): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.isFile() && st.size > maxBytes) throw tooLarge(name, limit, maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // Ask for one byte past the cap, so a longer input is noticed without reading on.
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(name, limit, maxBytes);
      chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}
