/** The files generated from the command table, by repository path (scripts/gen-cli.ts writes them). */
import { commands } from './commands/index.js';
import { helpText } from './main.js';
import { commandSpec, renderBash, renderMan, renderZsh } from './spec.js';

export function generatedCliFiles(): Record<string, string> {
  const specs = commands.map(commandSpec);
  return {
    'packaging/man/bulwark.1': renderMan({ commands, helpText: helpText() }),
    'packaging/completion/bulwark.bash': renderBash(specs),
    'packaging/completion/_bulwark': renderZsh(specs),
  };
}
