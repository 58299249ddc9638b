import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PROFILES_PATH, checkProfileNames, parseLeases, parseProfiles, parseResolvConf, readHostNetInfo } from '../../../src/isolation/profiles.js';
import { defaultConfig } from '../../../src/config/types.js';

test('the shipped profiles load and include every default profile', () => {
  const db = parseProfiles(readFileSync(DEFAULT_PROFILES_PATH, 'utf8'));
  for (const n of ['dns-client', 'dns-server', 'dhcp-client', 'dhcp-server', 'ntp-client']) assert.ok(db.profiles.has(n), n);
  checkProfileNames(db, defaultConfig().isolation.profiles);
  assert.throws(() => { checkProfileNames(db, ['dns-client', 'nope']); }, /unknown network profile nope/);
  assert.equal(db.profiles.get('dns-client')!.rules[0]!.remoteAddress, '$DNS_SERVERS');
});

test('profile database errors name the profile and rule', () => {
  assert.throws(() => parseProfiles('version: 2\nprofiles: {}'), /version must be 1/);
  assert.throws(() => parseProfiles('version: 1\nprofiles:\n  x:\n    rules:\n      - { direction: up, protocol: tcp }'), /profile x rule 1: bad direction/);
  assert.throws(() => parseProfiles('version: 1\nprofiles:\n  x:\n    rules:\n      - { direction: inbound, protocol: tcp, localPorts: "99999" }'), /profile x rule 1: localPorts/);
  assert.throws(() => parseProfiles('version: 1\nprofiles:\n  x:\n    rules:\n      - { direction: inbound, protocol: tcp, remoteAddress: nowhere }'), /profile x rule 1: "nowhere" is not/);
});

test('resolvers and DHCP servers of the host: loopback stubs skipped, leases of dhclient and networkd', async () => {
  assert.deepEqual(parseResolvConf('# x\nnameserver 127.0.0.53\nnameserver 198.51.100.12\nnameserver fe80::1%eth0\nnameserver 198.51.100.12\noptions edns0\n'), ['198.51.100.12', 'fe80::1']);
  assert.deepEqual(parseLeases('lease {\n  option dhcp-server-identifier 198.51.100.1;\n}\n'), ['198.51.100.1']);
  assert.deepEqual(parseLeases('ADDRESS=198.51.100.11\nSERVER_ADDRESS=198.51.100.2\n'), ['198.51.100.2']);
  const dir = mkdtempSync(join(tmpdir(), 'bw-hostinfo-'));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.53\n');
  writeFileSync(join(dir, 'resolved.conf'), 'nameserver 203.0.113.53\n');
  mkdirSync(join(dir, 'leases'));
  writeFileSync(join(dir, 'leases', '2'), 'SERVER_ADDRESS=198.51.100.2\n');
  writeFileSync(join(dir, 'leases', 'notes.txt'), 'SERVER_ADDRESS=198.51.100.99\n');
  const info = await readHostNetInfo({ resolvConf: [join(dir, 'resolv.conf'), join(dir, 'resolved.conf'), join(dir, 'missing')], leaseDirs: [join(dir, 'leases'), join(dir, 'nodir')] });
  assert.deepEqual(info, { dnsServers: ['203.0.113.53'], dhcpServers: ['198.51.100.2'] });
});
