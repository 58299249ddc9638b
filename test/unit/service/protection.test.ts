/**
 * The protection component's response rules, with fakes behind its small interfaces: a packet
 * source the test feeds, a fake blocklist, a fake socket killer, no real sockets or nft.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log/index.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { DIR, type PacketDirection, type PacketHandler, type PacketSource } from '../../../src/engine/capture/types.js';
import type { AlertEvent } from '../../../src/engine/types.js';
import type { BlockEntry, BlockOptions, BlockResult } from '../../../src/blocklist/types.js';
import { createBus } from '../../../src/service/bus.js';
import { createProtectionComponent } from '../../../src/service/protection.js';
import type { SocketKiller } from '../../../src/service/sockets.js';
import type { DaemonContext } from '../../../src/service/types.js';

const DB = `database: { name: unit, version: "1", released: 2026-11-21 }
signatures:
  - id: 1
    name: Test.Block
    description: blocks
    references: []
    severity: high
    category: test
    action: block
    ports: [80]
    direction: to_server
    match:
      - content: "ATTACK"
  - id: 2
    name: Test.AlertOnly
    description: alerts
    references: []
    severity: low
    category: test
    action: alert
    ports: [80]
    direction: to_server
    match:
      - content: "CURIOUS"
`;

class FakeSource implements PacketSource {
  readonly name = 'fake0';
  private handler: PacketHandler | undefined;
  start(on: PacketHandler): void {
    this.handler = on;
  }
  stop(): void {
    this.handler = undefined;
  }
  stats(): { received: number; dropped: number; ifDropped: number } {
    return { received: 0, dropped: 0, ifDropped: 0 };
  }
  /** Like the live capture: each frame with its direction relative to the protected host. */
  push(frame: Uint8Array, tsUs: number, dir: PacketDirection): void {
    this.handler?.(frame, frame.length, 1, tsUs, 0, dir);
  }
}

class FakeBlocklist {
  readonly calls: { address: string; opts: BlockOptions }[] = [];
  readonly entries = new Map<string, BlockEntry>();
  neverBlock = new Set<string>();
  private release: (() => void) | undefined;
  hold = false;
  async block(address: string, opts: BlockOptions): Promise<BlockResult> {
    this.calls.push({ address, opts });
    if (this.hold) await new Promise<void>((r) => (this.release = r));
    if (this.neverBlock.has(address)) return { status: 'refused', reason: 'never-block', address };
    const entry: BlockEntry = { address, family: 4, reason: opts.reason, source: opts.source, blockedAtMs: 1, expiresAtMs: 1_000_000 };
    this.entries.set(address, entry);
    return { status: 'blocked', entry };
  }
  releaseHeld(): void {
    this.hold = false;
    this.release?.();
  }
  coveredBy(address: string): BlockEntry | undefined {
    return this.entries.get(address);
  }
  isNeverBlocked(address: string): boolean {
    return this.neverBlock.has(address);
  }
  list(): BlockEntry[] {
    return [...this.entries.values()];
  }
}

const SERVER = '198.51.100.11';
let port = 40000;
let ts = 1_795_000_000_000_000;

/**
 * A complete connection (handshake, then `payload` from the client) or a mid-stream segment.
 * The client's packets arrive inbound; the server's SYN/ACK leaves this host — unless `forged`:
 * then it too arrives inbound (an attacker's forgery in the server's name).
 */
function connection(src: FakeSource, client: string, payload: string, handshake = true, forged = false): void {
  const sport = port++;
  const c = { srcIp: client, dstIp: SERVER, srcPort: sport, dstPort: 80 };
  const s = { srcIp: SERVER, dstIp: client, srcPort: 80, dstPort: sport };
  const send = (f: Uint8Array, dir: PacketDirection = DIR.INBOUND): void => {
    src.push(f, (ts += 1000), dir);
  };
  if (handshake) {
    send(tcpFrame({ ...c, seq: 1000, flags: 0x02 }));
    send(tcpFrame({ ...s, seq: 5000, ack: 1001, flags: 0x12 }), forged ? DIR.INBOUND : DIR.OUTBOUND);
    send(tcpFrame({ ...c, seq: 1001, ack: 5001, flags: 0x10 }));
  }
  send(tcpFrame({ ...c, seq: 1001, ack: 5001, flags: 0x18, payload: Buffer.from(payload) }));
}

function setup() {
  const log = silentLogger();
  const ruleset = compileRuleset([{ file: 'unit.yaml', text: DB }]);
  const blocklist = new FakeBlocklist();
  const killed: string[] = [];
  const killer: SocketKiller = {
    resetLocalPorts: () => Promise.resolve(0),
    killPeer: (a) => {
      killed.push(a);
      return Promise.resolve(1);
    },
  };
  const source = new FakeSource();
  const alerts: AlertEvent[] = [];
  const bus = createBus(log);
  bus.onAlert((a) => alerts.push(a));
  const components: Record<string, unknown> = { blocklist: { blocklist }, database: { ruleset } };
  const ctx: DaemonContext = {
    // Local-only hosts have protection off by default: these tests are about a protecting host.
    config: { ...defaultConfig(), protection: { enabled: true } },
    configPath: undefined,
    log,
    registry: new Registry(),
    clock: new ManualClock(1_795_000_000_000),
    commands: { register: () => undefined },
    bus,
    get: ((name: string) => components[name]) as DaemonContext['get'],
  };
  const component = createProtectionComponent({
    liveSource: () => source,
    killer,
    // Every port "has a local service": nothing is bound in a unit test.
    listening: () => Promise.resolve(new Set(ruleset.ports)),
    defaultInterfaces: () => Promise.resolve(['fake0']),
  })(ctx);
  return { component, source, blocklist, killed, alerts };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a blocking signature on a completed handshake blocks, severs, and reports blocked_until', async () => {
  const { component, source, blocklist, killed, alerts } = setup();
  await component.start();
  connection(source, '198.51.100.10', 'GET /?ATTACK HTTP/1.1\r\n\r\n');
  await settle();
  assert.equal(blocklist.calls.length, 1);
  assert.equal(blocklist.calls[0]!.opts.source, 'detection');
  assert.equal(typeof blocklist.calls[0]!.opts.detectedAtMs, 'number');
  assert.deepEqual(killed, ['198.51.100.10']);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.alert.action, 'blocked');
  assert.equal(alerts[0]!.bulwark.blocked_until, new Date(1_000_000).toISOString());
  await component.stop();
});

test('spoofable evidence (no handshake) and alert-only signatures never block', async () => {
  const { component, source, blocklist, alerts } = setup();
  await component.start();
  connection(source, '198.51.100.20', 'ATTACK', false);
  connection(source, '198.51.100.21', 'GET /CURIOUS HTTP/1.1\r\n\r\n');
  await settle();
  assert.equal(blocklist.calls.length, 0);
  const spoof = alerts.find((a) => a.src_ip === '198.51.100.20');
  assert.match(spoof?.bulwark.block_skipped ?? '', /spoofable evidence/);
  const alertOnly = alerts.find((a) => a.src_ip === '198.51.100.21');
  assert.ok(alertOnly);
  assert.equal(alertOnly.alert.action, 'allowed');
  assert.equal(alertOnly.bulwark.block_skipped, undefined);
  await component.stop();
});

test('a forged handshake (the SYN/ACK arrived inbound, in our name) never blocks its claimed source', async () => {
  const { component, source, blocklist, alerts } = setup();
  await component.start();
  connection(source, '198.51.100.22', 'GET /?ATTACK HTTP/1.1\r\n\r\n', true, true);
  await settle();
  assert.equal(blocklist.calls.length, 0);
  // The database signature needs an established flow (Suricata flow:established): without the
  // handshake the flow never becomes one, so there is not even an alert.
  assert.deepEqual(alerts, []);
  // The same exchange with our SYN/ACK seen leaving the host blocks (the evidence is real).
  connection(source, '198.51.100.22', 'GET /?ATTACK HTTP/1.1\r\n\r\n');
  await settle();
  assert.deepEqual(blocklist.calls.map((c) => c.address), ['198.51.100.22']);
  await component.stop();
});

test('a refusal from the blocklist is reported in the event', async () => {
  const { component, source, blocklist, killed, alerts } = setup();
  blocklist.neverBlock.add('198.51.100.30');
  await component.start();
  connection(source, '198.51.100.30', 'ATTACK');
  await settle();
  assert.equal(alerts[0]!.alert.action, 'allowed');
  assert.equal(alerts[0]!.bulwark.block_skipped, 'never-block');
  assert.deepEqual(killed, [], 'nothing severed without a block');
  await component.stop();
});

test('folding quiets repeats but a source unblocked inside the window is blocked again', async () => {
  const { component, source, blocklist, alerts } = setup();
  await component.start();
  connection(source, '198.51.100.40', 'ATTACK');
  await settle();
  connection(source, '198.51.100.40', 'ATTACK');
  await settle();
  assert.equal(blocklist.calls.length, 1, 'still blocked: the repeat is folded, no second block');
  assert.equal(alerts.length, 1);
  blocklist.entries.clear(); // the operator unblocked it
  connection(source, '198.51.100.40', 'ATTACK');
  await settle();
  assert.equal(blocklist.calls.length, 2, 'blocked again although inside the fold window');
  assert.equal(alerts.at(-1)?.alert.action, 'blocked');
  await component.stop();
});

test('detections arriving while a block is in flight share its outcome', async () => {
  const { component, source, blocklist, alerts } = setup();
  await component.start();
  blocklist.hold = true;
  connection(source, '198.51.100.50', 'ATTACK');
  connection(source, '198.51.100.50', 'GET /CURIOUS ATTACK HTTP/1.1\r\n\r\n');
  await settle();
  assert.equal(blocklist.calls.length, 1, 'one block request for the burst');
  blocklist.releaseHeld();
  await settle();
  await settle();
  const blockSigs = alerts.filter((a) => a.src_ip === '198.51.100.50' && a.alert.signature_id === 1);
  assert.ok(blockSigs.length >= 1);
  for (const a of blockSigs) assert.equal(a.alert.action, 'blocked');
  await component.stop();
});
