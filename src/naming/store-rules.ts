/**
 * What every store's naming rule shares: the hooks a rule may have and the helpers that build a
 * candidate name. The rules themselves live with their stores (`src/stores/<type>/naming.ts`).
 */
import type { NamingRule } from './rules.js';

/** The parts a store name is built from; `prefix-key-suffix` unless a rule composes differently. */
export interface NameParts {
  prefix?: string;
  key: string;
  suffix?: string;
}

/**
 * A NamingRule with the optional hooks some stores need. Every hook is optional, so any plain
 * NamingRule works with `nameEntries` too.
 */
export interface StoreNamingRule extends NamingRule {
  /** Build the final, not yet checked name. Default: `sanitize(prefix-key-suffix)`. */
  compose?(parts: NameParts): string;
  /** Store-specific checks beyond pattern and length: a value-free reason, or undefined if valid. */
  validate?(name: string): string | undefined;
  /** The store treats names that differ only in letter case as one entry. */
  readonly caseInsensitive?: boolean;
}

/** Replace every code point outside `allowed` (a character-class body) with `replacement`. */
export function replaceOutside(allowed: string, replacement: string): (s: string) => string {
  const re = new RegExp(`[^${allowed}]`, 'gu');
  return (s) => s.replace(re, replacement);
}

/** `prefix-key-suffix`, omitting empty parts (a suffix's leading `-` and a prefix's trailing `-` are dropped). */
export function joinNameParts(parts: NameParts, separator = '-'): string {
  const prefix = (parts.prefix ?? '').replace(/-+$/, '');
  const suffix = (parts.suffix ?? '').replace(/^-+/, '');
  return [prefix, parts.key, suffix].filter((p) => p !== '').join(separator);
}
