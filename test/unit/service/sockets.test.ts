import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localPortFilter, parseSsPeers, parseSsTuples, ssAddress } from '../../../src/service/sockets.js';

test('ss established lines parse to connections (v4, v6, v4-mapped, zone ids), garbage is ignored', () => {
  const text = [
    '0      0      198.51.100.11:6379      198.51.100.12:40312',
    '0      0      [2001:db8:b1::b]:22     [2001:db8:b1::a]:51000',
    '0      0      [::ffff:198.51.100.11]:80 [::ffff:198.51.100.10]:40000',
    '0      0      [fe80::1%eth0]:22       [fe80::2%eth0]:5000',
    'garbage line',
    '',
  ].join('\n');
  assert.deepEqual(parseSsTuples(text), [
    { localIp: '198.51.100.11', localPort: 6379, peerIp: '198.51.100.12', peerPort: 40312 },
    { localIp: '2001:db8:b1::b', localPort: 22, peerIp: '2001:db8:b1::a', peerPort: 51000 },
    { localIp: '198.51.100.11', localPort: 80, peerIp: '198.51.100.10', peerPort: 40000 },
    { localIp: 'fe80::1', localPort: 22, peerIp: 'fe80::2', peerPort: 5000 },
  ]);
  assert.deepEqual(parseSsPeers(text), ['198.51.100.12', '2001:db8:b1::a', '198.51.100.10', 'fe80::2']);
});

test('ss filters: local ports and bracketed IPv6 addresses', () => {
  assert.equal(localPortFilter([80, 443]), '( sport = :80 or sport = :443 )');
  assert.equal(ssAddress('2001:db8::1'), '[2001:db8::1]');
  assert.equal(ssAddress('2001:db8::/64'), '[2001:db8::]/64');
  assert.equal(ssAddress('198.51.100.7'), '198.51.100.7');
});
