import { parseArgs, usageError } from '../args.js';
import { printJson } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';
import { cliAddress, cliConfig, daemonOrDirect, expiresIn, type EntryLike } from '../../blocklist/cli.js';
import { openDirectBlocklist } from '../../blocklist/direct.js';
import { entryView } from '../../service/blocklist.js';
import { parseDuration } from '../../config/units.js';

type Reply = { status: 'blocked' | 'extended' | 'covered'; entry: EntryLike } | { status: 'refused'; reason: string; address: string };

export const blockCommand: CliCommand = {
  name: 'block',
  summary: 'block an address or CIDR now (default: the configured block duration)',
  usage: [
    'Usage: bulwark block ADDR|CIDR [--for DURATION] [--reason TEXT] [--json]',
    '',
    'Blocks traffic from and to the address (IPv4/IPv6, or a CIDR without host bits) in the kernel.',
    '--for     how long, e.g. 90m, 2h, 1d (default: blockDurationMs from the configuration, 1h)',
    '--reason  free text shown by `bulwark blocked` (default "blocked by operator")',
    '',
    'Already blocked: the block is extended to max(current expiry, now + duration).',
    'Inside a blocked CIDR: nothing changes ("covered by").',
    'Refused (exit 1) when the address is on the never-block list (loopback, own addresses,',
    'management, neverBlock, SSH clients). Works in alert mode too (an explicit operator request);',
    'in dry-run mode nothing is changed. Invalid address or duration: exit 2.',
    'When the daemon is not running the kernel and state file are changed directly.',
  ].join('\n'),
  async run(ctx, args) {
    const { flags, positionals } = parseArgs(args, { command: 'block', flags: { for: 'string', reason: 'string' }, minPositionals: 1, maxPositionals: 1 });
    const address = cliAddress(positionals[0]!, 'block');
    let durationMs: number | undefined;
    if (flags.for !== undefined) {
      durationMs = parseDuration(flags.for);
      if (durationMs === undefined || durationMs < 1000) throw usageError(`invalid duration "${flags.for}" (e.g. 90m, 2h, 1d; at least 1s)`, 'block');
    }
    const reason = flags.reason ?? 'blocked by operator';
    const client = await daemonOrDirect(ctx);
    let reply: Reply;
    let now = Date.now();
    if (client) {
      reply = (await client.call('blocklist.block', { address, reason, ...(durationMs === undefined ? {} : { durationMs }) })) as Reply;
    } else {
      const svc = await openDirectBlocklist(await cliConfig(ctx));
      try {
        const r = await svc.block(address, { reason, source: 'cli', ...(durationMs === undefined ? {} : { durationMs }) });
        now = Date.now();
        reply = r.status === 'refused' ? r : { status: r.status, entry: entryView(r.entry, now) };
      } finally {
        await svc.stop();
      }
    }
    if (ctx.json) printJson(ctx.stdout, reply);
    if (reply.status === 'refused') {
      const why = reply.reason === 'never-block' ? 'it is on the never-block list' : reply.reason === 'dry-run' ? 'action mode is dry-run (nothing changed)' : reply.reason;
      if (!ctx.json) ctx.stderr.write(`not blocked: ${reply.address}: ${why}\n`);
      return reply.reason === 'dry-run' ? EXIT.OK : EXIT.FAILURE;
    }
    if (!ctx.json) {
      const e = reply.entry;
      const until = `expires in ${expiresIn(e, now)} (${new Date(e.expiresAtMs).toISOString()})`;
      if (reply.status === 'blocked') ctx.stdout.write(`blocked ${e.address}, ${until}\n`);
      else if (reply.status === 'extended') ctx.stdout.write(`already blocked: ${e.address}, ${until}\n`);
      else ctx.stdout.write(`already covered by ${e.address}, ${until}\n`);
    }
    return EXIT.OK;
  },
};
