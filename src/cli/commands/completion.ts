/**
 * `msmctl completion bash|zsh|fish`: a shell completion script for the commands and options of this
 * msmctl, generated from the command definitions (so it cannot fall behind them). Commander has no
 * completion of its own; the scripts are small enough that a library would add more than it saves.
 * Completes command names after `msmctl` and each command's long options after it.
 */
import type { Command } from 'commander';
import { EXIT_ERROR } from './common.js';
import { CliExit } from '../kube.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface CommandInfo {
  names: string[];
  description: string;
  options: string[];
}

function commandsOf(program: Command): CommandInfo[] {
  return program.commands.map((c) => ({
    names: [c.name(), ...c.aliases()],
    description: c.description().split('\n')[0] ?? '',
    options: [...c.options.map((o) => o.long).filter((o): o is string => !!o), '--help'],
  }));
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(cmds: CommandInfo[]): string {
  const cases = cmds.map((c) => `    ${c.names.join('|')}) opts=${quote(c.options.join(' '))} ;;`).join('\n');
  return `# msmctl completion for bash: source <(msmctl completion bash)
_msmctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${quote(cmds.flatMap((c) => c.names).join(' '))} -- "$cur"))
    return
  fi
  local opts=''
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _msmctl msmctl kubectl-smc
`;
}

function zsh(cmds: CommandInfo[]): string {
  const described = cmds
    .flatMap((c) => c.names.map((n) => quote(`${n}:${c.description.replace(/:/g, '\\:')}`)))
    .join(' ');
  const cases = cmds
    .map((c) => `    ${c.names.join('|')}) _values option ${c.options.map(quote).join(' ')} ;;`)
    .join('\n');
  return `#compdef msmctl kubectl-smc
# msmctl completion for zsh: source <(msmctl completion zsh)
_msmctl() {
  if (( CURRENT == 2 )); then
    local -a cmds=(${described})
    _describe command cmds
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef _msmctl msmctl kubectl-smc
`;
}

function fish(cmds: CommandInfo[]): string {
  const lines = ['# msmctl completion for fish: msmctl completion fish | source', 'complete -c msmctl -f'];
  for (const c of cmds) {
    for (const n of c.names)
      lines.push(`complete -c msmctl -n __fish_use_subcommand -a ${quote(n)} -d ${quote(c.description)}`);
    for (const o of c.options)
      lines.push(
        `complete -c msmctl -n ${quote(`__fish_seen_subcommand_from ${c.names.join(' ')}`)} -l ${o.slice(2)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: bash, zsh or fish')
    .argument('<shell>', SHELLS.join(' | '))
    .action((shell: string) => {
      if (!SHELLS.includes(shell as Shell))
        throw new CliExit(EXIT_ERROR, `completion: unknown shell "${shell}" (bash, zsh or fish)`);
      const cmds = commandsOf(program);
      const script = { bash, zsh, fish }[shell as Shell](cmds);
      process.stdout.write(script);
    });
}
