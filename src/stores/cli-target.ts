/** Checks shared by the stores' `--store TYPE:TARGET` parsers (formats: docs/crd-reference.md). */
import * as P from '../api/patterns.js';
import { SmcError } from '../errors.js';

export function refuseTarget(why: string): never {
  throw new SmcError('InvalidSpec', why);
}

export function matches(pattern: string, value: string): boolean {
  return new RegExp(pattern).test(value);
}

/** `first/rest…` of a target: its first segment and the remainder (undefined when none). */
export function splitTarget(target: string): { first: string; remainder?: string } {
  const [first = '', ...rest] = target.split('/');
  const remainder = rest.join('/') || undefined;
  return remainder === undefined ? { first } : { first, remainder };
}

export { P as PATTERNS };
