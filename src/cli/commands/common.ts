import { SmcError } from '../../errors.js';
import type { Owner } from '../../stores/store.js';

/** Exit codes: 0 success, 1 some entries failed, 2 bad input or a run that could not start. */
export const EXIT_FAILED_ENTRIES = 1;
export const EXIT_ERROR = 2;

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--smc namespace/name`, defaulting to `local/<fallbackName>`. */
export function ownerFromOption(value: string | undefined, fallbackName: string): Owner {
  if (!value) return { namespace: 'local', name: fallbackName };
  const [namespace, name, ...rest] = value.split('/');
  if (!namespace || !name || rest.length) {
    throw new SmcError('InvalidSpec', `--smc must be NAMESPACE/NAME (got "${value}")`);
  }
  return { namespace, name };
}
