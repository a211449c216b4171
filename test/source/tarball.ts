/** Hand-built tar archives (ustar headers written byte by byte) for malicious-input tests. */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' directory, '6' fifo. */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  /** Declared size (defaults to the body length). */
  size?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  if (Buffer.byteLength(e.name) > 100) throw new Error('name too long for this helper');
  h.write(e.name, 0, 100, 'utf8');
  h.write(octal(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(946684800, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type ?? '0', 156, 'ascii');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

export function tarOf(entries: TarEntry[], trailer: Buffer = Buffer.alloc(1024)): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    parts.push(header(e, e.size ?? body.length));
    parts.push(body);
    const pad = (512 - (body.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  parts.push(trailer);
  return Buffer.concat(parts);
}

export function tgzOf(entries: TarEntry[], trailer?: Buffer): Buffer {
  return gzipSync(tarOf(entries, trailer));
}
