/**
 * `bulwark fleet …`: the operator side of fleet mode. Talks to NATS directly (not to a local
 * daemon), so it works from any machine whose config has a `fleet` section with operator
 * credentials and, for changes, fleet.signingKey. docs/cli.md "fleet", docs/fleet.md.
 */
import { createUser } from '@nats-io/nkeys';
import { parse as parseYaml } from 'yaml';
import { systemClock } from '../../clock.js';
import type { FleetConfig } from '../../config/types.js';
import { parseDuration } from '../../config/units.js';
import { BulwarkError, errorMessage } from '../../errors.js';
import { checkFleetSecurity, connectOptions, NatsFleetConnection } from '../../fleet/nats.js';
import { getPolicy, listHosts, listSharedBlocks, sendOrder, unblockEverywhere, updatePolicy, type OperatorDeps } from '../../fleet/operator.js';
import { renderServerConfig, type HostUser } from '../../fleet/server-config.js';
import { signerFromFile } from '../../fleet/sign.js';
import { KV_HOSTS, KV_POLICY, STREAM_DECISIONS, STREAM_EVENTS, STREAM_ORDERS, type OrderAck, type OrderKind } from '../../fleet/types.js';
import { formatHuman } from '../../config/units.js';
import { parseArgs, usageError } from '../args.js';
import { printJson, printKeyValues, printTable } from '../output.js';
import { EXIT, type CliCommand, type CliContext, type ExitCode } from '../types.js';

const USAGE = [
  'Usage: bulwark fleet SUBCOMMAND [ARGS] [--json]',
  '',
  'Operator commands (NATS, from any machine with operator credentials; --config names a file with',
  'a `fleet` section: servers, tls, credentials or nkey, and signingKey for commands that change things):',
  '  hosts [--isolated]              the fleet view: id, name, groups, version, protection, blocks,',
  '                                  isolation tag and deadline, last seen',
  '  blocked                         blocks shared in the fleet and in force',
  '  unblock ADDR [--wait 5s]        unblock everywhere; lists each host\'s acknowledgement',
  '  isolate HOST [--for 8h] [--reason TEXT] [--wait 10s] [--valid 10m]',
  '                                  isolate one host (signed order; acknowledged with the kernel state)',
  '  release HOST [--wait 10s]       end a host\'s isolation',
  '  exclusions HOST list|add|edit|remove|enable|disable [ID] [--rule JSON]',
  '                                  device-scope isolation exclusions of one host',
  '  policy get KEY                  KEY: fleet, group.NAME or host.ID',
  '  policy set KEY SETTING=VALUE... (VALUE is YAML: true, 2h, [a, b]; "SETTING=" removes it)',
  '  policy lock|unlock KEY SETTING...',
  '                                  settings: protection, action, blockDuration, neverBlock,',
  '                                  isolationDuration, profiles, exclusions, isolationPolicy, share',
  '  streams                         streams and buckets with replicas and leader',
  '  setup [--replicas 3] [--max-block 30d] [--events-max-age 7d] [--events-max-bytes 1073741824]',
  '                                  create or update the streams and buckets',
  'Local commands (no server):',
  '  keygen                          a new nkey pair (seed SU…, public key U…) for a host or an operator',
  '  server-config --name N --listen H:P --store DIR [--http H:P] [--cluster-name C --cluster-listen H:P',
  '                --route URL...] [--tls-cert F --tls-key F [--tls-ca F]] --host ID=UKEY[:GROUP,...]...',
  '                --operator UKEY...',
  '                                  an example nats-server config with per-host permissions',
  '',
  'Exit codes: 0 ok, 1 failure or a host did not acknowledge in time, 2 usage, 78 configuration.',
].join('\n');

async function fleetConfig(ctx: CliContext): Promise<FleetConfig> {
  if (!ctx.config) throw new BulwarkError('BULWARK_ERR_INTERNAL', 'no config loader');
  const f = (await ctx.config()).fleet;
  if (!f) throw new BulwarkError('BULWARK_ERR_CONFIG', 'the configuration has no `fleet` section (servers, tls, credentials): see docs/fleet.md');
  checkFleetSecurity(f);
  return f;
}

async function operator<T>(ctx: CliContext, needsSigner: boolean, fn: (d: OperatorDeps, conn: NatsFleetConnection) => Promise<T>): Promise<T> {
  const f = await fleetConfig(ctx);
  const signer = f.signingKey !== undefined ? signerFromFile(f.signingKey) : undefined;
  if (needsSigner && !signer) throw new BulwarkError('BULWARK_ERR_CONFIG', 'this command signs what it sends: set fleet.signingKey (operator nkey seed file) in the config');
  const conn = new NatsFleetConnection(connectOptions(f, 'bulwark operator', '_INBOX_OPS', false), () => undefined, 30_000);
  const timeout = new Promise<never>((_r, reject) => {
    setTimeout(() => {
      reject(new BulwarkError('BULWARK_ERR_FLEET', `cannot reach the fleet NATS servers (${f.servers.join(', ')}) within 10 s`));
    }, 10_000).unref();
  });
  try {
    await Promise.race([conn.connected(), timeout]);
  } catch (e) {
    await conn.close().catch(() => undefined);
    throw e instanceof BulwarkError ? e : new BulwarkError('BULWARK_ERR_FLEET', `cannot connect to the fleet: ${errorMessage(e)}`, { cause: e });
  }
  const trusted = new Set([...f.operators, ...(signer ? [signer.publicKey] : [])]);
  try {
    return await fn({ conn, clock: systemClock, trusted, ...(signer ? { signer } : {}) }, conn);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

function dur(v: string | undefined, flag: string, def: number): number {
  if (v === undefined) return def;
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) throw usageError(`--${flag}: not a duration (e.g. 90s, 10m, 8h)`, 'fleet');
  return ms;
}

function ago(ms: number): string {
  return `${formatHuman(Math.max(0, ms))} ago`;
}

function ackOutcome(ctx: CliContext, host: string, ack: OrderAck | undefined, what: string, validUntil: number): ExitCode {
  if (!ack) {
    ctx.stderr.write(`bulwark: no acknowledgement from ${host}; the order stays valid until ${new Date(validUntil).toISOString()} and is applied if ${host} reads it before then\n`);
    return EXIT.FAILURE;
  }
  if (!ack.ok) {
    ctx.stderr.write(`bulwark: ${host} refused the ${what} order: ${ack.error ?? 'unknown error'}\n`);
    return EXIT.FAILURE;
  }
  return EXIT.OK;
}

async function order(ctx: CliContext, kind: OrderKind, rest: string[], flags: { wait?: string | undefined; valid?: string | undefined }, args: Record<string, unknown>): Promise<ExitCode> {
  const host = rest[0];
  if (host === undefined) throw usageError('missing HOST', 'fleet');
  const waitMs = dur(flags.wait, 'wait', 10_000);
  const validMs = dur(flags.valid, 'valid', 10 * 60_000);
  const r = await operator(ctx, true, (d) => sendOrder(d, host, kind, args, { waitMs, validMs }));
  if (ctx.json) printJson(ctx.stdout, { order: r.order, seq: r.seq, ack: r.ack ?? null });
  else if (r.ack?.ok) {
    const res = r.ack.result as Record<string, unknown> | undefined;
    if (kind === 'isolate' && res) {
      const k = res.kernel as { matches?: boolean; secondsLeft?: number } | undefined;
      printKeyValues(ctx.stdout, [
        ['host', host],
        ['isolation', res.isolated === true ? `${String(res.tag)} until ${String(res.endsAt)}` : 'not isolated'],
        ['kernel', k ? `${k.matches === true ? 'rules in place' : 'MISMATCH'}${k.secondsLeft !== undefined ? `, ${k.secondsLeft}s left in the kernel` : ''}` : '-'],
      ]);
    } else if (kind === 'release' && res) {
      const st = res.status as Record<string, unknown> | undefined;
      printKeyValues(ctx.stdout, [
        ['host', host],
        ['was isolated', res.wasActive],
        ['isolation now', st?.isolated === true ? 'isolated' : 'not isolated'],
      ]);
    } else printJson(ctx.stdout, res ?? {});
  }
  return ackOutcome(ctx, host, r.ack, kind, r.order.expiresAt);
}

function parseSettingArgs(items: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    if (eq <= 0) throw usageError(`"${it}" is not SETTING=VALUE`, 'fleet');
    const k = it.slice(0, eq);
    const raw = it.slice(eq + 1);
    out[k] = raw === '' ? null : (parseYaml(raw) as unknown);
  }
  return out;
}

function parseHostSpec(s: string): HostUser {
  const m = /^([A-Za-z0-9_-]{1,64})=(U[A-Z2-7]{55})(?::([A-Za-z0-9_,-]*))?$/.exec(s);
  if (!m) throw usageError(`--host "${s}": expected ID=UKEY or ID=UKEY:GROUP,GROUP`, 'fleet');
  return { hostId: m[1]!, nkey: m[2]!, groups: (m[3] ?? '').split(',').filter(Boolean) };
}

export const fleetCommand: CliCommand = {
  name: 'fleet',
  summary: 'fleet mode (NATS): hosts, shared blocks, remote isolation, policy, setup',
  usage: USAGE,
  async run(ctx, args) {
    const p = parseArgs(args, {
      command: 'fleet',
      minPositionals: 1,
      flags: {
        isolated: 'boolean',
        for: 'string',
        reason: 'string',
        wait: 'string',
        valid: 'string',
        rule: 'string',
        replicas: 'string',
        'max-block': 'string',
        'events-max-age': 'string',
        'events-max-bytes': 'string',
        name: 'string',
        listen: 'string',
        http: 'string',
        store: 'string',
        'cluster-name': 'string',
        'cluster-listen': 'string',
        route: 'strings',
        'tls-cert': 'string',
        'tls-key': 'string',
        'tls-ca': 'string',
        host: 'strings',
        operator: 'strings',
      },
    });
    const [sub, ...rest] = p.positionals;
    const fl = p.flags;
    switch (sub) {
      case 'keygen': {
        const kp = createUser();
        const seed = new TextDecoder().decode(kp.getSeed());
        if (ctx.json) printJson(ctx.stdout, { seed, publicKey: kp.getPublicKey() });
        else ctx.stdout.write(`# public key (put it in fleet.operators or the server config): ${kp.getPublicKey()}\n${seed}\n`);
        return EXIT.OK;
      }
      case 'server-config': {
        if (fl.name === undefined || fl.listen === undefined || fl.store === undefined) throw usageError('server-config needs --name, --listen and --store', 'fleet');
        const text = renderServerConfig({
          serverName: fl.name,
          listen: fl.listen,
          storeDir: fl.store,
          ...(fl.http !== undefined ? { http: fl.http } : {}),
          ...(fl['cluster-name'] !== undefined && fl['cluster-listen'] !== undefined ? { cluster: { name: fl['cluster-name'], listen: fl['cluster-listen'], routes: fl.route } } : {}),
          ...(fl['tls-cert'] !== undefined && fl['tls-key'] !== undefined ? { tls: { cert: fl['tls-cert'], key: fl['tls-key'], ...(fl['tls-ca'] !== undefined ? { ca: fl['tls-ca'] } : {}) } } : {}),
          hosts: fl.host.map(parseHostSpec),
          operators: fl.operator.map((o) => {
            if (!/^U[A-Z2-7]{55}$/.test(o)) throw usageError(`--operator "${o}" is not a user public nkey`, 'fleet');
            return o;
          }),
        });
        ctx.stdout.write(text);
        return EXIT.OK;
      }
      case 'setup': {
        const replicas = fl.replicas === undefined ? 3 : Number(fl.replicas);
        if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw usageError('--replicas must be 1..5', 'fleet');
        const evBytes = fl['events-max-bytes'] === undefined ? 1024 ** 3 : Number(fl['events-max-bytes']);
        if (!Number.isInteger(evBytes) || evBytes < 1024 * 1024) throw usageError('--events-max-bytes must be an integer ≥ 1048576', 'fleet');
        const layout = { replicas, decisionsMaxAgeMs: dur(fl['max-block'], 'max-block', 30 * 86_400_000), eventsMaxAgeMs: dur(fl['events-max-age'], 'events-max-age', 7 * 86_400_000), eventsMaxBytes: evBytes, ordersMaxAgeMs: 86_400_000 };
        const done = await operator(ctx, false, (_d, conn) => conn.ensureLayout(layout));
        if (ctx.json) printJson(ctx.stdout, { layout, done });
        else for (const l of done) ctx.stdout.write(`${l}\n`);
        return EXIT.OK;
      }
      case 'streams': {
        const rows = await operator(ctx, false, async (d) => {
          const out: Record<string, unknown>[] = [];
          for (const s of [STREAM_DECISIONS, STREAM_ORDERS, STREAM_EVENTS, `KV_${KV_POLICY}`, `KV_${KV_HOSTS}`]) {
            try {
              out.push({ stream: s, ...(await d.conn.streamInfo(s)) });
            } catch (e) {
              out.push({ stream: s, error: errorMessage(e) });
            }
          }
          return out;
        });
        if (ctx.json) printJson(ctx.stdout, rows);
        else printTable(ctx.stdout, ['STREAM', 'REPLICAS', 'CURRENT', 'LEADER', 'MESSAGES'], rows.map((r) => [r.stream, r.replicas ?? r.error, r.currentReplicas, r.leader, r.messages]));
        return EXIT.OK;
      }
      case 'hosts': {
        const all = await operator(ctx, false, listHosts);
        const hosts = fl.isolated ? all.filter((h) => h.isolation.isolated) : all;
        if (ctx.json) {
          printJson(ctx.stdout, hosts);
          return EXIT.OK;
        }
        const now = Date.now();
        printTable(
          ctx.stdout,
          ['HOST', 'NAME', 'GROUPS', 'VERSION', 'PROTECTION', 'BLOCKS', 'ISOLATION', 'UNTIL', 'LAST SEEN'],
          hosts.map((h) => [h.hostId, h.name, h.groups.join(',') || '-', h.version, h.protection.enabled ? 'on' : 'off', h.blocks, h.isolation.isolated ? (h.isolation.tag ?? 'isolated') : '-', h.isolation.endsAt ?? '-', ago(now - h.lastSeen)]),
        );
        return EXIT.OK;
      }
      case 'blocked': {
        const blocks = await operator(ctx, false, listSharedBlocks);
        if (ctx.json) printJson(ctx.stdout, blocks.map((b) => ({ ...b, decidedAt: new Date(b.decidedAt).toISOString(), expiresAt: new Date(b.expiresAt).toISOString() })));
        else {
          const now = Date.now();
          printTable(ctx.stdout, ['ADDRESS', 'FROM', 'SCOPE', 'REASON', 'EXPIRES IN'], blocks.map((b) => [b.address, b.origins.join(','), b.scopes.join(','), b.reason, formatHuman(b.expiresAt - now)]));
        }
        return EXIT.OK;
      }
      case 'unblock': {
        const addr = rest[0];
        if (addr === undefined || rest.length > 1) throw usageError('unblock takes one ADDR', 'fleet');
        const waitMs = dur(fl.wait, 'wait', 5000);
        const r = await operator(ctx, true, (d) => unblockEverywhere(d, addr, waitMs));
        const missing = r.expected.filter((h) => !r.acks.some((a) => a.host === h));
        if (ctx.json) printJson(ctx.stdout, { ...r, missing });
        else {
          printTable(ctx.stdout, ['HOST', 'RESULT', 'REMOVED', 'IN KERNEL'], r.acks.map((a) => {
            const res = a.result as { removed?: number; inKernel?: boolean } | undefined;
            return [a.host, a.ok ? 'unblocked' : `failed: ${a.error ?? '?'}`, res?.removed, res?.inKernel];
          }));
          if (missing.length > 0) ctx.stderr.write(`no acknowledgement yet from ${missing.join(', ')} (they apply the unblock when they read it)\n`);
        }
        return r.acks.every((a) => a.ok) && missing.length === 0 ? EXIT.OK : EXIT.FAILURE;
      }
      case 'isolate': {
        if (rest.length !== 1) throw usageError('isolate takes one HOST', 'fleet');
        const forMs = fl.for === undefined ? undefined : dur(fl.for, 'for', 0);
        return order(ctx, 'isolate', rest, fl, { ...(forMs !== undefined ? { forMs } : {}), ...(fl.reason !== undefined ? { reason: fl.reason } : {}) });
      }
      case 'release':
        if (rest.length !== 1) throw usageError('release takes one HOST', 'fleet');
        return order(ctx, 'release', rest, fl, {});
      case 'exclusions': {
        const [host, op, ref] = rest;
        if (host === undefined || op === undefined) throw usageError('exclusions takes HOST OP [ID]', 'fleet');
        let rule: unknown;
        if (fl.rule !== undefined) {
          try {
            rule = JSON.parse(fl.rule);
          } catch {
            throw usageError('--rule must be a JSON object', 'fleet');
          }
        }
        return order(ctx, 'exclusion', [host], fl, { op, ...(ref !== undefined ? { ref } : {}), ...(rule !== undefined ? { rule } : {}) });
      }
      case 'policy': {
        const [op, key, ...items] = rest;
        if (key === undefined) throw usageError('policy takes get|set|lock|unlock KEY ...', 'fleet');
        if (op === 'get') {
          const v = await operator(ctx, false, (d) => getPolicy(d, key));
          if (ctx.json) printJson(ctx.stdout, v);
          else if (v.doc) {
            printKeyValues(ctx.stdout, [
              ['policy', key],
              ['signed by', v.signedBy],
              ['updated', new Date(v.doc.updatedAt).toISOString()],
              ['locked', v.doc.locks.join(', ') || '-'],
            ]);
            printKeyValues(ctx.stdout, Object.entries(v.doc.settings).map(([k, val]) => [`  ${k}`, val]));
          } else ctx.stdout.write(v.problem ?? `no policy stored under ${key}\n`);
          return v.problem === undefined ? EXIT.OK : EXIT.FAILURE;
        }
        let change: { set?: Record<string, unknown>; lock?: string[]; unlock?: string[] };
        if (op === 'set') change = { set: parseSettingArgs(items) };
        else if (op === 'lock') change = { lock: items };
        else if (op === 'unlock') change = { unlock: items };
        else throw usageError(`unknown policy operation "${op ?? ''}"`, 'fleet');
        if (items.length === 0) throw usageError(`policy ${op} needs at least one setting`, 'fleet');
        const doc = await operator(ctx, true, (d) => updatePolicy(d, key, change));
        if (ctx.json) printJson(ctx.stdout, doc);
        else ctx.stdout.write(`policy ${key} stored: ${JSON.stringify(doc.settings)}; locked: ${doc.locks.join(', ') || '-'}\n`);
        return EXIT.OK;
      }
      default:
        throw usageError(`unknown subcommand "${sub ?? ''}"`, 'fleet');
    }
  },
};
