/** `bulwark completion bash|zsh`: shell completion generated from the command table (src/cli/spec.ts). */
import { parseArgs, usageError } from '../args.js';
import { commandSpec, renderBash, renderZsh } from '../spec.js';
import { EXIT, type CliCommand } from '../types.js';
import { commands } from './index.js';

export const completionCommand: CliCommand = {
  name: 'completion',
  summary: 'print the bash or zsh completion script',
  usage: [
    'Usage: bulwark completion bash|zsh',
    '',
    'Prints a completion script for every command, subcommand, flag and flag value, generated',
    'from the command table (the same one --help prints). Use it in place:',
    '  eval "$(bulwark completion bash)"         # ~/.bashrc',
    '  source <(bulwark completion zsh)          # ~/.zshrc',
    'or install the shipped copies: packaging/completion/bulwark.bash as',
    '/usr/share/bash-completion/completions/bulwark, packaging/completion/_bulwark into $fpath.',
  ].join('\n'),
  run(ctx, args) {
    const { positionals } = parseArgs(args, { command: 'completion', minPositionals: 1, maxPositionals: 1 });
    const specs = commands.map(commandSpec);
    if (positionals[0] === 'bash') ctx.stdout.write(renderBash(specs));
    else if (positionals[0] === 'zsh') ctx.stdout.write(renderZsh(specs));
    else throw usageError(`unknown shell "${positionals[0] ?? ''}" (bash, zsh)`, 'completion');
    return Promise.resolve(EXIT.OK);
  },
};
