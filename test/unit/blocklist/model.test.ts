import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockModel } from '../../../src/blocklist/model.js';

const meta = (reason = 'r') => ({ reason, source: 'detection' as const, blockedAtMs: 0 });

test('new address is added; re-blocking extends to max(old, new) and never shortens', () => {
  const m = new BlockModel();
  const a = m.plan({ address: '198.51.100.7', expiresAtMs: 1000, meta: meta('first') });
  assert.equal(a.kind, 'added');
  const b = m.plan({ address: '198.51.100.7', expiresAtMs: 5000, meta: meta('second') });
  assert.equal(b.kind, 'extended');
  assert.equal(b.entry.expiresAtMs, 5000);
  assert.equal(b.entry.reason, 'first', 'original metadata kept');
  const c = m.plan({ address: '198.51.100.7', expiresAtMs: 2000, meta: meta() });
  assert.equal(c.kind, 'extended');
  assert.equal(m.get('198.51.100.7')!.expiresAtMs, 5000, 'a shorter block does not shorten');
  assert.equal(m.size, 1);
});

test('an address inside a blocked CIDR is covered while the CIDR lasts at least as long; else it gets its own entry', () => {
  const m = new BlockModel();
  m.plan({ address: '198.51.100.0/24', expiresAtMs: 5000, meta: meta('net') });
  const r = m.plan({ address: '198.51.100.7', expiresAtMs: 5000, meta: meta() });
  assert.equal(r.kind, 'covered');
  assert.equal(r.entry.address, '198.51.100.0/24');
  assert.equal(r.entry.expiresAtMs, 5000);
  assert.equal(m.plan({ address: '198.51.100.8', expiresAtMs: 9000, meta: meta() }).kind, 'added', 'outlasts the CIDR');
  assert.equal(m.plan({ address: '198.51.100.128/25', expiresAtMs: 99_999, meta: meta() }).kind, 'covered', 'a CIDR inside a CIDR is always covered');
  assert.equal(m.plan({ address: '198.51.101.7', expiresAtMs: 1, meta: meta() }).kind, 'added');
  assert.equal(m.lookup('198.51.100.200')?.address, '198.51.100.0/24');
  assert.equal(m.lookup('198.51.100.8')?.address, '198.51.100.8', 'its own entry first');
  const v6 = m.plan({ address: '2001:db8::/32', expiresAtMs: 1, meta: meta() });
  assert.equal(v6.kind, 'added');
  assert.equal(m.plan({ address: '2001:db8:1::1', expiresAtMs: 1, meta: meta() }).kind, 'covered');
});

test('a CIDR replaces the CIDRs it contains with the longest expiry; single addresses inside stay', () => {
  const m = new BlockModel();
  m.plan({ address: '198.51.100.7', expiresAtMs: 9000, meta: meta() });
  m.plan({ address: '198.51.100.64/26', expiresAtMs: 8000, meta: meta() });
  m.plan({ address: '198.51.101.1', expiresAtMs: 3000, meta: meta() });
  const r = m.plan({ address: '198.51.100.0/24', expiresAtMs: 5000, meta: meta('net') });
  assert.equal(r.kind, 'added');
  assert.deepEqual(r.replaced.map((e) => e.address), ['198.51.100.64/26']);
  assert.equal(r.entry.expiresAtMs, 8000);
  assert.deepEqual(m.all().map((e) => e.address).sort(), ['198.51.100.0/24', '198.51.100.7', '198.51.101.1']);
  assert.deepEqual(m.netEntries().map((e) => e.address), ['198.51.100.0/24']);
});

test('expire() returns entries in expiry order, skipping stale heap items after extensions', () => {
  const m = new BlockModel();
  m.plan({ address: '198.51.100.1', expiresAtMs: 100, meta: meta() });
  m.plan({ address: '198.51.100.2', expiresAtMs: 200, meta: meta() });
  m.plan({ address: '198.51.100.3', expiresAtMs: 300, meta: meta() });
  m.plan({ address: '198.51.100.1', expiresAtMs: 400, meta: meta() });
  assert.equal(m.nextExpiry(), 200);
  assert.deepEqual(m.expire(250).map((e) => e.address), ['198.51.100.2']);
  assert.deepEqual(m.expire(1000).map((e) => e.address), ['198.51.100.3', '198.51.100.1']);
  assert.equal(m.nextExpiry(), undefined);
  assert.equal(m.size, 0);
});
