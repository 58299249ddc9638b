/** The host side of fleet mode over the in-memory connection: decisions, orders, policy, events. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createUser } from '@nats-io/nkeys';
import { ManualClock } from '../../../src/clock.js';
import { silentLogger } from '../../../src/log/index.js';
import { FleetAgent } from '../../../src/fleet/agent.js';
import { PolicyStore } from '../../../src/fleet/policy-store.js';
import { signerFromSeed, type Signer } from '../../../src/fleet/sign.js';
import { subjects } from '../../../src/fleet/subjects.js';
import { listSharedBlocks, unblockEverywhere, updatePolicy } from '../../../src/fleet/operator.js';
import { KV_HOSTS, STREAM_DECISIONS, STREAM_EVENTS, STREAM_ORDERS, type ShareScope } from '../../../src/fleet/types.js';
import type { BlockResult } from '../../../src/blocklist/types.js';
import { FakeFleetConnection, FakeNats, flushAsync } from './fake.js';

const NOW = 1_800_000_000_000;
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;

function cluster(): FakeNats {
  const n = new FakeNats();
  n.addStream(STREAM_DECISIONS, ['bulwark.decisions.>'], 1);
  n.addStream(STREAM_ORDERS, ['bulwark.orders.>']);
  n.addStream(STREAM_EVENTS, ['bulwark.events.>']);
  return n;
}

const operator: Signer = signerFromSeed(new TextDecoder().decode(createUser().getSeed()));

interface Host {
  agent: FleetAgent;
  conn: FakeFleetConnection;
  blocks: { address: string; durationMs: number; reason: string }[];
  unblocks: string[];
  orders: string[];
  policyChanges: number;
  store: PolicyStore;
  registry: Registry;
}

function host(nats: FakeNats, clock: ManualClock, hostId: string, groups: string[], o: { share?: ShareScope; maxPerMinute?: number; mode?: 'block' | 'alert'; onUnblock?: () => void } = {}): Host {
  const conn = new FakeFleetConnection(nats);
  const registry = new Registry();
  const store = new PolicyStore(hostId, groups, new Set([operator.publicKey]), undefined);
  const h: Host = { agent: undefined as unknown as FleetAgent, conn, blocks: [], unblocks: [], orders: [], policyChanges: 0, store, registry };
  h.agent = new FleetAgent({
    conn,
    clock,
    log: silentLogger(),
    registry,
    hostId,
    name: `host ${hostId}`,
    groups,
    operators: [operator.publicKey],
    version: 'test',
    maxDecisionsPerMinute: o.maxPerMinute ?? 600,
    heartbeatMs: 60_000,
    stateDir: undefined,
    share: () => o.share ?? 'fleet',
    mode: () => o.mode ?? 'block',
    target: {
      block: (address, b): Promise<BlockResult> => {
        h.blocks.push({ address, durationMs: b.durationMs, reason: b.reason });
        return Promise.resolve({ status: 'blocked', entry: { address, family: 4, reason: b.reason, source: 'fleet', blockedAtMs: clock.now(), expiresAtMs: clock.now() + b.durationMs } });
      },
      unblock: (address) => {
        h.unblocks.push(address);
        o.onUnblock?.();
        return Promise.resolve(1);
      },
      kernelHas: () => Promise.resolve(false),
    },
    exec: {
      isolate: (a) => {
        h.orders.push(`isolate ${String(a.forMs)}`);
        return Promise.resolve({ isolated: true, tag: 'ISOLATED FROM NETWORK' });
      },
      release: () => {
        h.orders.push('release');
        return Promise.resolve({ wasActive: true });
      },
      exclusion: (op) => {
        h.orders.push(`exclusion ${op}`);
        return Promise.resolve({});
      },
    },
    policy: store,
    onPolicyChanged: () => {
      h.policyChanges++;
      return Promise.resolve();
    },
    hostState: () => ({ protection: { enabled: true }, blocks: h.blocks.length, isolation: { isolated: false } }),
  });
  return h;
}

/** Hosts a and b (no groups) on a fresh cluster, started; `bOpts` configures b. */
function twoHosts(bOpts: Parameters<typeof host>[4] = {}): { nats: FakeNats; clock: ManualClock; a: Host; b: Host } {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const a = host(nats, clock, 'a', []);
  const b = host(nats, clock, 'b', [], bOpts);
  a.agent.start();
  b.agent.start();
  return { nats, clock, a, b };
}

async function dropped(h: Host, kind: string, reason: string): Promise<number> {
  const m = (await h.registry.getSingleMetric('bulwark_fleet_messages_dropped_total')?.get())?.values ?? [];
  return m.filter((v) => v.labels.kind === kind && v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
}

test('a block shared by one host is applied by the others with the time left; group scope reaches only the group', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const a = host(nats, clock, 'a', ['web'], { share: 'group' });
  const b = host(nats, clock, 'b', ['web']);
  const c = host(nats, clock, 'c', ['db']);
  for (const h of [a, b, c]) h.agent.start();
  a.agent.shareBlock('198.51.100.7', NOW + 3_600_000, 'ET EXPLOIT Log4j', 2034647);
  await flushAsync();
  assert.deepEqual(b.blocks.map((x) => [x.address, x.durationMs]), [['198.51.100.7', 3_600_000]]);
  assert.match(b.blocks[0]!.reason, /from a/);
  assert.deepEqual(c.blocks, [], 'c is not in group web');
  assert.deepEqual(a.blocks, [], 'a does not re-apply its own decision');
  // The same block again (a folded repeat) is not re-published.
  a.agent.shareBlock('198.51.100.7', NOW + 3_600_000, 'ET EXPLOIT Log4j', 2034647);
  await flushAsync();
  assert.equal(nats.streams.get(STREAM_DECISIONS)!.msgs.length, 1);
});

test('a host that starts later catches up with blocks still in force, with the time left; expired ones are dropped', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const a = host(nats, clock, 'a', []);
  a.agent.start();
  a.agent.shareBlock('198.51.100.7', NOW + 600_000, 'r', undefined);
  a.agent.shareBlock('198.51.100.8', NOW + 60_000, 'r', undefined);
  await flushAsync();
  clock.advance(120_000);
  const late = host(nats, clock, 'late', []);
  late.agent.start();
  await flushAsync();
  assert.deepEqual(late.blocks.map((x) => [x.address, x.durationMs]), [['198.51.100.7', 480_000]]);
  assert.equal(await dropped(late, 'decision', 'expired'), 1);
});

test('only signed operator decisions unblock; a host cannot unblock, impersonate another origin, or exceed its rate', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const b = host(nats, clock, 'b', [], { maxPerMinute: 2 });
  b.agent.start();
  const d = (o: Record<string, unknown>): Record<string, unknown> => ({ v: 1, id: 'i', kind: 'block', address: '198.51.100.9', origin: 'a', reason: 'r', decidedAt: NOW, expiresAt: NOW + 60_000, ...o });
  nats.store(subjects.decision('fleet', '198.51.100.9', 'a'), enc(d({ kind: 'unblock' })));
  nats.store(subjects.decision('fleet', '198.51.100.9', 'a'), enc(d({ origin: 'x' })));
  nats.store(subjects.decision('fleet', '198.51.100.9', 'operator'), enc(d({ kind: 'unblock', origin: 'operator' })));
  await flushAsync();
  assert.deepEqual(b.unblocks, []);
  assert.equal(await dropped(b, 'decision', 'not-allowed'), 2);
  assert.equal(await dropped(b, 'decision', 'unsigned'), 1);
  for (const ip of ['198.51.100.20', '198.51.100.21', '198.51.100.22']) nats.store(subjects.decision('fleet', ip, 'a'), enc(d({ address: ip })));
  await flushAsync();
  assert.equal(b.blocks.length, 2);
  assert.equal(await dropped(b, 'decision', 'rate-limit'), 1);
});

test('fleet unblock: signed, newest wins over the blocks before it, acknowledged; a later block wins again', async () => {
  const { nats, clock, a, b } = twoHosts();
  a.agent.shareBlock('198.51.100.7', NOW + 3_600_000, 'r', undefined);
  await flushAsync();
  const opConn = new FakeFleetConnection(nats);
  const ops = { conn: opConn, clock, signer: operator, trusted: new Set([operator.publicKey]) };
  assert.equal((await listSharedBlocks(ops)).length, 1);
  const r = await unblockEverywhere(ops, '198.51.100.7', 50);
  assert.deepEqual(b.unblocks, ['198.51.100.7']);
  assert.deepEqual(a.unblocks, ['198.51.100.7'], 'the origin host clears its own block too');
  assert.deepEqual(r.acks.map((x) => [x.host, x.ok]), [['a', true], ['b', true]]);
  assert.equal((await listSharedBlocks(ops)).length, 0);
  // A host starting now replays both in stream order: the block, then the newer unblock removes it.
  const late = host(nats, clock, 'late', []);
  late.agent.start();
  await flushAsync();
  assert.equal(late.blocks.length, 1);
  assert.deepEqual(late.unblocks, ['198.51.100.7']);
  a.agent.shareBlock('198.51.100.7', NOW + 7_200_000, 'again', undefined);
  await flushAsync();
  assert.equal(late.blocks.length, 2);
  assert.equal((await listSharedBlocks(ops))[0]?.origins.join(), 'a');
});

test('an unblock applied while the connection drops is still acknowledged (sent once reconnected)', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  // b's connection is lost while it removes the address (the message arrived just before).
  const b: Host = host(nats, clock, 'b', [], {
    onUnblock: () => {
      b.conn.setState('reconnecting');
    },
  });
  b.agent.start();
  const ops = { conn: new FakeFleetConnection(nats), clock, signer: operator, trusted: new Set([operator.publicKey]) };
  const r = unblockEverywhere(ops, '198.51.100.7', 5000);
  await flushAsync();
  assert.deepEqual(b.unblocks, ['198.51.100.7']);
  assert.equal(b.conn.state, 'reconnecting');
  b.conn.setState('connected');
  await flushAsync();
  const res = await r;
  assert.deepEqual(res.acks.map((x) => [x.host, x.ok]), [['b', true]]);
});

test('fleet unblock is published even when the fleet view cannot be read; the error says so', async () => {
  const { nats, clock, b } = twoHosts();
  const opConn = new FakeFleetConnection(nats);
  opConn.kvKeys = () => Promise.reject(new Error('timeout'));
  const ops = { conn: opConn, clock, signer: operator, trusted: new Set([operator.publicKey]) };
  await assert.rejects(unblockEverywhere(ops, '198.51.100.7', 5000), /published \(sequence \d+; every host applies it\), but the fleet view .* timeout/);
  await flushAsync();
  assert.deepEqual(b.unblocks, ['198.51.100.7']);
});

test('decisions made while NATS is unreachable are queued and shared on reconnect', async () => {
  const { a, b } = twoHosts();
  a.conn.setState('reconnecting');
  a.agent.shareBlock('198.51.100.7', NOW + 3_600_000, 'r', undefined);
  await flushAsync();
  assert.deepEqual(b.blocks, []);
  assert.equal(a.agent.status().decisionsQueued, 1);
  a.conn.setState('connected');
  await flushAsync();
  assert.equal(b.blocks.length, 1);
  assert.equal(a.agent.status().decisionsQueued, 0);
});

test('alert mode hosts do not apply shared blocks', async () => {
  const { a, b } = twoHosts({ mode: 'alert' });
  a.agent.shareBlock('198.51.100.7', NOW + 3_600_000, 'r', undefined);
  await flushAsync();
  assert.deepEqual(b.blocks, []);
});

test('orders: signed and for this host only, executed once (idempotent), acknowledged; unsigned, foreign, expired dropped', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const b = host(nats, clock, 'b', []);
  b.agent.start();
  const order = (o: Record<string, unknown>): Record<string, unknown> => ({ v: 1, id: 'o1', kind: 'isolate', host: 'b', issuedAt: NOW, expiresAt: NOW + 60_000, args: { forMs: 3_600_000 }, ...o });
  const signed = (o: Record<string, unknown>): Uint8Array => enc(operator.sign(JSON.stringify(order(o))));
  nats.store(subjects.orders('b'), signed({}));
  nats.store(subjects.orders('b'), signed({}));
  await flushAsync();
  assert.deepEqual(b.orders, ['isolate 3600000']);
  const acks = nats.published.filter((p) => p.subject === subjects.acks('b', 'o1')).map((p) => dec(p.data));
  assert.equal(acks.length, 2, 'the repeat is answered with the first ack');
  assert.deepEqual(acks[0]!.result, { isolated: true, tag: 'ISOLATED FROM NETWORK' });
  nats.store(subjects.orders('b'), enc(order({ id: 'o2' })));
  nats.store(subjects.orders('b'), signed({ id: 'o3', host: 'c' }));
  nats.store(subjects.orders('b'), signed({ id: 'o4', expiresAt: NOW - 1 }));
  const stranger = signerFromSeed(new TextDecoder().decode(createUser().getSeed()));
  nats.store(subjects.orders('b'), enc(stranger.sign(JSON.stringify(order({ id: 'o5' })))));
  await flushAsync();
  assert.deepEqual(b.orders, ['isolate 3600000']);
  for (const r of ['unsigned', 'other-host', 'expired', 'unknown-key']) assert.equal(await dropped(b, 'order', r), 1, r);
  nats.store(subjects.orders('b'), signed({ id: 'o6', kind: 'release', args: {} }));
  nats.store(subjects.orders('b'), signed({ id: 'o7', kind: 'exclusion', args: { op: 'list' } }));
  await flushAsync();
  assert.deepEqual(b.orders, ['isolate 3600000', 'release', 'exclusion list']);
});

test('policy: signed documents for the host\'s keys apply live; a bad signature keeps the previous one', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const b = host(nats, clock, 'b', ['web']);
  b.agent.start();
  const opConn = new FakeFleetConnection(nats);
  const ops = { conn: opConn, clock, signer: operator, trusted: new Set([operator.publicKey]) };
  await updatePolicy(ops, 'group.web', { set: { protection: false, blockDuration: '2h' }, lock: ['protection'] });
  await flushAsync();
  assert.equal(b.policyChanges, 1);
  assert.deepEqual(b.store.effective.settings, { protection: false, blockDuration: 7_200_000 });
  assert.equal(b.store.effective.locked.protection, 'group.web');
  await updatePolicy(ops, 'group.db', { set: { protection: true } });
  await flushAsync();
  assert.equal(b.policyChanges, 1, 'not a group of b');
  const stranger = signerFromSeed(new TextDecoder().decode(createUser().getSeed()));
  nats.kvPut('bulwark-policy', 'group.web', enc(stranger.sign(JSON.stringify({ v: 1, key: 'group.web', settings: { protection: true }, locks: [], updatedAt: 2 }))));
  await flushAsync();
  assert.equal(b.store.effective.settings.protection, false);
  assert.equal(await dropped(b, 'policy', 'unknown-key'), 1);
});

test('events go to bulwark.events.<host>.<type> with the host named; the heartbeat fills the fleet view', async () => {
  const nats = cluster();
  const clock = new ManualClock(NOW);
  const b = host(nats, clock, 'b', ['web']);
  b.agent.start();
  b.agent.publishEvent({ event_type: 'alert', src_ip: '198.51.100.7' });
  const ev = nats.published.find((p) => p.subject === 'bulwark.events.b.alert');
  assert.deepEqual((ev ? dec(ev.data) : {}).host, { id: 'b', name: 'host b' });
  await flushAsync();
  const rec = nats.kv.get(KV_HOSTS)?.get('b');
  assert.ok(rec?.value);
  assert.deepEqual(dec(rec.value).groups, ['web']);
  await b.agent.stop();
});
