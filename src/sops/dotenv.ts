/** sops' dotenv store: `KEY=value` lines, `#` comment lines, `\n` escapes in values. */
import { SmcError } from '../errors.js';
import { valToStringBytes } from './plainvalue.js';
import { Branch, Comment, RawString, type TreeItem, goString, isComplex } from './values.js';

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const i = buf.indexOf(0x0a, start);
    if (i < 0) {
      out.push(buf.subarray(start));
      return out;
    }
    out.push(buf.subarray(start, i));
    start = i + 1;
  }
}

export function loadDotenv(content: Uint8Array, fileName: string): Branch[] {
  const items: TreeItem[] = [];
  let lineNo = 0;
  for (const line of splitLines(Buffer.from(content))) {
    lineNo++;
    if (line.length === 0) continue;
    if (line[0] === 0x23) {
      const c = goString(line.subarray(1));
      items.push({
        key: new Comment(typeof c === 'string' ? c : Buffer.from(c.bytes).toString('utf8')),
        value: null,
      });
      continue;
    }
    const pos = line.indexOf(0x3d);
    if (pos === -1) {
      throw new SmcError('SopsInvalidFile', `${fileName}: line ${lineNo} is not KEY=value`);
    }
    const key = line.subarray(0, pos).toString('utf8');
    const raw = Buffer.from(
      line
        .subarray(pos + 1)
        .toString('latin1')
        .replaceAll('\\n', '\n'),
      'latin1',
    );
    items.push({ key, value: goString(raw) });
  }
  return [new Branch(items)];
}

export function emitDotenv(branches: Branch[], fileName: string): Uint8Array {
  const parts: Buffer[] = [];
  for (const item of branches[0]?.items ?? []) {
    if (isComplex(item.value)) {
      throw new SmcError(
        'SopsInvalidFile',
        `${fileName}: cannot write a nested value in a dotenv file (key ${String(item.key instanceof Comment ? '#' : item.key)})`,
      );
    }
    if (item.key instanceof Comment) {
      parts.push(Buffer.from(`#${item.key.value}\n`, 'utf8'));
      continue;
    }
    let value: Buffer;
    if (typeof item.value === 'string') value = Buffer.from(item.value.replaceAll('\n', '\\n'), 'utf8');
    else if (item.value instanceof RawString) {
      value = Buffer.from(Buffer.from(item.value.bytes).toString('latin1').replaceAll('\n', '\\n'), 'latin1');
    } else value = valToStringBytes(item.value);
    parts.push(Buffer.from(item.key + '=', 'utf8'), value, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
