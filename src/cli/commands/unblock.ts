import { parseArgs, usageError } from '../args.js';
import { printJson } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';
import { cliAddress, cliConfig, daemonOrDirect, type EntryLike } from '../../blocklist/cli.js';
import { openDirectBlocklist } from '../../blocklist/direct.js';
import { entryView } from '../../service/blocklist.js';

interface Reply {
  removed: EntryLike[];
  notBlocked: string[];
  coveredBy: Record<string, string>;
}

export const unblockCommand: CliCommand = {
  name: 'unblock',
  summary: 'remove blocks: bulwark unblock ADDR|CIDR... | --all',
  usage: [
    'Usage: bulwark unblock ADDR|CIDR... [--json]',
    '       bulwark unblock --all [--json]',
    '',
    'Removes the blocks at once (kernel and state file). Addresses are matched exactly as',
    'blocked: an address inside a blocked CIDR is not unblocked on its own (the message names',
    'the CIDR to unblock instead).',
    'Exit 0 when every address was unblocked; exit 1 when some were not blocked ("not blocked:',
    'ADDR" on stderr; the others are still unblocked); exit 2 for an invalid address.',
    'When the daemon is not running the kernel and state file are changed directly.',
  ].join('\n'),
  async run(ctx, args) {
    const { flags, positionals } = parseArgs(args, { command: 'unblock', flags: { all: 'boolean' } });
    if (flags.all && positionals.length > 0) throw usageError('give addresses or --all, not both', 'unblock');
    if (!flags.all && positionals.length === 0) throw usageError('missing address (or --all)', 'unblock');
    const addresses = positionals.map((p) => cliAddress(p, 'unblock'));
    const client = await daemonOrDirect(ctx);
    let reply: Reply;
    if (client) {
      reply = (await client.call('blocklist.unblock', flags.all ? { all: true, reason: 'cli' } : { addresses, reason: 'cli' })) as Reply;
    } else {
      const svc = await openDirectBlocklist(await cliConfig(ctx));
      try {
        const r = await svc.unblockDetailed(flags.all ? 'all' : addresses, 'cli');
        const now = Date.now();
        const coveredBy: Record<string, string> = {};
        for (const a of r.notBlocked) {
          const c = svc.coveredBy(a);
          if (c) coveredBy[a] = c.address;
        }
        reply = { removed: r.removed.map((e) => entryView(e, now)), notBlocked: r.notBlocked, coveredBy };
      } finally {
        await svc.stop();
      }
    }
    if (ctx.json) printJson(ctx.stdout, reply);
    else {
      for (const e of reply.removed) ctx.stdout.write(`unblocked ${e.address}\n`);
      if (flags.all && reply.removed.length === 0) ctx.stdout.write('nothing was blocked\n');
      for (const a of reply.notBlocked) {
        const c = reply.coveredBy[a];
        ctx.stderr.write(`not blocked: ${a}${c === undefined ? '' : ` (inside the blocked ${c}: unblock that instead)`}\n`);
      }
    }
    return reply.notBlocked.length > 0 ? EXIT.FAILURE : EXIT.OK;
  },
};
