import { parseArgs, usageError } from '../args.js';
import { printJson, printKeyValues } from '../output.js';
import { EXIT, type CliCommand } from '../types.js';

interface ProtectionStatus {
  enabled: boolean;
  interfaces: string[];
  lastChange?: { at: string; reason: string };
  ruleset: { version: string; signatures: number; ports: number } | null;
  intercept: { intercepted: number[]; passive: number[]; excluded: number[]; connections: number };
  connectionsReset: number;
  attackerConnectionsSevered: number;
  engine: { packets: number; bytes: number; flowsActive: number } | null;
  captureErrors: Record<string, string>;
}

export const protectionCommand: CliCommand = {
  name: 'protection',
  summary: 'Network Threat Protection: on, off, status',
  usage: [
    'Usage: bulwark protection on|off|status [--json]',
    '',
    '  on      enable inspection: capture, interception of the databases\' ports, reset of existing',
    '          connections on intercepted ports, blocking of attackers',
    '  off     disable it (existing blocks stay until they expire or are unblocked)',
    '  status  show state, interfaces, intercepted and passively inspected ports, counters',
    '',
    'The setting made here lasts until the daemon restarts or the config is reloaded with a',
    'different protection.enabled.',
  ].join('\n'),
  async run(ctx, args) {
    const { positionals } = parseArgs(args, { command: 'protection', minPositionals: 1, maxPositionals: 1 });
    const sub = positionals[0];
    if (sub !== 'on' && sub !== 'off' && sub !== 'status') throw usageError(`unknown subcommand ${JSON.stringify(sub)}`, 'protection');
    const client = await ctx.control();
    const st = (await client.call(`protection.${sub}`)) as ProtectionStatus;
    if (ctx.json) {
      printJson(ctx.stdout, st);
      return EXIT.OK;
    }
    printKeyValues(ctx.stdout, [
      ['protection', st.enabled ? 'enabled' : 'disabled'],
      ['since', st.lastChange ? `${st.lastChange.at} (${st.lastChange.reason})` : undefined],
      ['database', st.ruleset ? `${st.ruleset.version}, ${st.ruleset.signatures} signatures, ${st.ruleset.ports} ports` : undefined],
      ['interfaces', st.interfaces.join(', ')],
      ['intercepted ports', st.intercept.intercepted.join(', ')],
      ['inspected passively', st.intercept.passive.join(', ')],
      ['excluded ports', st.intercept.excluded.join(', ')],
      ['listener connections', st.intercept.connections],
      ['connections reset', st.connectionsReset],
      ['attacker connections severed', st.attackerConnectionsSevered],
      ['packets inspected', st.engine?.packets],
      ['active flows', st.engine?.flowsActive],
      ['capture errors', Object.keys(st.captureErrors).length > 0 ? st.captureErrors : undefined],
    ]);
    return EXIT.OK;
  },
};
