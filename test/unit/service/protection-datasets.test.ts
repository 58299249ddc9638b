/**
 * The protection component saves the datasets rules changed: on stop (the state file holds what
 * `dataset:set` added) and before a new ruleset is swapped in. Fakes behind the component's small
 * interfaces (packet source, blocklist, socket killer), a temporary data directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log/index.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { DIR, type PacketDirection, type PacketHandler, type PacketSource } from '../../../src/engine/capture/types.js';
import { createBus } from '../../../src/service/bus.js';
import { createProtectionComponent } from '../../../src/service/protection.js';
import type { DaemonContext } from '../../../src/service/types.js';
import type { Ruleset } from '../../../src/signatures/types.js';

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
  push(frame: Uint8Array, tsUs: number, dir: PacketDirection): void {
    this.handler?.(frame, frame.length, 1, tsUs, 0, dir);
  }
}

const SERVER = '198.51.100.11';
let ts = 1_795_000_000_000_000;

function request(src: FakeSource, sport: number, ua: string): void {
  const c = { srcIp: '203.0.113.9', dstIp: SERVER, srcPort: sport, dstPort: 80 };
  const s = { srcIp: SERVER, dstIp: '203.0.113.9', srcPort: 80, dstPort: sport };
  const req = Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: ${ua}\r\n\r\n`);
  src.push(tcpFrame({ ...c, seq: 1000, flags: 0x02 }), (ts += 1000), DIR.INBOUND);
  src.push(tcpFrame({ ...s, seq: 5000, ack: 1001, flags: 0x12 }), (ts += 1000), DIR.OUTBOUND);
  src.push(tcpFrame({ ...c, seq: 1001, ack: 5001, flags: 0x10 }), (ts += 1000), DIR.INBOUND);
  src.push(tcpFrame({ ...c, seq: 1001, ack: 5001, flags: 0x18, payload: req }), (ts += 1000), DIR.INBOUND);
}

function rules(dataDir: string, text: string): Ruleset {
  return compileRuleset([{ file: '/rules/t.rules', text }], { anyPorts: [80], datasets: { dir: dataDir, read: () => null } });
}

test('datasets with state files are written on a ruleset swap and on stop', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-protds-'));
  try {
    const ruleset = rules(dir, 'alert http any any -> any 80 (msg:"ua"; http.user_agent; dataset:set,ua,type string,state ua.lst; sid:1;)');
    const source = new FakeSource();
    const log = silentLogger();
    const components: Record<string, unknown> = {
      blocklist: { blocklist: { block: () => Promise.resolve({ status: 'refused', reason: 'never-block', address: '' }), coveredBy: () => undefined, isNeverBlocked: () => true, list: () => [] } },
      database: { ruleset },
    };
    const ctx: DaemonContext = {
      config: { ...defaultConfig(), protection: { enabled: true }, action: 'alert' },
      configPath: undefined,
      log,
      registry: new Registry(),
      clock: new ManualClock(1_795_000_000_000),
      commands: { register: () => undefined },
      bus: createBus(log),
      get: ((name: string) => components[name]) as DaemonContext['get'],
    };
    const component = createProtectionComponent({
      liveSource: () => source,
      killer: { resetLocalPorts: () => Promise.resolve(0), killPeer: () => Promise.resolve(0) },
      listening: () => Promise.resolve(new Set([80])),
      defaultInterfaces: () => Promise.resolve(['fake0']),
    })(ctx);
    await component.start();
    request(source, 41000, 'agent-one');
    // a new ruleset (same set): saved before the swap
    ctx.bus.emitRuleset(rules(dir, 'alert http any any -> any 80 (msg:"ua2"; http.user_agent; dataset:set,ua,type string,state ua.lst; sid:2;)'));
    for (let i = 0; i < 200 && !existsSync(path.join(dir, 'ua.lst')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(readFileSync(path.join(dir, 'ua.lst'), 'latin1'), `${Buffer.from('agent-one').toString('base64')}\n`);
    request(source, 41001, 'agent-two');
    await component.stop();
    const saved = readFileSync(path.join(dir, 'ua.lst'), 'latin1').trim().split('\n').sort();
    assert.deepEqual(saved, [Buffer.from('agent-one').toString('base64'), Buffer.from('agent-two').toString('base64')].sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
