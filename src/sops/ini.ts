/**
 * sops' INI store, with the reading and writing rules of gopkg.in/ini.v1 (the library sops
 * uses): `=`/`:` delimiters, `;`/`#` comments (also inline), quoted values, `"""` multi-line
 * values, `=` signs aligned per section, a blank line between sections.
 */
import { SmcError } from '../errors.js';
import { valToStringBytes } from './plainvalue.js';
import { Branch, Comment, type TreeItem, type TreeValue, goString } from './values.js';

const DEFAULT_SECTION = 'DEFAULT';

interface IniKey {
  name: string;
  value: Buffer;
  comment: string;
}
interface IniSection {
  name: string;
  comment: string;
  keys: IniKey[];
  /** The same keys by name (a linear search per key is quadratic). */
  byName: Map<string, IniKey>;
}

class IniError extends Error {}

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Byte-wise helpers over latin1 strings (one char per byte). */
const trimLeft = (s: string): string => {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
};
const trimSpace = (s: string): string => {
  let j = s.length;
  while (j > 0 && isSpace(s.charCodeAt(j - 1))) j--;
  return trimLeft(s.slice(0, j));
};
const indexAny = (s: string, chars: string): number => {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i] as string)) return i;
  return -1;
};

class IniParser {
  private pos = 0;
  private eof = false;
  private comment = '';
  private count = 1;
  readonly sections: IniSection[] = [];

  constructor(private readonly data: string) {}

  private readLine(): string {
    const i = this.data.indexOf('\n', this.pos);
    if (i < 0) {
      const s = this.data.slice(this.pos);
      this.pos = this.data.length;
      this.eof = true;
      return s;
    }
    const s = this.data.slice(this.pos, i + 1);
    this.pos = i + 1;
    if (this.pos >= this.data.length) {
      // bufio ReadBytes only reports EOF on the following read; the loop then reads "" once.
    }
    return s;
  }

  private readKeyName(line: string): [string, number] {
    let keyQuote = '';
    if (line[0] === '"') keyQuote = line.length > 6 && line.startsWith('"""') ? '"""' : '"';
    else if (line[0] === '`') keyQuote = '`';
    if (keyQuote !== '') {
      const startIdx = keyQuote.length;
      let pos = line.slice(startIdx).indexOf(keyQuote);
      if (pos === -1) throw new IniError('missing closing key quote');
      pos += startIdx;
      const i = indexAny(line.slice(pos + startIdx), '=:');
      if (i < 0) throw new IniError('key-value delimiter not found');
      const endIdx = pos + i;
      return [trimSpace(line.slice(startIdx, pos)), endIdx + startIdx + 1];
    }
    const endIdx = indexAny(line, '=:');
    if (endIdx < 0) throw new IniError('key-value delimiter not found');
    if (endIdx === 0) throw new IniError('empty key name');
    return [trimSpace(line.slice(0, endIdx)), endIdx + 1];
  }

  private readMultilines(val: string, valQuote: string): string {
    for (;;) {
      const next = this.readLine();
      const pos = next.lastIndexOf(valQuote);
      if (pos > -1) {
        const rest = next.slice(pos + valQuote.length).replace(/[\r\n]+$/, '');
        if (trimSpace(rest).endsWith('\\')) {
          val += next;
          continue;
        }
        val += next.slice(0, pos);
        const ci = indexAny(next.slice(pos), '#;');
        if (ci >= 0) this.comment += trimSpace(next.slice(pos).slice(ci));
        break;
      }
      val += next;
      if (this.eof) throw new IniError('missing closing quote of a multi-line value');
    }
    return val;
  }

  private readContinuationLines(val: string): string {
    // Parts joined once (growing one string and slicing it per line is quadratic).
    const parts = [val];
    for (;;) {
      const next = trimSpace(this.readLine());
      if (next.length === 0) break;
      if (!next.endsWith('\\')) {
        parts.push(next);
        break;
      }
      parts.push(next.slice(0, -1));
    }
    return parts.join('');
  }

  private readValue(input: string): string {
    let line = trimLeft(input);
    if (line.length === 0) return '';
    let valQuote = '';
    if (line.length > 3 && line.startsWith('"""')) valQuote = '"""';
    else if (line[0] === '`') valQuote = '`';
    if (valQuote !== '') {
      const startIdx = valQuote.length;
      const pos = line.slice(startIdx).lastIndexOf(valQuote);
      if (pos === -1) return this.readMultilines(line.slice(startIdx), valQuote);
      return line.slice(startIdx, pos + startIdx);
    }
    line = trimSpace(line);
    if (line.endsWith('\\')) return this.readContinuationLines(line.slice(0, -1));
    const i = indexAny(line, '#;');
    if (i > -1) {
      this.comment += line.slice(i);
      line = trimSpace(line.slice(0, i));
    }
    const surrounded = (q: string): boolean =>
      line.length >= 2 &&
      line[0] === q &&
      line[line.length - 1] === q &&
      line.slice(1).indexOf(q) === line.length - 2;
    if (surrounded("'") || surrounded('"')) line = line.slice(1, -1);
    return line;
  }

  private newSection(name: string): IniSection {
    if (name.length === 0) throw new IniError('empty section name');
    const s: IniSection = { name, comment: '', keys: [], byName: new Map() };
    this.sections.push(s);
    return s;
  }

  parse(): void {
    let section = this.newSection(DEFAULT_SECTION);
    let start = 0;
    if (this.data.startsWith('\xfe\xff') || this.data.startsWith('\xff\xfe')) start = 2;
    else if (this.data.startsWith('\xef\xbb\xbf')) start = 3;
    this.pos = start;
    while (!this.eof) {
      let line = this.readLine();
      line = trimLeft(line);
      if (line.length === 0) continue;
      if (line[0] === '#' || line[0] === ';') {
        this.comment += line;
        continue;
      }
      if (line[0] === '[') {
        const closeIdx = line.lastIndexOf(']');
        if (closeIdx === -1) throw new IniError('unclosed section');
        section = this.newSection(line.slice(1, closeIdx));
        const ci = indexAny(line.slice(closeIdx + 1), '#;');
        if (ci >= 0) this.comment += line.slice(closeIdx + 1).slice(ci);
        section.comment = trimSpace(this.comment);
        this.comment = '';
        this.count = 1;
        continue;
      }
      const [name, offset] = this.readKeyName(line);
      let kname = name;
      if (kname === '-') {
        kname = '#' + String(this.count);
        this.count++;
      }
      const value = this.readValue(line.slice(offset));
      if (kname.length === 0) throw new IniError('empty key name');
      let key = section.byName.get(kname);
      if (key) key.value = Buffer.from(value, 'latin1');
      else {
        key = { name: kname, value: Buffer.from(value, 'latin1'), comment: '' };
        section.keys.push(key);
        section.byName.set(kname, key);
      }
      key.comment = trimSpace(this.comment);
      this.comment = '';
    }
  }
}

function stripCommentChar(comment: string): string {
  if (comment.startsWith(';')) return comment.replace(/^[; ]+/, '');
  if (comment.startsWith('#')) return comment.replace(/^[# ]+/, '');
  return comment;
}

const utf8 = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8');

export function loadIni(content: Uint8Array, fileName: string): Branch[] {
  const p = new IniParser(Buffer.from(content).toString('latin1'));
  try {
    p.parse();
  } catch (e) {
    if (e instanceof IniError)
      throw new SmcError('SopsInvalidFile', `${fileName}: not valid INI: ${e.message}`);
    throw e;
  }
  const items: TreeItem[] = p.sections.map((section) => {
    const sitems: TreeItem[] = [];
    if (section.comment !== '') {
      sitems.push({ key: new Comment(stripCommentChar(utf8(section.comment))), value: null });
    }
    for (const k of section.keys) {
      sitems.push({ key: utf8(k.name), value: goString(k.value) });
      if (k.comment !== '') sitems.push({ key: new Comment(stripCommentChar(utf8(k.comment))), value: null });
    }
    return { key: utf8(section.name), value: new Branch(sitems) };
  });
  return [new Branch(items)];
}

function commentLines(comment: string, forKey: boolean): string {
  let out = '';
  for (const l of comment.split('\n')) {
    if (l[0] !== '#' && l[0] !== ';') out += '; ' + (forKey ? l.trim() : l) + '\n';
    else out += l.slice(0, 1) + ' ' + l.slice(1).trim() + '\n';
  }
  return out;
}

interface OutKey {
  name: string;
  value: Buffer;
  comment: string;
}

/** sops' INI EmitPlainFile (ini.v1 WriteTo with pretty formatting). */
export function emitIni(branches: Branch[], fileName: string): Uint8Array {
  const sections: { name: string; comment: string; keys: OutKey[] }[] = [];
  for (const branch of branches) {
    for (const item of branch.items) {
      if (item.key instanceof Comment) continue;
      if (item.key === '') throw new SmcError('SopsInvalidFile', `${fileName}: empty INI section name`);
      if (!(item.value instanceof Branch)) {
        throw new SmcError('SopsInvalidFile', `${fileName}: INI section values must be sections`);
      }
      const sec = { name: item.key, comment: '', keys: [] as OutKey[] };
      const byName = new Map<string, OutKey>();
      sections.push(sec);
      const tree = item.value.items;
      let first = 0;
      const head = tree[0];
      if (head && head.key instanceof Comment) {
        sec.comment = head.key.value;
        first = 1;
      }
      let last: OutKey | null = null;
      for (let i = first; i < tree.length; i++) {
        const kv = tree[i] as TreeItem;
        if (kv.key instanceof Comment) {
          if (last) last.comment = kv.key.value;
          continue;
        }
        const value = valToStringBytes(kv.value as TreeValue);
        let k = byName.get(kv.key);
        if (k) k.value = value;
        else {
          k = { name: kv.key, value, comment: '' };
          sec.keys.push(k);
          byName.set(kv.key, k);
        }
        last = k;
      }
    }
  }

  const out: Buffer[] = [];
  const put = (s: string): void => {
    out.push(Buffer.from(s, 'utf8'));
  };
  sections.forEach((sec, i) => {
    if (sec.comment.length > 0) put(commentLines(sec.comment, false));
    if (i > 0 || sec.name.toUpperCase() !== DEFAULT_SECTION) {
      put(`[${sec.name}]\n`);
    } else if (sec.keys.length === 0) {
      return;
    }
    let align = 0;
    for (const k of sec.keys) {
      let len = Buffer.byteLength(k.name);
      if (k.name.includes('"') || /[=:]/.test(k.name)) len += 2;
      else if (k.name.includes('`')) len += 6;
      if (len > align) align = len;
    }
    for (const k of sec.keys) {
      if (k.comment.length > 0) put(commentLines(k.comment, true));
      let kname = k.name;
      if (kname.includes('"') || /[=:]/.test(kname)) kname = '`' + kname + '`';
      else if (kname.includes('`')) kname = '"""' + kname + '"""';
      const v = k.value.toString('latin1');
      let val: Buffer;
      if (v.includes('\n') || v.includes('`'))
        val = Buffer.concat([Buffer.from('"""'), k.value, Buffer.from('"""')]);
      else if (v.includes('#') || v.includes(';'))
        val = Buffer.concat([Buffer.from('`'), k.value, Buffer.from('`')]);
      else if (trimSpace(v).length !== v.length)
        val = Buffer.concat([Buffer.from('"'), k.value, Buffer.from('"')]);
      else val = k.value;
      put(kname + ' '.repeat(Math.max(0, align - Buffer.byteLength(kname))) + ' = ');
      out.push(val, Buffer.from('\n'));
    }
    if (i !== sections.length - 1) put('\n');
  });
  return Buffer.concat(out);
}
