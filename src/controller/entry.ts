/** Executable entry of `secret-manager-controller` (bin/secret-manager-controller.js runs the compiled copy). */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
