import { type Command, Option } from 'commander';
import { isSmcError, SmcError } from '../../errors.js';
import { readFileCapped } from '../../limits/read.js';
import { decryptSops, formatFromPath, type SopsFormat } from '../../sops/index.js';
import { addKmsOptions, keyringFromOptions, type KeyOptions } from '../keys.js';
import { addLimitOptions, type LimitOptions, limitsFromOptions } from '../limit-options.js';
import { collect } from './common.js';

const SOPS_FORMATS: readonly SopsFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

interface DecryptOptions extends KeyOptions, LimitOptions {
  inputType?: SopsFormat;
  ignoreMac?: boolean;
}

export function registerDecrypt(program: Command): void {
  const cmd = program
    .command('decrypt')
    .description(
      'decrypt a SOPS file and print it in its own format, as `sops -d` does (no sops binary needed)',
    )
    .argument('<file>', 'SOPS-encrypted file')
    .option(
      '--age-key-file <file>',
      'age identity file (repeatable; also SOPS_AGE_KEY_FILE / SOPS_AGE_KEY)',
      collect,
      [],
    )
    .option('--gpg-key-file <file>', 'ASCII-armoured PGP private key file (repeatable)', collect, [])
    .addOption(
      new Option('--input-type <format>', 'file format (default: from the file name)').choices(SOPS_FORMATS),
    )
    .option('--ignore-mac', 'do not verify the MAC (dangerous: accepts a tampered file)');
  addLimitOptions(addKmsOptions(cmd)).action(async (file: string, opts: DecryptOptions) => {
    const keyring = await keyringFromOptions(opts);
    const { maxSourceFileBytes } = limitsFromOptions(opts);
    const content = await readFileCapped(file, maxSourceFileBytes, 'maxSourceFileBytes').catch(
      (e: unknown) => {
        if (isSmcError(e)) throw e;
        throw new SmcError('SourceNotFound', `${file}: cannot read file`);
      },
    );
    const plaintext = await decryptSops(content, {
      format: opts.inputType ?? formatFromPath(file),
      keyring,
      fileName: file,
      ignoreMac: opts.ignoreMac,
    });
    process.stdout.write(plaintext);
  });
}
