/** `msmctl`: a thin command-line driver over the pipeline. Each command lives in ./commands. */
import { Command, CommanderError } from 'commander';
import { escapeControlCharacters } from '../control-characters.js';
import { isSmcError } from '../errors.js';
import { VERSION } from '../version.js';
import { EXIT_ERROR } from './commands/common.js';
import { registerCheck } from './commands/check.js';
import { registerCompletion } from './commands/completion.js';
import { registerDecrypt } from './commands/decrypt.js';
import { registerDiff } from './commands/diff.js';
import { registerInstall } from './commands/install.js';
import { registerList } from './commands/list.js';
import { registerReconcile } from './commands/reconcile.js';
import { registerReloader } from './commands/reloader.js';
import { registerRender } from './commands/render.js';
import { registerStatus } from './commands/status.js';
import { registerSuspend } from './commands/suspend.js';
import { registerSync } from './commands/sync.js';
import { CliExit } from './kube.js';
import { writeLines } from './output.js';

export function buildProgram(): Command {
  const program = new Command('msmctl')
    .description('Secret Manager Controller CLI: sync SOPS-encrypted GitOps secrets to secret stores')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(escapeCommanderError(text)) })
    .exitOverride();
  registerSync(program);
  registerRender(program);
  registerDecrypt(program);
  registerReloader(program);
  registerDiff(program);
  // Cluster commands (current kubeconfig context).
  registerList(program);
  registerStatus(program);
  registerReconcile(program);
  registerSuspend(program);
  registerInstall(program);
  registerCheck(program);
  registerCompletion(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_ERROR;
    if (e instanceof CliExit) {
      writeLines(process.stderr, `msmctl: ${e.message}`);
      return e.exitCode;
    }
    writeLines(process.stderr, `msmctl: error: ${describeError(e)}`);
    return EXIT_ERROR;
  }
}

/**
 * Our own errors and the system's (ENOENT, EACCES…) are shown in full: their messages carry no
 * values. Anything else could quote input (a parser echoing a line), so only its type is shown
 * unless MSMCTL_DEBUG is set.
 */
function describeError(e: unknown): string {
  if (isSmcError(e)) return `${e.code}: ${e.message}`;
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e.message;
  if (process.env.MSMCTL_DEBUG) return e instanceof Error ? (e.stack ?? e.message) : String(e);
  return `unexpected ${e instanceof Error ? e.name : typeof e}; set MSMCTL_DEBUG=1 to see details (they may include input text)`;
}

/**
 * Commander's own errors quote command-line values (`argument '…' is invalid`): escape them like
 * every other line. Its only multi-line message is a suggestion of known names, kept on its line.
 */
function escapeCommanderError(text: string): string {
  const suggestion = /\n\(Did you mean [^\n]*\?\)\n?$/.exec(text);
  const message = (suggestion ? text.slice(0, suggestion.index) : text).replace(/\n$/, '');
  return `${escapeControlCharacters(message)}${suggestion ? suggestion[0].replace(/\n?$/, '') : ''}\n`;
}
