/** Executable entry of `secret-manager-controller` (bin/secret-manager-controller.js runs the compiled copy). */
import { main } from './main.js';

// Exit explicitly: watches and keep-alive sockets must not hold a stopped controller open.
process.exit(await main(process.argv.slice(2)));
