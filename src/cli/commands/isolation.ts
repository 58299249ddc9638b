/**
 * `bulwark isolation on|off|status|exclusions …`. `off` and `status` also work when the daemon is
 * not running: they act on nft and the state file directly and say so.
 */
import { createNft } from '../../blocklist/nft.js';
import { systemClock } from '../../clock.js';
import { defaultConfig, type Config } from '../../config/types.js';
import { BulwarkError, isBulwarkError } from '../../errors.js';
import { parseIsolationDuration } from '../../isolation/deadline.js';
import { formatLeft, timeLeftMs } from '../../isolation/deadline.js';
import { liftOffline, readKernelView } from '../../isolation/kernel-io.js';
import { ISOLATED_TAG } from '../../isolation/report.js';
import { readState } from '../../isolation/state.js';
import { isRecord } from '../../service/protocol.js';
import { parseArgs, usageError } from '../args.js';
import { printJson, printKeyValues, printTable } from '../output.js';
import { EXIT, type CliCommand, type CliContext, type ExitCode } from '../types.js';

const USAGE = [
  'Usage:',
  '  bulwark isolation on [--for DURATION] [--reason TEXT]',
  '  bulwark isolation off',
  '  bulwark isolation status [--json]',
  '  bulwark isolation exclusions [--json]',
  '  bulwark isolation exclusions add --direction inbound|outbound|both [--protocol tcp|udp|icmp|any]',
  '                                   [--remote ADDRESS|CIDR] [--local-ports PORTS] [--remote-ports PORTS]',
  '                                   [--description TEXT] [--inactive]',
  '  bulwark isolation exclusions add --direction inbound|outbound|both',
  '                                   --unit NAME.service | --cgroup PATH | --executable PATH|NAME',
  '                                   [--description TEXT] [--inactive]',
  '  bulwark isolation exclusions add --direction outbound --user NAME|UID | --group NAME|GID',
  '  bulwark isolation exclusions edit ID [same flags as add; --active/--inactive]',
  '  bulwark isolation exclusions remove|enable|disable ID',
  '',
  'on        isolate the host now: every new TCP/UDP/ICMP connection in, out and forwarded is',
  '          dropped except loopback, IPv6 neighbour discovery, management endpoints, the daemon\'s',
  '          own connections and the device exclusions; established connections are cut.',
  '          --for 90m|8h|1d overrides the configured length (default 8h; 5h when autoEnd is off).',
  'off       end isolation. Works without the daemon (acts on nft and the state file directly).',
  'status    ISOLATED FROM NETWORK tag, mode, reason, start, end, time left, connections severed,',
  '          and whether the kernel matches (read back with nft -j).',
  'exclusions  the effective exclusions (from the kernel while isolated) or the lists;',
  '          add/edit/remove/enable/disable manage the device list (manual isolation only).',
  '          ID: a number for a custom exclusion, PROFILE/N for a profile rule (editing one',
  '          creates a custom copy; disable switches it off on this device).',
  '          PORTS: "any" or a list like "22,8000-8010". At most 50 inbound and 50 outbound.',
  '          Process exclusions (one of --unit, --cgroup, --user, --group, --executable) cover all',
  '          the process\'s traffic in their direction; users and groups are outbound only.',
  '',
  'Exit codes: 0 ok, 1 failure, 2 usage error, 3 daemon not reachable (on, exclusions changes).',
].join('\n');

async function configOf(ctx: CliContext): Promise<Config> {
  return ctx.config ? ctx.config() : defaultConfig();
}

function unreachable(e: unknown): boolean {
  return isBulwarkError(e, 'BULWARK_ERR_UNREACHABLE');
}

function printStatus(ctx: CliContext, s: Record<string, unknown>, offline: boolean): void {
  const out = ctx.stdout;
  if (offline) out.write('(daemon not running: read from the state file and the kernel)\n');
  if (s.isolated !== true) {
    out.write('not isolated\n');
    const k = isRecord(s.kernel) ? s.kernel : {};
    if (Array.isArray(k.problems) && k.problems.length > 0) out.write(`kernel: ${k.problems.join('; ')}\n`);
    if (isRecord(s.last)) {
      printKeyValues(out, [
        ['last isolation', `${String(s.last.mode)} (${String(s.last.reason)})`],
        ['started', s.last.startedAt],
        ['ended', s.last.endedAt],
        ['ended by', s.last.endedBy],
      ]);
    }
    return;
  }
  out.write(`${ISOLATED_TAG}\n`);
  const k = isRecord(s.kernel) ? s.kernel : {};
  const ev = isRecord(s.event) ? `${String(s.event.signature)} (sid ${String(s.event.signatureId)}, event ${String(s.event.eventId)}, from ${String(s.event.srcIp)})` : undefined;
  printKeyValues(out, [
    ['mode', s.mode],
    ['reason', s.reason],
    ...(ev ? ([['event', ev]] as [string, unknown][]) : []),
    ['started', s.startedAt],
    ['ends at', s.endsAt],
    ['time left', s.timeLeft],
    ['severed', `${String(s.severed)} connections`],
    ['exclusions', s.exclusions],
    ['kernel', k.matches === true ? `in force, matches the state (deadline in the kernel: ${String(k.secondsLeft)}s)` : `MISMATCH: ${Array.isArray(k.problems) ? k.problems.join('; ') : '?'}`],
  ]);
  const agent = isRecord(s.agent) ? s.agent : undefined;
  if (agent) out.write(`daemon's own flows: ${agent.match === 'cgroup' ? `cgroup ${String(agent.cgroup)} (id ${String(agent.cgroupId)})` : agent.match === 'none' ? 'not exempt (no cgroup; runs as root:root)' : `${String(agent.match)} ${String(agent.id)}`}\n`);
  const procs = Array.isArray(s.processExclusions) ? (s.processExclusions as Record<string, unknown>[]) : [];
  if (procs.length > 0) {
    out.write('process exclusions:\n');
    printTable(
      out,
      ['ID', 'DIRECTION', 'PROCESS', 'STATE', 'RESOLVED TO'],
      procs.map((p) => [p.id, p.direction, p.summary, p.state, resolvedText(p)]),
    );
  }
  if (Array.isArray(s.warnings)) for (const w of s.warnings) out.write(`warning: ${String(w)}\n`);
}

/** "cgroup /a/b (id 1234)", "uid 33", "pids 10,11 in cgroup /x/bulwark-excluded (id 99)". */
function resolvedText(p: Record<string, unknown>): string {
  const parts = (Array.isArray(p.resolved) ? (p.resolved as Record<string, unknown>[]) : []).map((r) =>
    typeof r.cgroup === 'string' ? `cgroup ${r.cgroup} (id ${String(r.cgroupId)})` : typeof r.uid === 'number' ? `uid ${r.uid}` : `gid ${String(r.gid)}`,
  );
  const pids = Array.isArray(p.pids) && p.pids.length > 0 ? `pids ${p.pids.map(String).join(',')}: ` : '';
  if (parts.length === 0) return `${pids}nothing yet${typeof p.cgroup === 'string' ? ` (waiting for ${p.cgroup})` : ''}`;
  return pids + parts.join(', ');
}

async function offlineStatus(ctx: CliContext): Promise<Record<string, unknown>> {
  const cfg = await configOf(ctx);
  const st = await readState(cfg.stateDir);
  const view = await readKernelView(createNft());
  const inKernel = view.on.ipv4 !== undefined || view.on.ipv6 !== undefined;
  const now = systemClock.now();
  if (st?.active && st.endsAtMs > now) {
    const left = timeLeftMs(st.endsAtMs, now);
    const problems = inKernel ? [] : ['the kernel holds no isolation deadline (the daemon re-applies it when it starts)'];
    return {
      isolated: true,
      daemonRunning: false,
      tag: ISOLATED_TAG,
      mode: st.mode,
      reason: st.reason,
      ...(st.event ? { event: st.event } : {}),
      startedAt: new Date(st.startedAtMs).toISOString(),
      endsAt: new Date(st.endsAtMs).toISOString(),
      timeLeftMs: left,
      timeLeft: formatLeft(left),
      severed: st.severed,
      exclusions: (st.rules ?? []).length,
      kernel: { matches: inKernel && view.dropRules.iso_in && view.dropRules.iso_out, problems, read: true, ...(view.on.ipv4 !== undefined ? { secondsLeft: view.on.ipv4 } : {}) },
      warnings: [],
    };
  }
  return {
    isolated: false,
    daemonRunning: false,
    kernel: { matches: !inKernel, problems: inKernel ? ['the kernel still holds an isolation deadline'] : [], read: true },
    ...(st ? { last: { mode: st.mode, reason: st.reason, startedAt: new Date(st.startedAtMs).toISOString(), endedAt: st.endedAtMs ? new Date(st.endedAtMs).toISOString() : undefined, endedBy: st.endedBy } } : {}),
  };
}

const RULE_FLAGS = {
  direction: 'string',
  protocol: 'string',
  remote: 'string',
  'local-ports': 'string',
  'remote-ports': 'string',
  description: 'string',
  unit: 'string',
  cgroup: 'string',
  user: 'string',
  group: 'string',
  executable: 'string',
  inactive: 'boolean',
  active: 'boolean',
} as const;

type ProcessFlags = Partial<Record<'unit' | 'cgroup' | 'user' | 'group' | 'executable', string | undefined>>;

function ruleFromFlags(flags: { direction?: string | undefined; protocol?: string | undefined; remote?: string | undefined; 'local-ports'?: string | undefined; 'remote-ports'?: string | undefined; description?: string | undefined; inactive: boolean; active: boolean } & ProcessFlags): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const k of ['unit', 'cgroup', 'user', 'group', 'executable'] as const) if (flags[k] !== undefined) r[k] = flags[k];
  if (flags.direction !== undefined) r.direction = flags.direction;
  if (flags.protocol !== undefined) r.protocol = flags.protocol;
  if (flags.remote !== undefined) r.remoteAddress = flags.remote;
  if (flags['local-ports'] !== undefined) r.localPorts = flags['local-ports'];
  if (flags['remote-ports'] !== undefined) r.remotePorts = flags['remote-ports'];
  if (flags.description !== undefined) r.description = flags.description;
  if (flags.inactive && flags.active) throw usageError('--active and --inactive together', 'isolation');
  if (flags.inactive) r.status = 'inactive';
  if (flags.active) r.status = 'active';
  return r;
}

const PROCESS_KEYS = ['unit', 'cgroup', 'user', 'group', 'executable'] as const;

/** REMOTE column: the process selector of a process exclusion, else the remote address. */
function remoteOrProcess(e: Record<string, unknown>, remoteKey: 'remote' | 'remoteAddress'): string {
  const p = isRecord(e.process) ? e.process : undefined;
  if (p) return `(${String(p.kind)} ${String(p.value)})`;
  for (const k of PROCESS_KEYS) if (typeof e[k] === 'string') return `(${k} ${e[k]})`;
  return remoteText(e[remoteKey]);
}

function remoteText(v: unknown): string {
  if (v === 'any' || v === undefined) return 'any';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : '?')).join(',');
  return typeof v === 'string' ? v : '?';
}

function portText(v: unknown): string {
  if (v === 'any' || v === undefined) return 'any';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((r: { from: number; to: number }) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
  return '?';
}

function printExclusions(ctx: CliContext, r: Record<string, unknown>): void {
  const out = ctx.stdout;
  if (r.isolated === true) {
    out.write(`${ISOLATED_TAG} (${String(r.mode)}): exclusions in force (${String(r.scope)} scope), ${r.kernelMatches === true ? 'kernel sets match' : `KERNEL MISMATCH: ${Array.isArray(r.kernelProblems) ? r.kernelProblems.join('; ') : ''}`}\n`);
    const list = Array.isArray(r.exclusions) ? (r.exclusions as Record<string, unknown>[]) : [];
    printTable(
      out,
      ['ID', 'DIRECTION', 'PROTOCOL', 'REMOTE', 'LOCAL PORTS', 'REMOTE PORTS', 'DESCRIPTION'],
      list.map((e) => [e.id, e.direction, e.protocol, remoteOrProcess(e, 'remote'), portText(e.localPorts), portText(e.remotePorts), e.description]),
    );
    return;
  }
  out.write('not isolated. Device exclusions (manual isolation):\n');
  const dev = Array.isArray(r.device) ? (r.device as Record<string, unknown>[]) : [];
  if (dev.length === 0) out.write('  (none)\n');
  else printTable(out, ['ID', 'STATUS', 'DIRECTION', 'PROTOCOL', 'REMOTE', 'LOCAL PORTS', 'REMOTE PORTS', 'DESCRIPTION'], dev.map((e) => [e.id, e.status, e.direction, e.protocol, remoteOrProcess(e, 'remoteAddress'), e.localPorts, e.remotePorts, typeof e.fromProfile === 'string' ? `${String(e.description)} (from ${e.fromProfile})` : e.description]));
  const pol = Array.isArray(r.policy) ? (r.policy as Record<string, unknown>[]) : [];
  out.write(`\nPolicy exclusions (automatic isolation, from the configuration): ${pol.length === 0 ? '(none)' : ''}\n`);
  if (pol.length > 0) printTable(out, ['#', 'STATUS', 'DIRECTION', 'PROTOCOL', 'REMOTE', 'LOCAL PORTS', 'REMOTE PORTS', 'DESCRIPTION'], pol.map((e, i) => [i + 1, e.status, e.direction, e.protocol, remoteOrProcess(e, 'remoteAddress'), e.localPorts, e.remotePorts, e.description]));
  const suppressed = new Set(Array.isArray(r.suppressedProfileRules) ? (r.suppressedProfileRules as string[]) : []);
  out.write('\nNetwork profiles (read-only):\n');
  const profiles = Array.isArray(r.profileRules) ? (r.profileRules as Record<string, unknown>[]) : [];
  const rows: unknown[][] = [];
  for (const p of profiles) {
    for (const rule of Array.isArray(p.rules) ? (p.rules as Record<string, unknown>[]) : []) {
      const id = String(rule.id);
      const state = p.inForce !== true ? 'not in force' : suppressed.has(id) ? 'off on device' : 'in force';
      rows.push([id, state, rule.direction, rule.protocol, remoteText(rule.remoteAddress), rule.localPorts, rule.remotePorts, rule.description]);
    }
  }
  printTable(out, ['ID', 'STATE', 'DIRECTION', 'PROTOCOL', 'REMOTE', 'LOCAL PORTS', 'REMOTE PORTS', 'DESCRIPTION'], rows);
}

async function exclusions(ctx: CliContext, args: string[]): Promise<ExitCode> {
  const sub = args[0];
  if (sub === undefined || sub.startsWith('-')) {
    parseArgs(args, { command: 'isolation', maxPositionals: 0 });
    const r = await (await ctx.control()).call('isolation.exclusions.list');
    if (ctx.json) printJson(ctx.stdout, r);
    else printExclusions(ctx, isRecord(r) ? r : {});
    return EXIT.OK;
  }
  const rest = args.slice(1);
  let result: unknown;
  switch (sub) {
    case 'add': {
      const p = parseArgs(rest, { command: 'isolation', flags: RULE_FLAGS, maxPositionals: 0 });
      if (p.flags.direction === undefined) throw usageError('exclusions add needs --direction inbound|outbound|both', 'isolation');
      result = await (await ctx.control()).call('isolation.exclusions.add', { rule: ruleFromFlags(p.flags) });
      break;
    }
    case 'edit': {
      const p = parseArgs(rest, { command: 'isolation', flags: RULE_FLAGS, minPositionals: 1, maxPositionals: 1 });
      const rule = ruleFromFlags(p.flags);
      if (Object.keys(rule).length === 0) throw usageError('exclusions edit: nothing to change (give at least one flag)', 'isolation');
      result = await (await ctx.control()).call('isolation.exclusions.edit', { id: p.positionals[0], rule });
      break;
    }
    case 'remove':
    case 'enable':
    case 'disable': {
      const p = parseArgs(rest, { command: 'isolation', minPositionals: 1, maxPositionals: 1 });
      result = await (await ctx.control()).call(`isolation.exclusions.${sub}`, { id: p.positionals[0] });
      break;
    }
    default:
      throw usageError(`unknown exclusions action "${sub}" (add, edit, remove, enable, disable)`, 'isolation');
  }
  if (ctx.json) printJson(ctx.stdout, result);
  else {
    const r = isRecord(result) ? result : {};
    const what = r.added ?? r.edited ?? r.removed;
    const verb = r.added ? 'added' : r.edited ? (r.createdFromProfile === true ? 'created custom exclusion from profile rule' : 'edited') : r.removed ? 'removed' : `${sub}d`;
    const id = isRecord(what) ? what.id : r.ref;
    ctx.stdout.write(`${verb} ${String(id)}${r.appliedNow === true ? ' (applied to the isolation in force)' : ''}\n`);
  }
  return EXIT.OK;
}

export const isolationCommand: CliCommand = {
  name: 'isolation',
  summary: 'isolate the host from the network, end isolation, status, exclusions',
  usage: USAGE,
  async run(ctx, args) {
    const sub = args[0];
    const rest = args.slice(1);
    switch (sub) {
      case 'on': {
        const p = parseArgs(rest, { command: 'isolation', flags: { for: 'string', reason: 'string' }, maxPositionals: 0 });
        const callArgs: Record<string, unknown> = {};
        if (p.flags.for !== undefined) {
          try {
            parseIsolationDuration(p.flags.for);
          } catch (e) {
            throw usageError(`--for: ${(e as Error).message}`, 'isolation');
          }
          callArgs.for = p.flags.for;
        }
        if (p.flags.reason !== undefined) callArgs.reason = p.flags.reason;
        const r = await (await ctx.control()).call('isolation.on', callArgs);
        if (ctx.json) printJson(ctx.stdout, r);
        else printStatus(ctx, isRecord(r) ? r : {}, false);
        return EXIT.OK;
      }
      case 'off': {
        parseArgs(rest, { command: 'isolation', maxPositionals: 0 });
        let r: Record<string, unknown>;
        try {
          const res = await (await ctx.control()).call('isolation.off');
          r = { ...(isRecord(res) ? res : {}), daemonRunning: true };
        } catch (e) {
          if (!unreachable(e)) throw e;
          const cfg = await configOf(ctx);
          const off = await liftOffline(createNft(), cfg.stateDir, systemClock);
          r = { wasActive: off.wasActive, daemonRunning: false };
        }
        if (ctx.json) printJson(ctx.stdout, r);
        else {
          if (r.daemonRunning === false) ctx.stdout.write('daemon not running: isolation rules removed directly from the kernel (state file updated)\n');
          ctx.stdout.write(r.wasActive === true ? 'isolation ended\n' : 'was not isolated (kernel rules cleared anyway)\n');
        }
        return EXIT.OK;
      }
      case 'status': {
        parseArgs(rest, { command: 'isolation', maxPositionals: 0 });
        let r: Record<string, unknown>;
        let offline = false;
        try {
          const res = await (await ctx.control()).call('isolation.status');
          r = isRecord(res) ? res : {};
        } catch (e) {
          if (!unreachable(e)) throw e;
          offline = true;
          r = await offlineStatus(ctx);
        }
        if (ctx.json) printJson(ctx.stdout, r);
        else printStatus(ctx, r, offline);
        return EXIT.OK;
      }
      case 'exclusions':
        return exclusions(ctx, rest);
      case undefined:
        throw usageError('missing action (on, off, status, exclusions)', 'isolation');
      default:
        throw new BulwarkError('BULWARK_ERR_USAGE', `unknown isolation action "${sub}" (on, off, status, exclusions) (see \`bulwark isolation --help\`)`);
    }
  },
};
