import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrRange, mergeRanges, normalizeAddress, parseCidr, rangeAsCidr, rangesOverlap, subnetBroadcast } from '../../../src/blocklist/address.js';
import { isBulwarkError } from '../../../src/errors.js';

test('IPv4 addresses and CIDRs normalise; /32 is written as a host', () => {
  assert.equal(normalizeAddress('198.51.100.7'), '198.51.100.7');
  assert.equal(normalizeAddress(' 198.51.100.7/32 '), '198.51.100.7');
  assert.equal(normalizeAddress('198.51.100.0/24'), '198.51.100.0/24');
  assert.equal(normalizeAddress('0.0.0.0/0'), '0.0.0.0/0');
});

test('IPv6 compressed, expanded, upper-case and v4-mapped forms normalise to RFC 5952', () => {
  assert.equal(normalizeAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(normalizeAddress('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
  assert.equal(normalizeAddress('2001:db8:0:1:0:0:0:0/64'), '2001:db8:0:1::/64');
  assert.equal(normalizeAddress('::'), '::');
  assert.equal(normalizeAddress('::1/128'), '::1');
  assert.equal(normalizeAddress('2001:db8:1:0:1:0:1:0'), '2001:db8:1:0:1:0:1:0');
  assert.equal(normalizeAddress('2001:db8::ffff:c633:6407'), '2001:db8::ffff:c633:6407');
  assert.equal(normalizeAddress('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
});

test('a CIDR with host bits is refused and the message names the network', () => {
  assert.throws(() => parseCidr('198.51.100.7/24'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT') && e.message.includes('198.51.100.0/24'));
  assert.throws(() => parseCidr('2001:db8::1/64'), /2001:db8::\/64/);
});

test('garbage, zone ids, bad prefixes are refused with BULWARK_ERR_INVALID_ARGUMENT', () => {
  for (const bad of ['', 'foo', '198.51.100', '198.51.100.256', '198.51.100.7/33', '2001:db8::/129', '198.51.100.0/-1', '198.51.100.0/', 'fe80::1%eth0', '1.2.3.4/24x', '2001:db8:::1']) {
    assert.throws(() => normalizeAddress(bad), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'), bad);
  }
});

test('ranges: overlap, merge of overlapping and adjacent, and exact-CIDR detection', () => {
  const r = (s: string) => cidrRange(parseCidr(s));
  assert.ok(rangesOverlap(r('198.51.100.0/24'), r('198.51.100.7')));
  assert.ok(!rangesOverlap(r('198.51.100.0/25'), r('198.51.100.128/25')));
  assert.ok(!rangesOverlap(r('::/0'), r('0.0.0.0/0')), 'families never overlap');
  const m = mergeRanges([r('198.51.100.128/25'), r('198.51.100.0/25'), r('198.51.100.7'), r('2001:db8::/64'), r('127.0.0.0/8')]);
  assert.equal(m.length, 3);
  assert.deepEqual(rangeAsCidr(m[1]!), parseCidr('198.51.100.0/24'));
  assert.equal(rangeAsCidr({ family: 4, first: 10n, last: 20n }), undefined);
  assert.deepEqual(rangeAsCidr(r('2001:db8::/64')), parseCidr('2001:db8::/64'));
});

test('IPv4-mapped addresses and CIDRs are their IPv4 form (every check sees one spelling)', () => {
  assert.equal(normalizeAddress('::ffff:198.51.100.7'), '198.51.100.7');
  assert.equal(normalizeAddress('::FFFF:c633:6407'), '198.51.100.7');
  assert.equal(normalizeAddress('0:0:0:0:0:ffff:198.51.100.7'), '198.51.100.7');
  assert.equal(normalizeAddress('::ffff:198.51.100.0/120'), '198.51.100.0/24');
  assert.equal(normalizeAddress('::ffff:0.0.0.0/96'), '0.0.0.0/0');
  assert.equal(normalizeAddress('::ffff:198.51.100.7/128'), '198.51.100.7');
  assert.deepEqual(parseCidr('::ffff:198.51.100.7'), parseCidr('198.51.100.7'));
  assert.equal(normalizeAddress('::/80'), '::/80', 'a prefix wider than the mapped range stays IPv6');
  assert.throws(() => parseCidr('::ffff:198.51.100.7/120'), /did you mean 198\.51\.100\.0\/24/);
  assert.deepEqual(parseCidr('::ffff:198.51.100.7/120', { clearHostBits: true }), parseCidr('198.51.100.0/24'));
});

test('subnet broadcast of an interface address', () => {
  assert.equal(subnetBroadcast('198.51.100.2/24'), '198.51.100.255');
  assert.equal(subnetBroadcast('10.1.2.3/8'), '10.255.255.255');
  assert.equal(subnetBroadcast('203.0.113.5/30'), '203.0.113.7');
  assert.equal(subnetBroadcast('203.0.113.5/31'), undefined);
  assert.equal(subnetBroadcast('2001:db8::1/64'), undefined);
  assert.equal(subnetBroadcast('garbage'), undefined);
});
