import { keyringFromFiles, type SopsKeyring } from '../sops/index.js';

export interface KeyOptions {
  ageKeyFile?: string[];
  gpgKeyFile?: string[];
  /** `--max-key-file-bytes` */
  maxKeyFileBytes?: number;
}

/** The SOPS keyring from --age-key-file/--gpg-key-file and SOPS_AGE_KEY_FILE/SOPS_AGE_KEY; undefined when none. */
export async function keyringFromOptions(
  opts: KeyOptions,
  env = process.env,
): Promise<SopsKeyring | undefined> {
  const ageKeyFiles = opts.ageKeyFile ?? [];
  const gpgKeyFiles = opts.gpgKeyFile ?? [];
  if (!ageKeyFiles.length && !gpgKeyFiles.length && !env.SOPS_AGE_KEY_FILE && !env.SOPS_AGE_KEY)
    return undefined;
  return keyringFromFiles({ ageKeyFiles, gpgKeyFiles, env, maxKeyFileBytes: opts.maxKeyFileBytes });
}
