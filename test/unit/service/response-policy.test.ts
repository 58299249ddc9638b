/**
 * The protection component with the response policy and a threshold file: which imported rules
 * block, what the events say, reloads that refuse a bad threshold file and keep the last good
 * one. Fakes behind the component's small interfaces (packet source, blocklist, socket killer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log/index.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { DIR, type PacketHandler, type PacketSource } from '../../../src/engine/capture/types.js';
import type { AlertEvent } from '../../../src/engine/types.js';
import type { BlockEntry, BlockOptions, BlockResult } from '../../../src/blocklist/types.js';
import { createBus } from '../../../src/service/bus.js';
import { createProtectionComponent } from '../../../src/service/protection.js';
import type { CommandHandler, DaemonContext } from '../../../src/service/types.js';
import { isBulwarkError } from '../../../src/errors.js';

// Synthetic rules in ET's style (not ET text): an exploit, an informational observation.
const RULES = `alert tcp $EXTERNAL_NET any -> $HOME_NET 1433 (msg:"ET EXPLOIT Unit sp_frobnicate abuse"; flow:to_server,established; content:"FROBNICATE"; classtype:attempted-admin; sid:3000001; rev:1; metadata:signature_severity Major;)
alert tcp any any -> $HOME_NET 1433 (msg:"ET INFO Unit query observed"; flow:to_server,established; content:"SELECT"; classtype:misc-activity; sid:3000002; rev:1;)
`;

class Source implements PacketSource {
  readonly name = 'fake0';
  private on: PacketHandler | undefined;
  start(on: PacketHandler): void {
    this.on = on;
  }
  stop(): void {
    this.on = undefined;
  }
  stats(): { received: number; dropped: number; ifDropped: number } {
    return { received: 0, dropped: 0, ifDropped: 0 };
  }
  private ts = 1_795_000_000_000_000;
  private port = 41000;
  /** A completed handshake from `client` to port 1433, then `payload`. */
  connect(client: string, payload: string): void {
    const sport = this.port++;
    const c = { srcIp: client, dstIp: '198.51.100.11', srcPort: sport, dstPort: 1433 };
    const s = { srcIp: '198.51.100.11', dstIp: client, srcPort: 1433, dstPort: sport };
    const send = (f: Uint8Array, dir: typeof DIR.INBOUND | typeof DIR.OUTBOUND = DIR.INBOUND): void => this.on?.(f, f.length, 1, (this.ts += 1000), 0, dir);
    send(tcpFrame({ ...c, seq: 1000, flags: 0x02 }));
    send(tcpFrame({ ...s, seq: 5000, ack: 1001, flags: 0x12 }), DIR.OUTBOUND);
    send(tcpFrame({ ...c, seq: 1001, ack: 5001, flags: 0x10 }));
    send(tcpFrame({ ...c, seq: 1001, ack: 5001, flags: 0x18, payload: Buffer.from(payload) }));
  }
}

class Blocklist {
  readonly blocked: string[] = [];
  private readonly entries = new Map<string, BlockEntry>();
  block(address: string, opts: BlockOptions): Promise<BlockResult> {
    this.blocked.push(address);
    const entry: BlockEntry = { address, family: 4, reason: opts.reason, source: opts.source, blockedAtMs: 1, expiresAtMs: 1_000_000 };
    this.entries.set(address, entry);
    return Promise.resolve({ status: 'blocked', entry });
  }
  coveredBy(address: string): BlockEntry | undefined {
    return this.entries.get(address);
  }
  isNeverBlocked(): boolean {
    return false;
  }
}

function setup(response: Partial<Config['response']> = {}) {
  const log = silentLogger();
  const ruleset = compileRuleset([{ file: 'unit.rules', text: RULES }]);
  const blocklist = new Blocklist();
  const source = new Source();
  const alerts: AlertEvent[] = [];
  const bus = createBus(log);
  bus.onAlert((a) => alerts.push(a));
  const commands = new Map<string, CommandHandler>();
  const registry = new Registry();
  const components: Record<string, unknown> = { blocklist: { blocklist }, database: { ruleset } };
  // No folding: every detection is its own event, so each test sees every decision.
  const config: Config = { ...defaultConfig(), protection: { enabled: true }, events: { ...defaultConfig().events, foldWindowMs: 0 }, response: { ...defaultConfig().response, ...response } };
  const ctx: DaemonContext = {
    config,
    configPath: undefined,
    log,
    registry,
    clock: new ManualClock(1_795_000_000_000),
    commands: { register: (n, h) => void commands.set(n, h) },
    bus,
    get: ((name: string) => components[name]) as DaemonContext['get'],
  };
  const component = createProtectionComponent({
    liveSource: () => source,
    killer: { resetLocalPorts: () => Promise.resolve(0), killPeer: () => Promise.resolve(0) },
    listening: () => Promise.resolve(new Set(ruleset.ports)),
    defaultInterfaces: () => Promise.resolve(['fake0']),
  })(ctx);
  return { component, source, blocklist, alerts, commands, registry, config };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const of = (alerts: AlertEvent[], src: string, sid: number): AlertEvent[] => alerts.filter((a) => a.src_ip === src && a.alert.signature_id === sid);

test('default policy: an ET EXPLOIT alert rule blocks, an ET INFO rule on the same traffic only alerts; events say why', async () => {
  const { component, source, blocklist, alerts, registry } = setup();
  await component.start();
  source.connect('203.0.113.5', 'SELECT 1; EXEC FROBNICATE');
  await settle();
  assert.deepEqual(blocklist.blocked, ['203.0.113.5']);
  const exploit = of(alerts, '203.0.113.5', 3000001)[0];
  assert.equal(exploit?.alert.action, 'blocked');
  assert.deepEqual(exploit.bulwark.response, { action: 'block', policy_rule: 'server-attacks', reason: 'category ET EXPLOIT, classtype attempted-admin' });
  const info = of(alerts, '203.0.113.5', 3000002)[0];
  assert.equal(info?.alert.action, 'allowed');
  assert.deepEqual(info.bulwark.response, { action: 'alert', policy_rule: 'alert-only-categories', reason: 'category ET INFO' });
  assert.equal(info.bulwark.block_skipped, undefined, 'nothing asked for a block');
  const m = await registry.metrics();
  assert.match(m, /bulwark_response_decisions_total\{action="block",rule="server-attacks"\} 1/);
  assert.match(m, /bulwark_response_decisions_total\{action="alert",rule="alert-only-categories"\} 1/);
  await component.stop();
});

test('operator rules come first (ignore: no event, no block); without the defaults an ET alert rule only alerts', async () => {
  const a = setup({ policy: [{ name: 'quiet-info', match: { sid: [3000002] }, action: 'ignore' }] });
  await a.component.start();
  a.source.connect('203.0.113.6', 'SELECT 1');
  await settle();
  assert.deepEqual(a.alerts, []);
  assert.match(await a.registry.metrics(), /bulwark_response_decisions_total\{action="ignore",rule="quiet-info"\} 1/);
  await a.component.stop();
  const b = setup({ defaultPolicy: false });
  await b.component.start();
  b.source.connect('203.0.113.7', 'FROBNICATE');
  await settle();
  assert.deepEqual(b.blocklist.blocked, []);
  assert.deepEqual(b.alerts[0]?.bulwark.response, { action: 'alert', policy_rule: 'rule-action', reason: "no policy rule matched: the signature's own action (alert)" });
  await b.component.stop();
});

test('threshold file: suppress stops alert and block; rate_filter new_action drop blocks an alert-only rule; a bad file is refused with FILE:LINE and the last good one stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-threshold-'));
  const file = join(dir, 'threshold.config');
  writeFileSync(file, '# lab\nsuppress gen_id 1, sig_id 0, track by_src, ip [203.0.113.8, 203.0.113.9]\nrate_filter gen_id 1, sig_id 3000002, track by_src, count 1, seconds 60, new_action drop, timeout 60\n');
  const { component, source, blocklist, alerts, commands, config, registry } = setup({ thresholdFile: file });
  await component.start();
  source.connect('203.0.113.8', 'SELECT 1; EXEC FROBNICATE');
  await settle();
  assert.deepEqual(alerts, [], 'suppressed: no event');
  assert.deepEqual(blocklist.blocked, [], 'suppressed: no block');
  assert.match(await registry.metrics(), /bulwark_alerts_filtered_total\{reason="suppress"\} 2/);
  // The rate filter: the first SELECT from .20 alerts, the second exceeds count 1 and drops.
  source.connect('203.0.113.20', 'SELECT 1');
  source.connect('203.0.113.20', 'SELECT 2');
  await settle();
  const sel = of(alerts, '203.0.113.20', 3000002);
  assert.deepEqual(
    sel.map((a) => [a.alert.action, a.bulwark.response?.policy_rule]),
    [
      ['allowed', 'alert-only-categories'],
      ['blocked', 'rate_filter'],
    ],
  );
  assert.match(sel[1]!.bulwark.response?.reason ?? '', /threshold\.config:3$/);
  // A broken file: the reload is refused, naming the line; the suppression still holds.
  writeFileSync(file, 'suppress gen_id 1, sig_id 0, track by_src, ip 203.0.113.8\nthreshold gen_id 1, sig_id 3000001, type limit, track by_host, count 1, seconds 60\n');
  const reload = (c: Config): Promise<void> => component.reload?.(c) ?? Promise.reject(new Error('no reload'));
  await assert.rejects(reload(config), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && e.message.includes(`threshold ${file}:2: track "by_host" is not supported`));
  source.connect('203.0.113.9', 'FROBNICATE');
  await settle();
  assert.deepEqual(of(alerts, '203.0.113.9', 3000001), [], 'the last good file (which suppressed .9) stays');
  // A good file takes effect on reload: .9 is no longer suppressed and is blocked.
  writeFileSync(file, 'suppress gen_id 1, sig_id 0, track by_src, ip 203.0.113.8\n');
  await reload(config);
  source.connect('203.0.113.9', 'FROBNICATE');
  await settle();
  assert.equal(of(alerts, '203.0.113.9', 3000001)[0]?.alert.action, 'blocked');
  // policy.explain reports the decision and the applicable entries.
  const ex = (await commands.get('policy.explain')!({ sids: [3000001, 42] })) as { rules: Record<string, unknown>[] };
  assert.equal((ex.rules[0]!.decision as { action: string }).action, 'block');
  assert.deepEqual(ex.rules[0]!.thresholds, [{ at: `${file}:1`, entry: 'suppress gen_id 1, sig_id 0, track by_src, ip 203.0.113.8' }]);
  assert.deepEqual(ex.rules[1], { sid: 42, notFound: true });
  await component.stop();
});
