import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, cidrText, parsePorts, portsText, cidrContains } from '../../../src/isolation/addr.js';
import { isBulwarkError } from '../../../src/errors.js';

test('addresses and CIDRs are normalised the way nft prints them', () => {
  assert.equal(cidrText(parseCidr('198.51.100.7')), '198.51.100.7');
  assert.equal(cidrText(parseCidr('198.51.100.7/24')), '198.51.100.0/24');
  assert.equal(cidrText(parseCidr('2001:DB8:0:0::1')), '2001:db8::1');
  assert.equal(cidrText(parseCidr('2001:db8::5/64')), '2001:db8::/64');
  assert.equal(cidrText(parseCidr('203.0.113.9/32')), '203.0.113.9');
  for (const bad of ['198.51.100.300', '198.51.100.0/33', '2001:db8::/129', 'example.com', 'fe80::1%eth0', '', '1.2.3.4/x']) {
    assert.throws(() => parseCidr(bad), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'), bad);
  }
  assert.equal(cidrContains('198.51.100.0/24', '198.51.100.200'), true);
  assert.equal(cidrContains('198.51.100.0/25', '198.51.100.200'), false);
  assert.equal(cidrContains('2001:db8::/32', '198.51.100.1'), false);
});

test('port lists: any, single ports, ranges, and every kind of mistake', () => {
  assert.equal(parsePorts('Any'), 'any');
  assert.deepEqual(parsePorts('8000-8010, 22'), [
    { from: 22, to: 22 },
    { from: 8000, to: 8010 },
  ]);
  assert.equal(portsText(parsePorts('443,80,1000-2000')), '80,443,1000-2000');
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['0', /out of range/],
    ['65536', /out of range/],
    ['10-5', /empty range/],
    ['22,abc', /"abc" is not a port/],
    ['20-30,25', /overlapping/],
    [Array.from({ length: 17 }, (_, i) => String(i + 1)).join(','), /at most 16/],
  ];
  for (const [text, re] of cases) assert.throws(() => parsePorts(text), re, text);
});
