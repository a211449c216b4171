/** The size caps as msmctl options (`--max-source-file-bytes`, …), with the controller's defaults. */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../limits/input.js';

export interface LimitOptions {
  maxSourceFileBytes?: number;
  maxKeyFileBytes?: number;
  maxRenderedBytes?: number;
}

function bytes(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a whole number of bytes, at least 1');
  }
  return n;
}

/** Add the three cap options to `cmd`. */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option(
      '--max-source-file-bytes <n>',
      `refuse any source file larger than this (default ${DEFAULT_INPUT_LIMITS.maxSourceFileBytes})`,
      bytes,
    )
    .option(
      '--max-key-file-bytes <n>',
      `refuse any key file larger than this (default ${DEFAULT_INPUT_LIMITS.maxKeyFileBytes})`,
      bytes,
    )
    .option(
      '--max-rendered-bytes <n>',
      `refuse a render producing more than this (default ${DEFAULT_INPUT_LIMITS.maxRenderedBytes})`,
      bytes,
    );
}

/** The caps the options give (defaults for those not given). */
export function limitsFromOptions(opts: LimitOptions): InputLimits {
  return {
    maxSourceFileBytes: opts.maxSourceFileBytes ?? DEFAULT_INPUT_LIMITS.maxSourceFileBytes,
    maxKeyFileBytes: opts.maxKeyFileBytes ?? DEFAULT_INPUT_LIMITS.maxKeyFileBytes,
    maxRenderedBytes: opts.maxRenderedBytes ?? DEFAULT_INPUT_LIMITS.maxRenderedBytes,
  };
}
