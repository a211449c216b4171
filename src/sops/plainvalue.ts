/** sops stores.ValToString: how dotenv and INI print a non-string value. */
import { formatRFC3339 } from './gotime.js';
import { valToStringFloat } from './gonum.js';
import {
  Comment,
  GoBytes,
  GoFloat,
  GoInt,
  GoTimeValue,
  RawString,
  type TreeValue,
  goStringBytes,
} from './values.js';

export function valToStringBytes(v: TreeValue): Buffer {
  if (typeof v === 'string' || v instanceof RawString) return goStringBytes(v);
  if (v === null) return Buffer.from('<nil>');
  if (typeof v === 'boolean') return Buffer.from(v ? 'true' : 'false');
  if (v instanceof GoInt) return Buffer.from(v.value.toString());
  if (v instanceof GoFloat) return Buffer.from(valToStringFloat(v.value));
  if (v instanceof GoTimeValue) return Buffer.from(formatRFC3339(v.value));
  if (v instanceof GoBytes) return Buffer.from(`[${[...v.value].join(' ')}]`);
  if (v instanceof Comment) return Buffer.from(`{${v.value} ${v.inline}}`);
  throw new Error('complex value');
}
