import { isSmcError } from '../../errors.js';

/**
 * A description of `e` that is safe to log, count or send over HTTP: it never quotes input.
 *
 * Our own errors (`SmcError`, including `ReloadValidationError`) carry messages written to name a key
 * or file, never a value, so they are shown in full. System errors are shown by errno code, syscall
 * and path. Anything else (a `JSON.parse` error quotes the text it choked on; a user's error may
 * embed anything) is shown by its type only.
 */
export function describeError(e: unknown): string {
  if (isSmcError(e)) return e.message;
  if (typeof e === 'object' && e !== null) {
    const { code, syscall, path } = e as { code?: unknown; syscall?: unknown; path?: unknown };
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
      return [code, typeof syscall === 'string' ? `on ${syscall}` : '', typeof path === 'string' ? path : '']
        .filter(Boolean)
        .join(' ');
    }
  }
  if (e instanceof Error) return `${e.name} (message withheld: it may quote secret content)`;
  return `unexpected ${typeof e}`;
}

/** Default error sink of the library: one value-free line on stderr. */
export function reportToStderr(context: string, e: unknown): void {
  process.stderr.write(`[secret-manager-controller/reload] ${context}: ${describeError(e)}\n`);
}
