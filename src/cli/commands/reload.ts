import { parseArgs } from '../args.js';
import { printJson } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';

export const reloadCommand: CliCommand = {
  name: 'reload',
  summary: 'reload the configuration file (same as SIGHUP)',
  usage: [
    'Usage: bulwark reload [--json]',
    '',
    'Asks the daemon to re-read its configuration file. An invalid file is refused with the',
    'errors (file:line:column) and the daemon keeps running on the old configuration (exit 78).',
  ].join('\n'),
  async run(ctx, args) {
    parseArgs(args, { command: 'reload', maxPositionals: 0 });
    const client = await ctx.control();
    const result = await client.call('reload');
    if (ctx.json) printJson(ctx.stdout, result);
    else ctx.stdout.write('configuration reloaded\n');
    return EXIT.OK;
  },
};
