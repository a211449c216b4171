/** Executable entry of `msmctl` (bin/msmctl.js runs the compiled copy of this file). */
import { removeTempDirsOnSignals, sweepStaleTempDirs } from '../private-tmp.js';
import { main } from './main.js';

// Plaintext temporary directories (decrypted kustomize copies, Git credential helpers) are removed
// on SIGINT/SIGTERM, and those of earlier runs that were killed outright are swept now.
removeTempDirsOnSignals();
await sweepStaleTempDirs().catch(() => undefined);
process.exitCode = await main(process.argv.slice(2));
