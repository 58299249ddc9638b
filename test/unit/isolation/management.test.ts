import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveManagement } from '../../../src/isolation/management.js';

test('management endpoints: addresses pass through normalised, names resolve (deduplicated, non-addresses dropped)', async () => {
  const warned: string[] = [];
  const r = await resolveManagement(
    [{ address: '2001:DB8::0:1' }, { address: 'mgmt.example' }],
    {},
    (host) => Promise.resolve(host === 'mgmt.example' ? ['203.0.113.10', '203.0.113.10', 'garbage', '2001:db8::a'] : []),
    (host) => warned.push(host),
  );
  assert.deepEqual(
    r.resolved.map((x) => x.addresses),
    [['2001:db8::1'], ['203.0.113.10', '2001:db8::a']],
  );
  assert.deepEqual(r.addresses, { 'mgmt.example': ['203.0.113.10', '2001:db8::a'] });
  assert.deepEqual(warned, []);
});

test('a name that does not resolve keeps its last known addresses, with a warning', async () => {
  const warned: { host: string; last: string[]; msg: string }[] = [];
  const warn = (host: string, last: string[], msg: string): void => {
    warned.push({ host, last, msg });
  };
  const r = await resolveManagement(
    [{ address: 'known.example' }, { address: 'empty.example' }],
    { 'known.example': ['198.51.100.20'] },
    (host) => (host === 'known.example' ? Promise.reject(new Error('SERVFAIL')) : Promise.resolve([])),
    warn,
  );
  assert.deepEqual(
    r.resolved.map((x) => x.addresses),
    [['198.51.100.20'], []],
  );
  assert.deepEqual(r.addresses, { 'known.example': ['198.51.100.20'], 'empty.example': [] });
  assert.equal(warned.length, 2);
  assert.match(warned[0]!.msg, /known\.example did not resolve \(SERVFAIL\); using last known 198\.51\.100\.20/);
  assert.match(warned[1]!.msg, /empty\.example did not resolve \(no addresses\); no known address: not reachable during isolation/);
});
