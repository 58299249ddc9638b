/**
 * Automatic isolation from the policy, at component level: the isolation component runs in this
 * test process with a real bus, real nft and ss/conntrack inside the "protected" namespace, and a
 * detection arrives through ctx.bus.emitAlert (the path the engine's alerts take in the daemon).
 * Checks the scope rule: policy exclusions apply, the device list does not (and the reverse for manual).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createNft } from '../../src/blocklist/nft.js';
import { systemClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/types.js';
import type { AlertEvent } from '../../src/engine/types.js';
import { silentLogger } from '../../src/log/index.js';
import { createSystemKiller } from '../../src/isolation/killer.js';
import { createBus } from '../../src/service/bus.js';
import { CommandTable } from '../../src/service/control-server.js';
import { createIsolationComponent } from '../../src/service/isolation.js';
import type { DaemonContext } from '../../src/service/types.js';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { eventually, execIn, probe, startServer } from '../fixtures/isolation/helpers.js';

let net: TestNet;
let dir: string;
let C: Host, P: Host, O: Host;

before(async () => {
  net = await createTestNet(['client', 'protected', 'other']);
  [C, P, O] = ['client', 'protected', 'other'].map((n) => net.host(n)) as [Host, Host, Host];
  dir = mkdtempSync(join(tmpdir(), 'bw-iso-policy-'));
  await startServer(P, ['server', 'tcp', '2222']);
});

after(async () => {
  await net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function alert(severity: 'high' | 'critical'): AlertEvent {
  return {
    timestamp: new Date().toISOString(),
    flow_id: '77',
    event_type: 'alert',
    src_ip: '198.51.100.66',
    src_port: 40000,
    dest_ip: P.ip4,
    dest_port: 80,
    proto: 'TCP',
    alert: { action: 'blocked', signature_id: 3000042, rev: 1, signature: 'Intrusion.Test.Policy', category: 'test', severity: 1 },
    bulwark: { event: 'Network attack detected', event_id: 'ev-policy-1', attack: 'Intrusion.Test.Policy', severity, count: 1 },
  };
}

const tcpOk = async (from: Host): Promise<boolean> => (await probe(from, ['connect', 'tcp', P.ip4, '2222', '1500'])).ok === true;

function makeComponent(stateName: string, patch: (c: ReturnType<typeof defaultConfig>) => void = () => undefined) {
  const config = defaultConfig();
  config.stateDir = join(dir, stateName);
  patch(config);
  const resolv = join(dir, 'resolv.conf');
  writeFileSync(resolv, 'nameserver 198.51.100.12\n');
  const bus = createBus(silentLogger());
  const commands = new CommandTable();
  const events: Record<string, unknown>[] = [];
  bus.onEvent((e) => events.push(e));
  const ctx: DaemonContext = { config, configPath: undefined, log: silentLogger(), registry: new Registry(), clock: systemClock, commands, bus, get: () => undefined };
  const component = createIsolationComponent({
    nft: createNft({ binary: 'ip', prefixArgs: ['netns', 'exec', P.ns, 'nft'] }),
    killer: createSystemKiller({ prefix: ['ip', 'netns', 'exec', P.ns] }),
    hostInfoPaths: { resolvConf: [resolv], leaseDirs: [] },
    verifyIntervalMs: 1000,
  })(ctx);
  const call = (name: string, args: Record<string, unknown> = {}): Promise<unknown> => commands.get(name)!(args);
  return { component, call, bus, events };
}

test('forwarded traffic (containers, VMs behind the host) is cut too', async () => {
  // The protected host routes 203.0.113.5 (an address of "other") for the client: client → P → other.
  const must = async (h: Host, args: string[]): Promise<void> => {
    const r = await execIn(h, 'ip', args);
    assert.equal(r.code, 0, `${h.name}: ip ${args.join(' ')}: ${r.stderr}`);
  };
  await must(O, ['addr', 'add', '203.0.113.5/32', 'dev', 'eth0']);
  await must(O, ['route', 'add', `${C.ip4}/32`, 'via', P.ip4]);
  await must(C, ['route', 'add', '203.0.113.5/32', 'via', P.ip4]);
  await must(P, ['route', 'add', '203.0.113.5/32', 'via', O.ip4]);
  assert.equal((await execIn(P, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0'])).code, 0);
  const ping = async (): Promise<boolean> => (await execIn(C, 'ping', ['-c1', '-W1', '203.0.113.5'])).code === 0;
  const { component, call } = makeComponent('state-fwd');
  await component.start();
  try {
    assert.equal(await ping(), true, 'forwarded before isolation');
    await call('isolation.on', { for: '2m' });
    assert.equal(await ping(), false, 'forwarded traffic dropped while isolated');
    const st = (await call('isolation.status')) as { kernel: { matches: boolean } };
    assert.equal(st.kernel.matches, true);
    await call('isolation.off');
    assert.equal(await ping(), true, 'forwarded again after off');
  } finally {
    await call('isolation.off').catch(() => undefined);
    await component.stop();
    await execIn(P, 'sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
  }
});

test('a detection matching the policy isolates with the policy exclusions, not the device ones', async () => {
  const { component, call, bus, events } = makeComponent('state', (config) => {
    config.isolation.policy = { enabled: true, severities: ['critical'], signatureIds: [], detectors: [] };
    config.isolation.exclusions = [{ direction: 'inbound', protocol: 'tcp', remoteAddress: O.ip4, localPorts: '2222', remotePorts: 'any', description: 'policy: other host', status: 'active' }];
  });
  await component.start();
  try {
    await call('isolation.exclusions.add', { rule: { direction: 'inbound', protocol: 'tcp', remoteAddress: C.ip4, localPorts: '2222', description: 'device: client' } });
    assert.equal(await tcpOk(C), true);
    assert.equal(await tcpOk(O), true);

    bus.emitAlert(alert('high'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await call('isolation.status')) instanceof Object && ((await call('isolation.status')) as { isolated: boolean }).isolated, false, 'severity high is not in the policy');

    bus.emitAlert(alert('critical'));
    assert.ok(await eventually(async () => ((await call('isolation.status')) as { isolated: boolean }).isolated, 5000), 'isolated automatically');
    const st = (await call('isolation.status')) as { mode: string; event: { eventId: string; signatureId: number }; reason: string; kernel: { matches: boolean; problems: string[] } };
    assert.equal(st.mode, 'automatic');
    assert.equal(st.event.eventId, 'ev-policy-1');
    assert.equal(st.event.signatureId, 3000042);
    assert.equal(st.reason, 'Intrusion.Test.Policy from 198.51.100.66');
    assert.deepEqual(st.kernel.problems, []);
    assert.equal(await tcpOk(O), true, 'policy exclusion applies to automatic isolation');
    assert.equal(await tcpOk(C), false, 'device exclusion does not apply to automatic isolation');
    const ex = (await call('isolation.exclusions.list')) as { scope: string; exclusions: { id: string }[] };
    assert.equal(ex.scope, 'policy');
    assert.ok(ex.exclusions.some((e) => e.id === 'policy/1') && !ex.exclusions.some((e) => e.id.startsWith('device/')));
    assert.equal((events[0]?.isolation as { action: string; mode: string }).action, 'on');
    assert.equal((events[0]?.isolation as { action: string; mode: string }).mode, 'automatic');

    // Manual isolation: the device list applies, the policy list does not; the device list stayed editable.
    await call('isolation.on', { for: '5m' });
    assert.equal(await tcpOk(C), true, 'device exclusion applies to manual isolation');
    assert.equal(await tcpOk(O), false, 'policy exclusion does not apply to manual isolation');
    await call('isolation.off');
    assert.equal(await tcpOk(O), true);
    assert.equal(await tcpOk(C), true);
  } finally {
    await call('isolation.off').catch(() => undefined);
    await component.stop();
  }
});
