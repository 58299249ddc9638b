/**
 * `bulwark events`: the EVE event file (events.file) and its rotations, filtered; a table on a
 * terminal, the JSON lines as written otherwise. Needs no daemon.
 */
import { cidrRange, parseCidr } from '../../blocklist/address.js';
import { parseDuration } from '../../config/units.js';
import { defaultConfig } from '../../config/types.js';
import { BulwarkError } from '../../errors.js';
import { parseArgs, usageError } from '../args.js';
import { EVENT_TYPES, SEVERITIES, TABLE_HEADER, eventFiles, eventRow, followEvents, matches, parseEventLine, readEvents, tableRow, type EventFilter, type EveEvent } from '../eventlog.js';
import { EXIT, type CliCommand, type CliContext } from '../types.js';

const USAGE = `Usage: bulwark events [--since DURATION|TIME] [--type TYPE]... [--src ADDRESS|CIDR] [--sid SID]...
                      [--severity low|medium|high|critical] [-n N] [--follow] [--file PATH] [--json]

Prints the events of events.file (default /var/log/bulwark/events.json) and its rotated files
(FILE.N … FILE.1, oldest first): "Network attack detected" alerts, blocklist changes, isolation
on/off/expired, and bulwark's own events (protection on/off).

  --since 1h | 30m | 2026-12-01T08:00:00Z   only events at or after that time
  --type alert|blocklist|isolation|bulwark  only these event types (repeatable)
  --src ADDRESS|CIDR   only events about this source (alerts, blocks, policy isolation)
  --sid SID            only events of this signature id (repeatable)
  --severity LEVEL     alerts of this severity or higher: low, medium, high, critical
  -n, --lines N        only the last N matching events (with --follow: default 10)
  -f, --follow         keep printing new events as they are written, across rotations (Ctrl-C ends)
  --file PATH          read this file instead of events.file
  --json               JSON lines as written by the daemon (also the default when stdout is
                       not a terminal); on a terminal a table with control characters escaped

Exit codes: 0 ok, 1 the file cannot be read, 2 usage error.`;

function parseSince(v: string, now: number): number {
  const d = parseDuration(v);
  if (d !== undefined) return now - d;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw usageError(`--since ${v}: expected a duration like 1h, 30m, 2d or a time like 2026-12-01T08:00:00Z`, 'events');
  return t;
}

export function buildFilter(flags: { since: string | undefined; type: string[]; src: string | undefined; sid: string[]; severity: string | undefined }, now: number): EventFilter {
  const f: EventFilter = {};
  if (flags.since !== undefined) f.sinceMs = parseSince(flags.since, now);
  if (flags.type.length > 0) {
    for (const t of flags.type) if (!(EVENT_TYPES as readonly string[]).includes(t)) throw usageError(`--type ${t}: expected one of ${EVENT_TYPES.join(', ')}`, 'events');
    f.types = new Set(flags.type);
  }
  if (flags.src !== undefined) {
    try {
      f.src = cidrRange(parseCidr(flags.src, { clearHostBits: true }));
    } catch (e) {
      throw usageError(`--src: ${(e as Error).message}`, 'events');
    }
  }
  if (flags.sid.length > 0) {
    f.sids = new Set(
      flags.sid.map((s) => {
        if (!/^[0-9]{1,10}$/.test(s)) throw usageError(`--sid ${s}: not a signature id`, 'events');
        return Number(s);
      }),
    );
  }
  if (flags.severity !== undefined) {
    const s = SEVERITIES.find((x) => x === flags.severity);
    if (s === undefined) throw usageError(`--severity ${flags.severity}: expected ${SEVERITIES.join(', ')}`, 'events');
    f.minSeverity = s;
  }
  return f;
}

async function run(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, {
    command: 'events',
    flags: { since: 'string', type: 'strings', src: 'string', sid: 'strings', severity: 'string', lines: 'string', follow: 'boolean', file: 'string', json: 'boolean' },
    short: { n: 'lines', f: 'follow' },
    maxPositionals: 0,
  });
  const filter = buildFilter(flags, Date.now());
  let last: number | undefined;
  if (flags.lines !== undefined) {
    if (!/^[0-9]{1,7}$/.test(flags.lines)) throw usageError('-n must be a number', 'events');
    last = Number(flags.lines);
  } else if (flags.follow) last = 10;
  const cfg = ctx.config ? await ctx.config() : defaultConfig();
  const file = flags.file ?? cfg.events.file;
  if (file === '') throw new BulwarkError('BULWARK_ERR_CONFIG', 'events.file is "" (events go only to the log): nothing to read; use --file PATH');
  const tty = (ctx.stdout as { isTTY?: boolean }).isTTY === true;
  const table = tty && !ctx.json && !flags.json;
  // JSON lines are written as the daemon wrote them (JSON already escapes control characters).
  const machine = ctx.machineStdout ?? ctx.stdout;
  const print = (e: EveEvent, line: string): void => {
    if (table) ctx.stdout.write(tableRow(eventRow(e)));
    else machine.write(line + '\n');
  };
  const files = await eventFiles(file);
  if (files.length === 0 && !flags.follow) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `${file}: no event file (is events.file right? the daemon creates it at its first event)`);
  if (table) ctx.stdout.write(tableRow(TABLE_HEADER));
  const ring: { e: EveEvent; line: string }[] = [];
  const st = await readEvents(files, filter, (e, line) => {
    if (last === undefined) print(e, line);
    else {
      ring.push({ e, line });
      if (ring.length > last) ring.shift();
    }
  });
  for (const r of ring) print(r.e, r.line);
  if (st.unparsable > 0) ctx.stderr.write(`${st.unparsable} line(s) that are not JSON events were skipped\n`);
  if (!flags.follow) return EXIT.OK;
  const ac = new AbortController();
  const stop = (): void => {
    ac.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await followEvents(
      file,
      true,
      (line) => {
        const e = parseEventLine(line);
        if (e && matches(e, filter)) print(e, line);
      },
      ac.signal,
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return EXIT.OK;
}

export const eventsCommand: CliCommand = {
  name: 'events',
  summary: 'show the event file (alerts, blocks, isolation), filtered, or follow it',
  usage: USAGE,
  run,
};
