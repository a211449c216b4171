/**
 * Size caps on what the pipeline reads: key files, source files and rendered output. The
 * controller takes them from its settings (`max_source_file_bytes`, `max_key_file_bytes`,
 * `max_rendered_bytes`), msmctl from options of the same names; both default to the values below.
 */

export interface InputLimits {
  /** Any one file render reads (a secrets file, a file of a kustomize tree), and `msmctl decrypt`'s input. */
  maxSourceFileBytes: number;
  /** Any one key file (`--age-key-file`, `--gpg-key-file`) or key Secret entry. */
  maxKeyFileBytes: number;
  /** Everything one render produces: the `kustomize build` output, or all files read in raw-file mode. */
  maxRenderedBytes: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = {
  maxSourceFileBytes: 4 * 1024 * 1024,
  maxKeyFileBytes: 1024 * 1024,
  maxRenderedBytes: 64 * 1024 * 1024,
};

/** The setting and the msmctl option that raise each cap, for error messages. */
export const LIMIT_NAMES: Readonly<Record<keyof InputLimits, string>> = {
  maxSourceFileBytes: 'max_source_file_bytes (msmctl --max-source-file-bytes)',
  maxKeyFileBytes: 'max_key_file_bytes (msmctl --max-key-file-bytes)',
  maxRenderedBytes: 'max_rendered_bytes (msmctl --max-rendered-bytes)',
};

/** `limits` with the defaults filled in. */
export function inputLimits(limits?: Partial<InputLimits>): InputLimits {
  return { ...DEFAULT_INPUT_LIMITS, ...limits };
}
