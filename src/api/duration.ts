import { SmcError } from '../errors.js';

/**
 * Durations in the Go / Kubernetes syntax (`30s`, `1m`, `1h30m`, `1.5h`, `500ms`): one or more
 * `<number><unit>` groups, units `h`, `m`, `s`, `ms`. This is the subset of Go's `time.ParseDuration`
 * that Flux uses, so every value this pattern accepts also parses with CEL's `duration()` on the
 * apiserver — the CRD's CEL rules rely on that.
 */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
/** Long enough for any sensible duration, short enough to keep CEL cost estimates trivial. */
export const DURATION_MAX_LENGTH = 32;

const DURATION_RE = new RegExp(DURATION_PATTERN);
// Units are tried longest first so `ms` is not read as `m` followed by a stray `s`.
const GROUP_RE = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export interface ParseDurationOptions {
  /** Smallest accepted value, as a duration string (`'1m'`) or in milliseconds. */
  min?: string | number;
  /** Field named in error messages; default `duration`. */
  field?: string;
  /** Accept `0s` (refused by default: every interval in the API must be positive). */
  allowZero?: boolean;
}

/** Go's largest duration (2^63-1 ns) in whole milliseconds; the apiserver's CEL refuses more. */
export const MAX_DURATION_MS = 9_223_372_036_854;

/**
 * Milliseconds of a well-formed duration (rounded to a whole millisecond), or `undefined` when `text`
 * is not one or exceeds `MAX_DURATION_MS`. Never throws.
 */
export function durationMs(text: string): number | undefined {
  if (typeof text !== 'string' || text.length > DURATION_MAX_LENGTH || !DURATION_RE.test(text))
    return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(GROUP_RE)) ms += Number(amount) * UNIT_MS[unit!]!;
  ms = Math.round(ms);
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

/**
 * `'1m30s'` → `90000` (milliseconds, rounded to a whole millisecond). Throws `SmcError('InvalidSpec')`
 * naming `field` when the text is not a duration, is zero (unless `allowZero`) or is below `min`.
 */
export function parseDuration(text: string, options: ParseDurationOptions = {}): number {
  const field = options.field ?? 'duration';
  const ms = durationMs(text);
  if (ms === undefined) {
    const tooLarge = typeof text === 'string' && DURATION_RE.test(text) && text.length <= DURATION_MAX_LENGTH;
    throw new SmcError(
      'InvalidSpec',
      tooLarge
        ? `${field}: must be at most ${formatDuration(MAX_DURATION_MS)}`
        : `${field}: must be a duration such as 30s, 1m or 1h30m (units h, m, s, ms)`,
    );
  }
  if (ms <= 0 && !options.allowZero) throw new SmcError('InvalidSpec', `${field}: must be greater than zero`);
  if (options.min !== undefined) {
    const min = typeof options.min === 'number' ? options.min : parseDuration(options.min, { field: 'min' });
    if (ms < min) {
      const shown = typeof options.min === 'string' ? options.min : formatDuration(options.min);
      throw new SmcError('InvalidSpec', `${field}: must be at least ${shown}`);
    }
  }
  return ms;
}

/** `90000` → `'1m30s'`: the inverse of `parseDuration`, for messages and status. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
