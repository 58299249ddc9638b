import { parseArgs } from '../args.js';
import { printJson, printTable } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';
import { cliConfig, daemonOrDirect, expiresIn, shortTime, type EntryLike } from '../../blocklist/cli.js';
import { listDirect } from '../../blocklist/direct.js';
import { entryView } from '../../service/blocklist.js';

export const blockedCommand: CliCommand = {
  name: 'blocked',
  summary: 'list blocked addresses (address, reason, blocked at, expires in)',
  usage: [
    'Usage: bulwark blocked [--json]',
    '',
    'Lists every blocked address or CIDR with its reason (signature), when it was blocked and',
    'how long the block has left. Asks the daemon; when it is not running, reads the kernel set',
    'and the state file directly (and says so on stderr).',
    '--json prints {"now", "entries": [{address, family, reason, signatureId, eventId, source,',
    'blockedAt, expiresAt, expiresInMs, ...}]}.',
  ].join('\n'),
  async run(ctx, args) {
    parseArgs(args, { command: 'blocked', maxPositionals: 0 });
    const client = await daemonOrDirect(ctx);
    let entries: EntryLike[];
    let now = Date.now();
    let direct = false;
    if (client) {
      const r = (await client.call('blocklist.list')) as { now: string; entries: EntryLike[]; total?: number; truncated?: boolean };
      now = Date.parse(r.now);
      entries = r.entries;
      if (r.truncated === true) ctx.stderr.write(`showing the ${entries.length} oldest of ${r.total ?? '?'} blocks\n`);
    } else {
      direct = true;
      const config = await cliConfig(ctx);
      const l = await listDirect(config);
      if (!l.tablePresent) ctx.stderr.write('table inet bulwark is not in the kernel: nothing is blocked until the daemon starts\n');
      if (l.stateProblem !== undefined) ctx.stderr.write(`state file unreadable (${l.stateProblem}); listing the kernel only\n`);
      entries = l.entries.map((e) => entryView(e, now));
    }
    if (ctx.json) {
      printJson(ctx.stdout, { now: new Date(now).toISOString(), direct, entries });
      return EXIT.OK;
    }
    if (entries.length === 0) {
      ctx.stdout.write('no blocked addresses\n');
      return EXIT.OK;
    }
    printTable(
      ctx.stdout,
      ['ADDRESS', 'REASON', 'SIGNATURE', 'SOURCE', 'BLOCKED AT', 'EXPIRES IN'],
      entries.map((e) => [e.address, e.reason, e.signatureId, e.source, shortTime(e.blockedAtMs), expiresIn(e, now)]),
    );
    return EXIT.OK;
  },
};
