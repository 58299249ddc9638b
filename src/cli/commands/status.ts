import { parseArgs } from '../args.js';
import { formatDuration, printJson, printKeyValues } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';
import { isRecord } from '../../service/protocol.js';

export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'show daemon status: version, uptime, configuration, database, counters',
  usage: [
    'Usage: bulwark status [--json]',
    '',
    'Shows the running daemon\'s version, pid, uptime, configuration file, signature database',
    'version, per-component status and counters. --json prints the daemon\'s status object as is.',
    'Exit 3 when the daemon is not reachable.',
  ].join('\n'),
  async run(ctx, args) {
    parseArgs(args, { command: 'status', maxPositionals: 0 });
    const client = await ctx.control();
    const result = await client.call('status');
    if (ctx.json) {
      printJson(ctx.stdout, result);
      return EXIT.OK;
    }
    const s = isRecord(result) ? result : {};
    const uptime = typeof s.uptimeMs === 'number' ? formatDuration(s.uptimeMs) : undefined;
    const db = isRecord(s.database) ? s.database.version : undefined;
    const comps = isRecord(s.components) ? s.components : {};
    const prot = isRecord(comps.protection) ? comps.protection : undefined;
    const fleet = isRecord(comps.fleet) ? comps.fleet : undefined;
    const protLine = prot === undefined ? undefined : prot.enabled === true ? 'on' : `off (${typeof prot.offReason === 'string' ? prot.offReason : 'disabled'})`;
    const fleetLine =
      fleet === undefined || fleet.mode !== 'fleet'
        ? 'standalone'
        : `${String(fleet.connection)} as ${String(fleet.hostId)}${Array.isArray(fleet.groups) && fleet.groups.length > 0 ? ` (groups ${fleet.groups.join(', ')})` : ''}, reconnects ${String(fleet.reconnects)}`;
    printKeyValues(ctx.stdout, [
      ['bulwark', s.version],
      ['state', s.state],
      ['pid', s.pid],
      ['uptime', uptime],
      ['config', s.configPath ?? 'built-in defaults'],
      ['socket', s.socket],
      ['state dir', s.stateDir],
      ['metrics', s.metrics],
      ['database', db ?? 'none loaded'],
      ['protection', protLine],
      ['fleet', fleetLine],
    ]);
    if (isRecord(s.counters)) {
      ctx.stdout.write('\ncounters:\n');
      printKeyValues(
        ctx.stdout,
        Object.entries(s.counters).map(([k, v]) => [`  ${k}`, v]),
      );
    }
    if (isRecord(s.components) && Object.keys(s.components).length > 0) {
      ctx.stdout.write('\ncomponents:\n');
      for (const [name, st] of Object.entries(s.components)) {
        ctx.stdout.write(`  ${name}:\n`);
        if (isRecord(st)) printKeyValues(ctx.stdout, Object.entries(st).map(([k, v]) => [`    ${k}`, v]));
      }
    }
    return EXIT.OK;
  },
};
