import { parseArgs } from '../args.js';
import { printJson } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';

export const pingCommand: CliCommand = {
  name: 'ping',
  summary: 'check that the daemon answers on the control socket',
  usage: 'Usage: bulwark ping [--json]\n\nExits 0 when the daemon answers, 3 when it is not reachable.',
  async run(ctx, args) {
    parseArgs(args, { command: 'ping', maxPositionals: 0 });
    const client = await ctx.control();
    const result = await client.call('ping');
    if (ctx.json) printJson(ctx.stdout, result);
    else ctx.stdout.write('pong\n');
    return EXIT.OK;
  },
};
