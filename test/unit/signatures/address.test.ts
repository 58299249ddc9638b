/** Suricata header addresses: parse and match (src/signatures/address.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressError, hasNegation, matchAddr4, matchAddr6, parseAddressSpec } from '../../../src/signatures/address.js';

const ip4 = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const ip6 = (s: string): Uint8Array => {
  // test helper: full or ::-compressed text → 16 bytes
  const [h = '', t] = s.split('::');
  const head = h === '' ? [] : h.split(':');
  const tail = t === undefined || t === '' ? [] : t.split(':');
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    b[2 * i] = v >> 8;
    b[2 * i + 1] = v & 0xff;
  });
  return b;
};

test('any is no constraint; a host, a CIDR, a range, a dotted netmask', () => {
  assert.equal(parseAddressSpec('any', {}), null);
  const host = parseAddressSpec('192.168.1.5', {});
  assert.ok(matchAddr4(host, ip4('192.168.1.5')));
  assert.ok(!matchAddr4(host, ip4('192.168.1.6')));
  const net = parseAddressSpec('192.168.1.77/24', {});
  assert.ok(matchAddr4(net, ip4('192.168.1.0')) && matchAddr4(net, ip4('192.168.1.255')));
  assert.ok(!matchAddr4(net, ip4('192.168.2.1')));
  const range = parseAddressSpec('10.0.0.5-10.0.0.9', {});
  assert.ok(matchAddr4(range, ip4('10.0.0.9')) && !matchAddr4(range, ip4('10.0.0.10')));
  const mask = parseAddressSpec('10.1.0.0/255.255.0.0', {});
  assert.ok(matchAddr4(mask, ip4('10.1.200.3')) && !matchAddr4(mask, ip4('10.2.0.1')));
  assert.ok(matchAddr4(parseAddressSpec('0.0.0.0/0', {}), ip4('203.0.113.9')));
});

test('lists, negation inside and outside, variables', () => {
  const vars = { HOME_NET: '[10.0.0.0/8,192.168.0.0/16]', EXTERNAL_NET: '!$HOME_NET' };
  const home = parseAddressSpec('$HOME_NET', vars);
  assert.ok(matchAddr4(home, ip4('10.9.9.9')) && matchAddr4(home, ip4('192.168.3.3')) && !matchAddr4(home, ip4('8.8.8.8')));
  const ext = parseAddressSpec('$EXTERNAL_NET', vars);
  assert.ok(!matchAddr4(ext, ip4('10.9.9.9')) && matchAddr4(ext, ip4('8.8.8.8')));
  assert.ok(hasNegation(ext));
  assert.ok(!hasNegation(home));
  const carved = parseAddressSpec('[10.0.0.0/8,!10.1.1.1]', {});
  assert.ok(matchAddr4(carved, ip4('10.1.1.2')) && !matchAddr4(carved, ip4('10.1.1.1')));
  const not = parseAddressSpec('!192.168.51.206', {});
  assert.ok(!matchAddr4(not, ip4('192.168.51.206')) && matchAddr4(not, ip4('192.169.160.131')));
  // a negation of IPv4 only leaves every IPv6 address in
  assert.ok(matchAddr6(not, ip6('2001:db8::1'), 0));
  assert.throws(() => parseAddressSpec('!any', {}), AddressError);
  assert.throws(() => parseAddressSpec('$NOPE', {}), AddressError);
  assert.throws(() => parseAddressSpec('[1.2.3.4', {}), AddressError);
  assert.throws(() => parseAddressSpec('1.2.3.256', {}), AddressError);
  assert.throws(() => parseAddressSpec('$A', { A: '$A' }), AddressError);
});

test('IPv6: hosts and prefixes; a v4-only header never matches IPv6 and back', () => {
  const net = parseAddressSpec('2001:db8::/32', {});
  assert.ok(matchAddr6(net, ip6('2001:db8:ffff::1'), 0));
  assert.ok(!matchAddr6(net, ip6('2001:db9::1'), 0));
  assert.ok(!matchAddr4(net, ip4('10.0.0.1')));
  const host = parseAddressSpec('2001:db8::7', {});
  assert.ok(matchAddr6(host, ip6('2001:db8::7'), 0) && !matchAddr6(host, ip6('2001:db8::8'), 0));
  assert.ok(!matchAddr6(parseAddressSpec('10.0.0.0/8', {}), ip6('2001:db8::7'), 0));
  const odd = parseAddressSpec('2001:db8:8000::/33', {});
  assert.ok(matchAddr6(odd, ip6('2001:db8:8000::1'), 0) && !matchAddr6(odd, ip6('2001:db8:7fff::1'), 0));
});
