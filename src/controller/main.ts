/** The controller process. For now it only reports its version; reconciling arrives with the controller issue. */
import { VERSION } from '../version.js';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: secret-manager-controller [--version]\n');
    return 0;
  }
  process.stdout.write(`secret-manager-controller ${VERSION}\n`);
  return 0;
}
