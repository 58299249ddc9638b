import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ExclusionRule } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';
import {
  addDeviceExclusion,
  checkLimits,
  editDeviceExclusion,
  emptyDeviceFile,
  removeDeviceExclusion,
  selectRules,
  setDeviceExclusionStatus,
  validateExclusion,
  validatePolicyExclusions,
} from '../../../src/isolation/exclusions.js';
import { DEFAULT_PROFILES_PATH, parseProfiles } from '../../../src/isolation/profiles.js';

const db = parseProfiles(readFileSync(DEFAULT_PROFILES_PATH, 'utf8'));
const base = { direction: 'inbound', protocol: 'tcp', remoteAddress: '198.51.100.20', localPorts: '22', remotePorts: 'any', description: 'jump host', status: 'active' };

test('a valid exclusion is normalised', () => {
  const r = validateExclusion({ ...base, remoteAddress: '2001:DB8::1/64', localPorts: '8010-8020, 22' });
  assert.deepEqual(r, { direction: 'inbound', protocol: 'tcp', remoteAddress: '2001:db8::/64', localPorts: '22,8010-8020', remotePorts: 'any', description: 'jump host', status: 'active' });
  assert.equal(validateExclusion({ direction: 'outbound', remotePorts: '53' }).protocol, 'any');
});

test('every validation rule has a clear error', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, direction: 'sideways' }, /direction must be one of inbound, outbound, both/],
    [{ ...base, protocol: 'sctp' }, /protocol must be one of tcp, udp, icmp, any/],
    [{ ...base, remoteAddress: '0.0.0.0' }, /unspecified address \(0\.0\.0\.0 and :: alone are refused\)/],
    [{ ...base, remoteAddress: '::' }, /unspecified address/],
    [{ ...base, remoteAddress: '0.0.0.0/0' }, /matches every address/],
    [{ ...base, remoteAddress: '::/0' }, /matches every address/],
    [{ ...base, remoteAddress: 'db.example' }, /not an IPv4 or IPv6 address or CIDR/],
    [{ ...base, remoteAddress: 42 }, /remoteAddress must be a string/],
    [{ ...base, localPorts: '70000' }, /localPorts: "70000" is out of range/],
    [{ ...base, remotePorts: '9-1' }, /remotePorts: "9-1" is an empty range/],
    [{ ...base, protocol: 'icmp' }, /ICMP has no ports/],
    [{ ...base, remoteAddress: undefined, localPorts: 'any', remotePorts: 'any' }, /would lift isolation/],
    [{ ...base, status: 'on' }, /status must be active or inactive/],
    [{ ...base, description: 'x'.repeat(201) }, /longer than 200/],
    [{ ...base, description: 'a\nb' }, /control characters/],
    [{ ...base, colour: 'red' }, /unknown field "colour"/],
  ];
  for (const [rule, re] of cases) {
    assert.throws(() => validateExclusion(rule), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT') && re.test(e.message), JSON.stringify(rule));
  }
});

function many(direction: string, n: number): ExclusionRule[] {
  return Array.from({ length: n }, (_, i) => validateExclusion({ ...base, direction, remoteAddress: `198.51.100.${i + 1}` }));
}

test('limits: 50 inbound and 50 outbound; both counts for both', () => {
  checkLimits([...many('inbound', 50), ...many('outbound', 50)], 'device');
  assert.throws(() => { checkLimits(many('inbound', 51), 'device'); }, (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LIMIT') && /at most 50 inbound/.test(e.message));
  assert.throws(() => { checkLimits(many('outbound', 51), 'device'); }, /at most 50 outbound/);
  assert.throws(() => { checkLimits([...many('both', 30), ...many('outbound', 21)], 'device'); }, /at most 50 outbound.*makes 51/);
  checkLimits([...many('both', 30), ...many('inbound', 20), ...many('outbound', 20)], 'device');
  let file = emptyDeviceFile();
  for (let i = 0; i < 50; i++) file = addDeviceExclusion(file, { ...base, remoteAddress: `198.51.100.${i + 1}` }).file;
  assert.throws(() => addDeviceExclusion(file, { ...base, remoteAddress: '203.0.113.1' }), /at most 50 inbound/);
  file = addDeviceExclusion(file, { ...base, direction: 'outbound', remoteAddress: '203.0.113.1' }).file;
  assert.equal(file.exclusions.length, 51);
  assert.throws(() => validatePolicyExclusions([...many('inbound', 51)]), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
  assert.throws(() => validatePolicyExclusions([{ ...base, remoteAddress: '0.0.0.0' }]), /isolation\.exclusions\[0\]: .*unspecified/);
});

test('device list: add, edit, disable, enable, remove', () => {
  let f = emptyDeviceFile();
  const a = addDeviceExclusion(f, base);
  f = a.file;
  assert.equal(a.added.id, 1);
  f = editDeviceExclusion(f, '1', { localPorts: '2222' }, db).file;
  assert.equal(f.exclusions[0]!.localPorts, '2222');
  assert.equal(f.exclusions[0]!.remoteAddress, '198.51.100.20');
  f = setDeviceExclusionStatus(f, '1', 'inactive', db);
  assert.equal(f.exclusions[0]!.status, 'inactive');
  assert.throws(() => editDeviceExclusion(f, '1', { remoteAddress: '0.0.0.0' }, db), /unspecified/);
  assert.throws(() => removeDeviceExclusion(f, '7'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_NOT_FOUND'));
  assert.throws(() => removeDeviceExclusion(f, 'dns-client/1'), /read-only/);
  assert.throws(() => removeDeviceExclusion(f, 'x y'), /not an exclusion id/);
  f = removeDeviceExclusion(f, '1').file;
  assert.equal(f.exclusions.length, 0);
  assert.equal(addDeviceExclusion(f, base).added.id, 2, 'ids are never reused');
});

test('editing a profile rule creates a custom exclusion and leaves the profile unchanged', () => {
  const before = JSON.stringify([...db.profiles.entries()]);
  const f0 = emptyDeviceFile();
  assert.throws(() => editDeviceExclusion(f0, 'dns-client/1', { remotePorts: '53,5353' }, db), /uses \$DNS_SERVERS.*explicit remote address/);
  const r = editDeviceExclusion(f0, 'profile:dns-client/1', { remotePorts: '53,5353', remoteAddress: '198.51.100.12' }, db);
  assert.equal(r.created, true);
  assert.deepEqual(r.edited, {
    id: 1,
    fromProfile: 'dns-client/1',
    direction: 'outbound',
    protocol: 'udp',
    remoteAddress: '198.51.100.12',
    localPorts: 'any',
    remotePorts: '53,5353',
    description: 'DNS queries over UDP',
    status: 'active',
  });
  assert.deepEqual(r.file.suppressedProfileRules, ['dns-client/1']);
  const r2 = editDeviceExclusion(f0, 'dns-server/2', { localPorts: '5353' }, db);
  assert.equal(r2.edited.remoteAddress, undefined);
  assert.equal(r2.edited.protocol, 'tcp');
  assert.equal(JSON.stringify([...db.profiles.entries()]), before, 'profile database untouched');
  assert.throws(() => editDeviceExclusion(f0, 'nosuch/1', {}, db), /no network profile "nosuch"/);
  assert.throws(() => editDeviceExclusion(f0, 'dns-client/9', {}, db), /has no rule 9/);
});

test('scopes: device exclusions only for manual isolation, policy exclusions only for automatic', () => {
  let device = addDeviceExclusion(emptyDeviceFile(), { ...base, remoteAddress: '198.51.100.21', description: 'device rule' }).file;
  device = addDeviceExclusion(device, { ...base, remoteAddress: '198.51.100.22', status: 'inactive' }).file;
  device = setDeviceExclusionStatus(device, 'dns-server/1', 'inactive', db);
  const policy = [validateExclusion({ ...base, remoteAddress: '203.0.113.5', description: 'policy rule' })];
  const common = { profiles: ['dns-client', 'dns-server'], db, host: { dnsServers: ['198.51.100.12'], dhcpServers: [] }, device, policy, management: [{ endpoint: { address: 'mgmt.example', port: 8443 }, addresses: ['198.51.100.13'] }] };
  const manual = selectRules({ ...common, mode: 'manual' });
  const auto = selectRules({ ...common, mode: 'automatic' });
  const ids = (rs: { id: string }[]): string[] => rs.map((r) => r.id);
  assert.deepEqual(ids(manual), ['management/0', 'profile:dns-client/1', 'profile:dns-client/2', 'profile:dns-server/2', 'device/1']);
  assert.deepEqual(ids(auto), ['management/0', 'profile:dns-client/1', 'profile:dns-client/2', 'profile:dns-server/1', 'profile:dns-server/2', 'policy/1']);
  assert.deepEqual(manual.find((r) => r.id === 'profile:dns-client/1')!.remote, ['198.51.100.12'], 'DNS profile restricted to the known resolver');
  const noResolver = selectRules({ ...common, host: { dnsServers: [], dhcpServers: [] }, mode: 'manual' });
  assert.equal(noResolver.find((r) => r.id === 'profile:dns-client/1')!.remote, 'any');
  assert.deepEqual(manual[0], {
    id: 'management/0',
    source: 'management',
    direction: 'outbound',
    protocol: 'tcp',
    remote: ['198.51.100.13'],
    localPorts: 'any',
    remotePorts: [{ from: 8443, to: 8443 }],
    description: 'management mgmt.example',
  });
});
