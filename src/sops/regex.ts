/**
 * sops evaluates encrypted_regex & co. with Go's RE2 (`regexp.Match`: an unanchored search).
 * This turns the common RE2 spellings that JavaScript lacks into JavaScript equivalents.
 */
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const cache = new Map<string, RegExp>();

export function compileGoRegex(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let src = pattern;
  let flags = '';
  // Leading flag group applying to the whole pattern, e.g. (?i) or (?is).
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1] as string) {
      if (f === 'i' || f === 'm' || f === 's') flags += f;
      else throw new Error('ungreedy flag not supported');
    }
    src = src.slice(lead[0].length);
  }
  src = src
    .replace(/\(\?P</g, '(?<')
    .replace(/\[:\^?([a-z]+):\]/g, (m, name: string) => {
      const cls = POSIX[name];
      if (!cls) throw new Error(`unknown class ${m}`);
      return m.startsWith('[:^') ? `^${cls}` : cls;
    })
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\\A/g, '^(?<![\\s\\S])')
    .replace(/\\Q(.*?)(\\E|$)/g, (_m, lit: string) => lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  let re: RegExp;
  try {
    re = new RegExp(src, flags + 'u');
  } catch {
    re = new RegExp(src, flags);
  }
  cache.set(pattern, re);
  return re;
}

export function goRegexMatch(pattern: string, s: string): boolean {
  return compileGoRegex(pattern).test(s);
}
