import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import type { Nft, NftCommand, NftListOutput, NftProbeResult } from '../../../src/blocklist/types.js';
import { BulwarkError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/index.js';
import type { AlertEvent } from '../../../src/engine/types.js';
import { IsolationManager } from '../../../src/isolation/manager.js';
import { liftOffline } from '../../../src/isolation/kernel-io.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { ConnectionKiller, ConntrackEntry, ConntrackListing, SocketInfo } from '../../../src/isolation/killer.js';
import type { ConntrackPlan, ConntrackResult } from '../../../src/isolation/conntrack.js';
import { DEFAULT_PROFILES_PATH, parseProfiles } from '../../../src/isolation/profiles.js';
import type { IsolationState } from '../../../src/isolation/types.js';

const db = parseProfiles(readFileSync(DEFAULT_PROFILES_PATH, 'utf8'));
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

class FakeNft implements Nft {
  scripts: string[] = [];
  /** The process-exclusion chain batches (loaded before each isolation batch), kept apart. */
  procScripts: string[] = [];
  batches: NftCommand[][] = [];
  listing: NftListOutput | undefined;
  apply(commands: NftCommand[]): Promise<void> {
    this.batches.push(commands);
    return Promise.resolve();
  }
  applyText(script: string): Promise<void> {
    if (script.includes('flush chain inet bulwark iso_pout') && !script.includes('iso_on')) this.procScripts.push(script);
    else this.scripts.push(script);
    return Promise.resolve();
  }
  list(): Promise<NftListOutput> {
    if (!this.listing) return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', 'nft list table inet bulwark failed: Error: No such file or directory'));
    return Promise.resolve(this.listing);
  }
  probeText(): Promise<NftProbeResult> {
    return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', 'not used by isolation'));
  }
}

class FakeKiller implements ConnectionKiller {
  sockets: SocketInfo[] = [
    { proto: 'tcp', local: '198.51.100.11', localPort: 22, remote: '198.51.100.10', remotePort: 40000, pids: [7], uid: 0 },
    { proto: 'udp', local: '198.51.100.11', localPort: 40001, remote: '198.51.100.12', remotePort: 53, pids: [8], uid: 0 },
  ];
  destroyed: SocketInfo[] = [];
  conntrack: ConntrackEntry[] = [{ proto: 'tcp', src: '198.51.100.40', dst: '203.0.113.50', sport: 1000, dport: 80, mark: 0 }];
  listSockets(): Promise<SocketInfo[]> {
    return Promise.resolve(this.sockets);
  }
  destroySockets(s: readonly SocketInfo[]): Promise<number> {
    this.destroyed.push(...s);
    return Promise.resolve(s.length);
  }
  conntrackComplete = true;
  listConntrack(): Promise<ConntrackListing> {
    return Promise.resolve({ entries: this.conntrack, complete: this.conntrackComplete });
  }
  plans: ConntrackPlan[] = [];
  applyConntrack(plan: ConntrackPlan): Promise<ConntrackResult> {
    this.plans.push(plan);
    return Promise.resolve({ deleted: plan.delete.length, updated: plan.mark.length, processes: 1, deleteProcesses: 1, strategy: 'tuple', walks: plan.delete.length, ms: 1, failures: [] });
  }
}

class FakeScheduler implements Scheduler {
  timers = new Map<number, { fn: () => void; ms: number }>();
  private n = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.n, { fn, ms });
    return this.n;
  }
  clearTimeout(t: unknown): void {
    this.timers.delete(t as number);
  }
  /** Fires every timer due within `ms` (longest wait first is irrelevant here). */
  fire(pred: (ms: number) => boolean): void {
    for (const [k, t] of [...this.timers]) {
      if (pred(t.ms)) {
        this.timers.delete(k);
        t.fn();
      }
    }
  }
}

function setup(cfgPatch: (c: Config) => void = () => undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'bw-iso-'));
  const config = defaultConfig();
  config.stateDir = dir;
  config.management = [{ address: 'mgmt.test', port: 8443 }];
  cfgPatch(config);
  const clock = new ManualClock(T0);
  const nft = new FakeNft();
  const killer = new FakeKiller();
  const sched = new FakeScheduler();
  const events: Record<string, unknown>[] = [];
  const reg = { current: new Registry() };
  const resolveCalls: string[] = [];
  let resolveFails = false;
  const make = (): IsolationManager => {
    reg.current = new Registry();
    return new IsolationManager({
      nft,
      killer,
      clock,
      log: silentLogger(),
      config,
      profiles: db,
      hostInfo: () => Promise.resolve({ dnsServers: ['198.51.100.12'], dhcpServers: [] }),
      resolve: (h) => {
        resolveCalls.push(h);
        return resolveFails ? Promise.reject(new Error('SERVFAIL')) : Promise.resolve(['198.51.100.13']);
      },
      agent: { kind: 'none' },
      agentPid: 4242,
      emitEvent: (e) => events.push(e),
      registry: reg.current,
      scheduler: sched,
      verifyIntervalMs: 5000,
    });
  };
  return { dir, config, clock, nft, killer, sched, events, get registry() { return reg.current; }, make, resolveCalls, failResolve: () => (resolveFails = true) };
}

const readState = (dir: string): IsolationState => JSON.parse(readFileSync(join(dir, 'isolation.json'), 'utf8')) as IsolationState;
const action = (e: Record<string, unknown> | undefined): unknown => (e?.isolation as { action?: string } | undefined)?.action;

test('manual isolation: deadline in the kernel, state file, severing, event, status', async () => {
  const t = setup();
  const m = t.make();
  await m.start();
  const st = await m.on({ mode: 'manual', by: 'cli', reason: 'incident 42' });
  assert.equal(t.resolveCalls[0], 'mgmt.test', 'management host resolved before the commit');
  const script = t.nft.scripts.at(-1)!;
  assert.ok(script.includes(`iso_on { ipv4 timeout ${8 * H}ms, ipv6 timeout ${8 * H}ms }`));
  assert.ok(script.includes('iso_rst { ipv4 timeout 20000ms'));
  assert.ok(script.includes('198.51.100.13 . 6 . 0-65535 . 8443'), 'management endpoint excluded');
  assert.ok(script.includes('198.51.100.12 . 17 . 0-65535 . 53'), 'DNS restricted to the resolver');
  assert.equal(t.nft.batches.length, 1, 'base chains installed because the table was missing');
  assert.deepEqual(t.killer.destroyed.map((s) => s.remote), ['198.51.100.10'], 'DNS flow spared, the rest cut');
  const s = readState(t.dir);
  assert.equal(s.active, true);
  assert.equal(s.endsAtMs, T0 + 8 * H);
  assert.equal(s.severed, 2, '1 socket + 1 conntrack entry');
  assert.equal(s.reason, 'incident 42');
  assert.deepEqual(s.managementAddresses, { 'mgmt.test': ['198.51.100.13'] });
  assert.equal(st.tag, 'ISOLATED FROM NETWORK');
  assert.equal(st.mode, 'manual');
  assert.equal(st.severed, 2);
  assert.equal(st.endsAt, new Date(T0 + 8 * H).toISOString());
  assert.equal(action(t.events[0]), 'on');
  const metrics = await t.registry.metrics();
  assert.match(metrics, /bulwark_isolation_active 1/);
  assert.match(metrics, /bulwark_isolation_severed_connections_total 2/);
  await m.stop();
});

test('a partial conntrack listing makes a plan that deletes only listed entries (no delete by mark)', async () => {
  const t = setup();
  t.killer.conntrackComplete = false;
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli', reason: 'partial table' });
  assert.equal(t.killer.plans.length, 1);
  assert.equal(t.killer.plans[0]!.partial, true);
  await m.stop();
  const u = setup();
  const m2 = u.make();
  await m2.start();
  await m2.on({ mode: 'manual', by: 'cli', reason: 'whole table' });
  assert.notEqual(u.killer.plans[0]!.partial, true);
  await m2.stop();
});

test('--for overrides; autoEnd off without --for ends after 5 h', async () => {
  const t = setup((c) => (c.isolation.autoEnd = false));
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli' });
  assert.equal(readState(t.dir).endsAtMs, T0 + 5 * H);
  await m.on({ mode: 'manual', by: 'cli', forMs: 90 * 60_000 });
  assert.equal(readState(t.dir).endsAtMs, T0 + 90 * 60_000);
  assert.ok(t.nft.scripts.at(-1)!.includes(`timeout ${90 * 60_000}ms`));
  await m.stop();
});

test('management host that does not resolve: last known addresses are kept', async () => {
  const t = setup();
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli' });
  await m.off('cli');
  t.failResolve();
  const st = await m.on({ mode: 'manual', by: 'cli' });
  assert.ok(t.nft.scripts.at(-1)!.includes('198.51.100.13 . 6 . 0-65535 . 8443'));
  assert.match(st.warnings[0]!, /did not resolve .*using last known 198\.51\.100\.13/);
  await m.stop();
});

test('restart: the stored deadline is re-applied with the time left', async () => {
  const t = setup();
  const m1 = t.make();
  await m1.start();
  await m1.on({ mode: 'manual', by: 'cli', forMs: 3 * H });
  await m1.stop();
  t.clock.advance(H);
  t.nft.scripts = [];
  const m2 = t.make();
  await m2.start();
  assert.equal(t.nft.scripts.length, 1);
  assert.ok(t.nft.scripts[0]!.includes(`iso_on { ipv4 timeout ${2 * H}ms, ipv6 timeout ${2 * H}ms }`), 'time left, not the full length');
  assert.match(await t.registry.metrics(), /bulwark_isolation_reapplied_total\{reason="restart"\} 1/);
  assert.equal(readState(t.dir).endsAtMs, T0 + 3 * H, 'absolute deadline unchanged');
  await m2.stop();
});

test('expired while the daemon was down: cleaned up, expired event, no re-apply', async () => {
  const t = setup();
  const m1 = t.make();
  await m1.start();
  await m1.on({ mode: 'manual', by: 'cli', forMs: 60_000 });
  await m1.stop();
  t.clock.advance(2 * 60_000);
  t.nft.scripts = [];
  t.events.length = 0;
  const m2 = t.make();
  await m2.start();
  assert.equal(t.nft.scripts.length, 1);
  assert.ok(t.nft.scripts[0]!.includes('delete set inet bulwark iso_on'));
  assert.ok(!t.nft.scripts[0]!.includes('add rule'));
  const s = readState(t.dir);
  assert.equal(s.active, false);
  assert.equal(s.endedBy, 'expired');
  assert.equal(action(t.events[0]), 'expired');
  await m2.stop();
});

test('deadline timer ends isolation and emits expired', async () => {
  const t = setup();
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli', forMs: 10_000 });
  t.clock.advance(10_000);
  t.sched.fire((ms) => ms === 10_000);
  await m.verify();
  assert.equal(readState(t.dir).active, false);
  assert.deepEqual(t.events.map(action), ['on', 'expired']);
  await m.stop();
});

test('tamper: rules gone while isolated are re-applied and counted', async () => {
  const t = setup();
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli' });
  t.nft.scripts = [];
  t.clock.advance(1000);
  const check = await m.verify();
  assert.equal(check?.missing, true);
  assert.equal(t.nft.scripts.length, 1);
  assert.ok(t.nft.scripts[0]!.includes(`timeout ${8 * H - 1000}ms`));
  assert.match(await t.registry.metrics(), /bulwark_isolation_reapplied_total\{reason="tamper"\} 1/);
  await m.stop();
});

function alert(severity: 'high' | 'critical', sid = 2000001): AlertEvent {
  return {
    timestamp: new Date(T0).toISOString(),
    flow_id: '1',
    event_type: 'alert',
    src_ip: '198.51.100.66',
    src_port: 4444,
    dest_ip: '198.51.100.11',
    dest_port: 80,
    proto: 'TCP',
    alert: { action: 'blocked', signature_id: sid, rev: 1, signature: 'Test.Attack', category: 'test', severity: 1 },
    bulwark: { event: 'Network attack detected', event_id: 'ev-1', attack: 'Test.Attack', severity, count: 1 },
  };
}

test('automatic isolation on a policy match uses the policy exclusions, not the device ones', async () => {
  const t = setup((c) => {
    c.isolation.policy = { enabled: true, severities: ['critical'], signatureIds: [], detectors: [] };
    c.isolation.exclusions = [{ direction: 'inbound', protocol: 'tcp', remoteAddress: '203.0.113.5', localPorts: '22', remotePorts: 'any', description: 'policy', status: 'active' }];
  });
  writeFileSync(
    join(t.dir, 'isolation-exclusions.json'),
    JSON.stringify({ version: 1, nextId: 2, suppressedProfileRules: [], exclusions: [{ id: 1, direction: 'inbound', protocol: 'tcp', remoteAddress: '198.51.100.21', localPorts: '22', remotePorts: 'any', description: 'device', status: 'active' }] }),
  );
  const m = t.make();
  await m.start();
  m.onAlert(alert('high'));
  await m.verify();
  assert.equal(t.nft.scripts.length, 0, 'severity high is not in the policy');
  m.onAlert(alert('critical'));
  await m.verify();
  const script = t.nft.scripts[0]!;
  assert.ok(script.includes('203.0.113.5 . 6 . 22 . 0-65535'));
  assert.ok(!script.includes('198.51.100.21'));
  const s = readState(t.dir);
  assert.equal(s.mode, 'automatic');
  assert.equal(s.event?.eventId, 'ev-1');
  assert.equal(s.reason, 'Test.Attack from 198.51.100.66');
  // Manual isolation uses the device list.
  await m.on({ mode: 'manual', by: 'cli' });
  assert.ok(t.nft.scripts.at(-1)!.includes('198.51.100.21 . 6 . 22 . 0-65535'));
  assert.ok(!t.nft.scripts.at(-1)!.includes('203.0.113.5'));
  await m.stop();
});

test('device list edits re-apply a manual isolation at once; limits refuse', async () => {
  const t = setup();
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli' });
  const before = t.nft.scripts.length;
  const r = await m.editDevice('add', undefined, { direction: 'inbound', protocol: 'tcp', remoteAddress: '198.51.100.10', localPorts: '9000', remotePorts: 'any' });
  assert.equal(r.appliedNow, true);
  assert.equal(t.nft.scripts.length, before + 1);
  assert.ok(t.nft.scripts.at(-1)!.includes('198.51.100.10 . 6 . 9000 . 0-65535'));
  assert.ok(!t.nft.scripts.at(-1)!.includes('iso_rst {'.concat(' ipv4')), 'no new RST window on a refresh');
  await assert.rejects(m.editDevice('add', undefined, { direction: 'inbound', remoteAddress: '0.0.0.0', localPorts: '1' }), /unspecified address/);
  await m.stop();
});

test('offline off: kernel lifted and state file updated without a daemon', async () => {
  const t = setup();
  const m = t.make();
  await m.start();
  await m.on({ mode: 'manual', by: 'cli' });
  await m.stop();
  const nft = new FakeNft();
  const r = await liftOffline(nft, t.dir, t.clock);
  assert.equal(r.wasActive, true);
  assert.ok(nft.scripts[0]!.includes('flush chain inet bulwark iso_in'));
  assert.equal(readState(t.dir).endedBy, 'cli-offline');
});

test('a damaged device list does not prevent isolation', async () => {
  const t = setup();
  writeFileSync(join(t.dir, 'isolation-exclusions.json'), '{ not json');
  const m = t.make();
  await m.start();
  const st = await m.on({ mode: 'manual', by: 'cli' });
  assert.equal(readState(t.dir).active, true);
  assert.match(st.warnings.join('\n'), /device exclusion list unusable/);
  await assert.rejects(m.editDevice('add', undefined, { direction: 'inbound', remoteAddress: '198.51.100.9', localPorts: '22' }), /not valid JSON/);
  await m.stop();
});
