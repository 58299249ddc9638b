import { parseArgs, usageError } from '../args.js';
import { parseDuration } from '../../config/units.js';
import { parseCidr } from '../../blocklist/address.js';
import { printJson, printTable } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';
import { cliConfig, daemonOrDirect, expiresIn, shortTime, type EntryLike } from '../../blocklist/cli.js';
import { listDirect } from '../../blocklist/direct.js';
import { entryView } from '../../service/blocklist.js';

export const blockedCommand: CliCommand = {
  name: 'blocked',
  summary: 'list blocked addresses (address, reason, blocked at, expires in)',
  usage: [
    'Usage: bulwark blocked [--since DURATION] [--sort blocked|expires|address|reason] [--reverse] [--json]',
    '',
    'Lists every blocked address or CIDR with its reason (signature), when it was blocked and',
    'how long the block has left. Asks the daemon; when it is not running, reads the kernel set',
    'and the state file directly (and says so on stderr).',
    '--since 1h     only blocks made in the last hour (durations: 30m, 1h, 2d)',
    '--sort KEY     order by when blocked (default, oldest first), expiry (soonest first),',
    '               address (numeric, IPv4 before IPv6) or reason; --reverse turns it around.',
    '--json prints {"now", "entries": [{address, family, reason, signatureId, eventId, source,',
    'blockedAt, expiresAt, expiresInMs, ...}]}.',
  ].join('\n'),
  async run(ctx, args) {
    const { flags } = parseArgs(args, { command: 'blocked', flags: { since: 'string', sort: 'string', reverse: 'boolean', json: 'boolean' }, maxPositionals: 0 });
    const sinceMs = flags.since === undefined ? undefined : parseDuration(flags.since);
    if (flags.since !== undefined && sinceMs === undefined) throw usageError(`--since ${flags.since}: expected a duration like 30m, 1h, 2d`, 'blocked');
    const sortKey = flags.sort ?? 'blocked';
    if (!['blocked', 'expires', 'address', 'reason'].includes(sortKey)) throw usageError(`--sort ${sortKey}: expected blocked, expires, address or reason`, 'blocked');
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
    if (sinceMs !== undefined) entries = entries.filter((e) => e.blockedAtMs >= now - sinceMs);
    entries = sortEntries(entries, sortKey, flags.reverse);
    if (ctx.json || flags.json) {
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

function addressKey(a: string): [number, bigint] {
  try {
    const c = parseCidr(a, { clearHostBits: true });
    return [c.family, c.base];
  } catch {
    return [9, 0n];
  }
}

/** Sorted copy: by when blocked (default), expiry, address (numeric, v4 first) or reason; ties by address. */
export function sortEntries<T extends EntryLike>(entries: readonly T[], key: string, reverse: boolean): T[] {
  const byAddress = (a: T, b: T): number => {
    const [fa, na] = addressKey(a.address);
    const [fb, nb] = addressKey(b.address);
    return fa - fb || (na < nb ? -1 : na > nb ? 1 : 0);
  };
  const cmp = (a: T, b: T): number => {
    switch (key) {
      case 'expires':
        return a.expiresAtMs - b.expiresAtMs || byAddress(a, b);
      case 'address':
        return byAddress(a, b);
      case 'reason':
        return (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0) || byAddress(a, b);
      default:
        return a.blockedAtMs - b.blockedAtMs || byAddress(a, b);
    }
  };
  const out = [...entries].sort(cmp);
  return reverse ? out.reverse() : out;
}
