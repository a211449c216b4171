import type { Entry, NamedEntry } from '../entry.js';
import { SmcError } from '../errors.js';
import type { NamingRule } from './rules.js';
import { joinNameParts, type StoreNamingRule } from './store-rules.js';

export interface NameEntriesOptions {
  rule: NamingRule | StoreNamingRule;
  /** SMC-wide prefix; when absent, each entry's `service` is its prefix. */
  prefix?: string;
  suffix?: string;
}

/** Whether `name` matches `pattern` as a whole (works for unanchored and global patterns too). */
export function fullMatch(pattern: RegExp, name: string): boolean {
  const flags = pattern.flags.replace(/[gy]/g, '');
  return new RegExp(`^(?:${pattern.source})$`, flags).test(name);
}

/** Why `name` is not acceptable to `rule`, or undefined when it is. Value-free. */
export function nameProblem(rule: NamingRule | StoreNamingRule, name: string): string | undefined {
  const length = [...name].length;
  if (length === 0) return 'name is empty';
  if (length > rule.maxLength) return `name is ${length} characters, over the limit of ${rule.maxLength}`;
  if (!fullMatch(rule.pattern, name)) return `name does not match ${rule.pattern.source}`;
  return 'validate' in rule && rule.validate ? rule.validate(name) : undefined;
}

function describe(entry: Entry): string {
  return `key "${entry.key}" (${entry.origin})`;
}

/**
 * Give every entry its store name: `prefix-key-suffix` (empty parts omitted), made to fit the store by
 * `rule`. Every problem is reported at once: all invalid names in one InvalidName error, otherwise all
 * collisions (two or more keys landing on one name) in one NameCollision error. Never a value.
 */
export function nameEntries(entries: readonly Entry[], opts: NameEntriesOptions): NamedEntry[] {
  const rule = opts.rule as StoreNamingRule;
  const named: NamedEntry[] = [];
  const invalid: string[] = [];
  for (const entry of entries) {
    if (entry.key === '') {
      invalid.push(`empty key (${entry.origin})`);
      continue;
    }
    // Without an SMC-wide prefix, each service's entries carry the service name.
    const parts = { prefix: opts.prefix ?? entry.service, key: entry.key, suffix: opts.suffix };
    const storeName = rule.compose ? rule.compose(parts) : rule.sanitize(joinNameParts(parts));
    const problem = nameProblem(rule, storeName);
    if (problem !== undefined) {
      invalid.push(`${describe(entry)} → "${storeName}": ${problem}`);
      continue;
    }
    named.push({ ...entry, storeName });
  }
  if (invalid.length > 0) {
    throw new SmcError(
      'InvalidName',
      `${invalid.length} key(s) cannot be named in store ${rule.store}: ${invalid.join('; ')}`,
    );
  }

  const byName = new Map<string, NamedEntry[]>();
  for (const e of named) {
    const id = rule.caseInsensitive ? e.storeName.toLowerCase() : e.storeName;
    const group = byName.get(id);
    if (group) group.push(e);
    else byName.set(id, [e]);
  }
  const collisions = [...byName.values()]
    .filter((group) => group.length > 1)
    .map((group) => {
      const names = [...new Set(group.map((e) => `"${e.storeName}"`))].join(' / ');
      return `${group.map(describe).join(' and ')} ${group.length === 2 ? 'both' : 'all'} map to ${names}`;
    });
  if (collisions.length > 0) {
    const caseNote = rule.caseInsensitive ? ' (names are case-insensitive there)' : '';
    throw new SmcError(
      'NameCollision',
      `${collisions.length} name collision(s) in store ${rule.store}${caseNote}: ${collisions.join('; ')}`,
    );
  }
  return named;
}
