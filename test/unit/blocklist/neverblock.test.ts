import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../../src/config/types.js';
import { NeverBlockList, hostFromSocketAddress, parseSsPeers } from '../../../src/blocklist/neverblock.js';
import { refreshNeverBlock } from '../../../src/blocklist/adapters.js';
import { silentLogger } from '../../../src/log/index.js';

test('loopback is always on the list, v4 and v6', () => {
  const l = new NeverBlockList();
  assert.equal(l.match('127.0.0.1')?.source, 'loopback');
  assert.equal(l.match('127.255.0.9')?.source, 'loopback');
  assert.equal(l.match('::1')?.source, 'loopback');
  assert.equal(l.match('198.51.100.7'), undefined);
});

test('a block overlapping a never-block range is matched, also when the block is the wider one', () => {
  const l = new NeverBlockList();
  l.set('management', ['198.51.100.5']);
  l.set('config', ['2001:db8:1::/48']);
  assert.deepEqual(l.match('198.51.100.5'), { source: 'management', cidr: '198.51.100.5' });
  assert.equal(l.match('198.51.100.0/24')?.source, 'management', 'a CIDR containing the management host');
  assert.equal(l.match('0.0.0.0/0')?.source, 'loopback');
  assert.equal(l.match('2001:db8:1:2::9')?.source, 'config');
  assert.equal(l.match('2001:db8:2::9'), undefined);
  assert.equal(l.match('198.51.100.6'), undefined);
});

test('sources are replaced as a whole; generation bumps only on a real change; ranges are merged', () => {
  const l = new NeverBlockList();
  const g0 = l.generation;
  assert.equal(l.set('interface', ['198.51.100.10', '198.51.100.11']).changed, true);
  assert.equal(l.set('interface', ['198.51.100.11', '198.51.100.10']).changed, false);
  assert.equal(l.generation, g0 + 1);
  assert.equal(l.ranges().filter((r) => r.family === 4 && r.first >= 0xc6336400n && r.last <= 0xc63364ffn).length, 1, 'the two adjacent hosts merged into one range');
  l.set('interface', ['198.51.100.12']);
  assert.equal(l.match('198.51.100.10'), undefined, 'an address that left the interface is no longer protected');
  const r = l.set('config', ['nonsense', '203.0.113.0/24']);
  assert.deepEqual(r.invalid, ['nonsense']);
  assert.equal(l.match('203.0.113.77')?.source, 'config');
});

test('special addresses are never blocked: unspecified, broadcast, multicast (solicited-node groups too)', () => {
  const l = new NeverBlockList();
  for (const a of ['0.0.0.0', '0.1.2.3', '255.255.255.255', '224.0.0.1', '239.255.255.250', '::', 'ff02::1', 'ff02::1:ff00:2', 'ff05::2']) {
    assert.equal(l.match(a)?.source, 'special', a);
  }
  assert.equal(l.match('198.51.100.0/23'), undefined, 'ordinary unicast CIDRs are not special');
  assert.equal(l.match('2001:db8::/32'), undefined);
  assert.equal(l.match('fe80::1'), undefined, 'link-local unicast can be an attacker on the link');
  assert.equal(l.match('192.0.0.0/2')?.source, 'special', 'a CIDR over 224.0.0.0/4');
});

test('ss output: peers of port-22 connections, v4, v6, v4-mapped, with and without the state column', () => {
  const out = [
    '0      0      198.51.100.11:22     198.51.100.10:53422',
    '0      0      [2001:db8:b1::b]:22  [2001:db8:b1::a]:40000',
    '0      0      [::ffff:198.51.100.11]:22  [::ffff:203.0.113.9]:5555',
    'ESTAB  0      0      198.51.100.11:22     198.51.100.99:1',
    '0      0      [fe80::1%eth0]:22 [fe80::2%eth0]:3333',
    '',
  ].join('\n');
  assert.deepEqual(parseSsPeers(out).sort(), ['198.51.100.10', '198.51.100.99', '2001:db8:b1::a', '203.0.113.9', 'fe80::2'].sort());
  assert.equal(hostFromSocketAddress('garbage'), undefined);
  assert.equal(hostFromSocketAddress('[::FFFF:203.0.113.9]:22'), '203.0.113.9', 'the shared normalisation, any case');
  assert.equal(hostFromSocketAddress('[0:0:0:0:0:ffff:cb00:7109]:22'), '203.0.113.9');
});

test('refreshNeverBlock fills every source from adapters and keeps the sessions, gateways and resolvers when a read fails', async () => {
  const l = new NeverBlockList();
  let fails = false;
  const src = {
    interfaces: () => ['198.51.100.11', 'fe80::1'],
    sessions: () => (fails ? Promise.reject(new Error('proc unreadable')) : Promise.resolve(['203.0.113.50'])),
    management: (m: { address: string }[]) => Promise.resolve(m.map((x) => x.address)),
    gateways: () => (fails ? Promise.reject(new Error('ip missing')) : Promise.resolve(['198.51.100.1', 'fe80::1:1'])),
    resolvers: () => (fails ? Promise.reject(new Error('no file')) : Promise.resolve(['203.0.113.53'])),
  };
  const cfg = { neverBlock: ['2001:db8:9::/48'], neverBlockSshClients: true, neverBlockGateways: true, neverBlockResolvers: true, management: [{ address: '203.0.113.10' }], isolation: defaultConfig().isolation };
  assert.equal(await refreshNeverBlock(l, cfg, src, silentLogger()), true);
  assert.equal(l.match('198.51.100.11')?.source, 'interface');
  assert.equal(l.match('203.0.113.50')?.source, 'session');
  assert.equal(l.match('203.0.113.10')?.source, 'management');
  assert.equal(l.match('2001:db8:9::1')?.source, 'config');
  assert.equal(l.match('198.51.100.1')?.source, 'gateway');
  assert.equal(l.match('fe80::1:1')?.source, 'gateway');
  assert.equal(l.match('203.0.113.53')?.source, 'resolver');
  fails = true;
  assert.equal(await refreshNeverBlock(l, cfg, src, silentLogger()), false);
  assert.equal(l.match('203.0.113.50')?.source, 'session', 'kept after a failed read');
  assert.equal(l.match('198.51.100.1')?.source, 'gateway', 'kept after a failed read');
  assert.equal(l.match('203.0.113.53')?.source, 'resolver', 'kept after a failed read');
  fails = false;
  await refreshNeverBlock(l, { ...cfg, neverBlockSshClients: false, neverBlockGateways: false, neverBlockResolvers: false }, src, silentLogger());
  assert.equal(l.match('203.0.113.50'), undefined);
  assert.equal(l.match('198.51.100.1'), undefined);
  assert.equal(l.match('203.0.113.53'), undefined);
});

test('the broadcast address of each of the host\'s IPv4 subnets is never blocked (real interfaces)', async () => {
  const { interfaceBroadcasts, realNeverBlockSources } = await import('../../../src/blocklist/adapters.js');
  const { networkInterfaces } = await import('node:os');
  const { subnetBroadcast } = await import('../../../src/blocklist/address.js');
  const want = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => (a.cidr === null ? undefined : subnetBroadcast(a.cidr)))).filter((b): b is string => b !== undefined);
  assert.ok(want.length > 0, 'the test host has an IPv4 subnet (lo: 127.255.255.255)');
  assert.deepEqual(interfaceBroadcasts().sort(), [...new Set(want)].sort());
  const l = new NeverBlockList();
  await refreshNeverBlock(l, { neverBlock: [], neverBlockSshClients: false, neverBlockGateways: false, neverBlockResolvers: false, management: [], isolation: defaultConfig().isolation }, realNeverBlockSources(silentLogger()), silentLogger());
  for (const b of want) assert.ok(l.match(b) !== undefined, b);
});
