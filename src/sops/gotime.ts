/**
 * Just enough of Go's time package for sops: the YAML timestamp formats go-yaml accepts,
 * RFC 3339 parsing, and the RFC3339 / RFC3339Nano output formats.
 */
export interface GoTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nsec: number;
  /** Offset east of UTC in seconds (0 prints as "Z"). */
  offset: number;
}

function daysIn(month: number, year: number): number {
  if (month === 2) {
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    return leap ? 29 : 28;
  }
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
}

const isD = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

class Cursor {
  constructor(public s: string) {}
  /** Go's getnum(value, fixed=false): one or two digits. */
  num12(): number | null {
    const s = this.s;
    if (!isD(s[0])) return null;
    if (!isD(s[1])) {
      this.s = s.slice(1);
      return Number(s[0]);
    }
    this.s = s.slice(2);
    return Number(s.slice(0, 2));
  }
  fixed(n: number): number | null {
    const p = this.s.slice(0, n);
    if (p.length !== n || ![...p].every((c) => isD(c))) return null;
    this.s = this.s.slice(n);
    return Number(p);
  }
  lit(l: string): boolean {
    if (!this.s.startsWith(l)) return false;
    this.s = this.s.slice(l.length);
    return true;
  }
  /** Optional fractional seconds: '.' or ',' followed by digits (any count). */
  frac(): number {
    const s = this.s;
    if (s.length < 2 || (s[0] !== '.' && s[0] !== ',') || !isD(s[1])) return 0;
    let i = 0;
    while (i + 1 < s.length && isD(s[i + 1])) i++;
    const digits = s
      .slice(1, 1 + i)
      .slice(0, 9)
      .padEnd(9, '0');
    this.s = s.slice(1 + i);
    return Number(digits);
  }
  /** "Z07:00" */
  zone(): number | null {
    if (this.s[0] === 'Z') {
      this.s = this.s.slice(1);
      return 0;
    }
    const s = this.s;
    if (s.length < 6 || s[3] !== ':' || (s[0] !== '+' && s[0] !== '-')) return null;
    if (!isD(s[1]) || !isD(s[2]) || !isD(s[4]) || !isD(s[5])) return null;
    const hh = Number(s.slice(1, 3));
    const mm = Number(s.slice(4, 6));
    if (hh > 24 || mm > 60) return null;
    this.s = s.slice(6);
    const off = (hh * 60 + mm) * 60;
    return s[0] === '-' ? -off : off;
  }
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  nsec: number,
  offset: number,
): GoTime | null {
  if (month < 1 || month > 12) return null;
  if (day < 1 || day > daysIn(month, year)) return null;
  if (hour < 0 || hour >= 24 || minute < 0 || minute >= 60 || second < 0 || second >= 60) return null;
  return { year, month, day, hour, minute, second, nsec, offset };
}

function parseLayout(value: string, sep: 'T' | 't' | ' ' | null, withZone: boolean): GoTime | null {
  const c = new Cursor(value);
  const year = c.fixed(4);
  if (year === null || !c.lit('-')) return null;
  const month = c.num12();
  if (month === null || !c.lit('-')) return null;
  const day = c.num12();
  if (day === null) return null;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nsec = 0;
  let offset = 0;
  if (sep !== null) {
    if (!c.lit(sep)) return null;
    const h = c.num12();
    if (h === null || !c.lit(':')) return null;
    const mi = c.num12();
    if (mi === null || !c.lit(':')) return null;
    const se = c.num12();
    if (se === null) return null;
    hour = h;
    minute = mi;
    second = se;
    nsec = c.frac();
    if (withZone) {
      const z = c.zone();
      if (z === null) return null;
      offset = z;
    }
  }
  if (c.s !== '') return null;
  return build(year, month, day, hour, minute, second, nsec, offset);
}

/** go-yaml v3 parseTimestamp. */
export function parseGoTimestamp(s: string): GoTime | null {
  let i = 0;
  for (; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch < '0' || ch > '9') break;
  }
  if (i !== 4 || i === s.length || s[i] !== '-') return null;
  return (
    parseLayout(s, 'T', true) ??
    parseLayout(s, 't', true) ??
    parseLayout(s, ' ', false) ??
    parseLayout(s, null, false)
  );
}

/** time.Parse(time.RFC3339, s) (also what time.UnmarshalText accepts). */
export function parseRFC3339(s: string): GoTime | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(
    s,
  );
  if (!m) return null;
  let offset = 0;
  const z = m[8] as string;
  if (z !== 'Z' && z !== 'z') {
    const hh = Number(z.slice(1, 3));
    const mm = Number(z.slice(4, 6));
    if (hh > 24 || mm > 60) return null;
    offset = (hh * 60 + mm) * 60 * (z[0] === '-' ? -1 : 1);
  }
  const nsec = m[7] ? Number(m[7].slice(0, 9).padEnd(9, '0')) : 0;
  return build(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    nsec,
    offset,
  );
}

const p2 = (n: number): string => String(n).padStart(2, '0');

function zoneStr(offset: number): string {
  if (offset === 0) return 'Z';
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  return `${sign}${p2(Math.floor(a / 3600))}:${p2(Math.floor((a % 3600) / 60))}`;
}

function base(t: GoTime): string {
  return `${String(t.year).padStart(4, '0')}-${p2(t.month)}-${p2(t.day)}T${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;
}

/** t.Format(time.RFC3339) */
export function formatRFC3339(t: GoTime): string {
  return base(t) + zoneStr(t.offset);
}

/** t.Format(time.RFC3339Nano): fraction without trailing zeros. */
export function formatRFC3339Nano(t: GoTime): string {
  let frac = '';
  if (t.nsec !== 0) frac = '.' + String(t.nsec).padStart(9, '0').replace(/0+$/, '');
  return base(t) + frac + zoneStr(t.offset);
}
