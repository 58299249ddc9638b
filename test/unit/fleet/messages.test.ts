import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUser } from '@nats-io/nkeys';
import { parseDecision, parseOrder } from '../../../src/fleet/messages.js';
import { signerFromSeed, verifyEnvelope } from '../../../src/fleet/sign.js';
import { addressToken, subjects } from '../../../src/fleet/subjects.js';
import { hostPermissions, renderServerConfig } from '../../../src/fleet/server-config.js';

const NOW = 1_800_000_000_000;
const seedOf = (kp: ReturnType<typeof createUser>): string => new TextDecoder().decode(kp.getSeed());

test('signed envelopes verify only with a trusted key and an untouched body', () => {
  const op = signerFromSeed(seedOf(createUser()));
  const trusted = new Set([op.publicKey]);
  const env = op.sign('{"v":1}');
  assert.deepEqual(verifyEnvelope(JSON.stringify(env), trusted), { ok: true, body: '{"v":1}', key: op.publicKey });
  assert.deepEqual(verifyEnvelope(JSON.stringify({ ...env, body: '{"v":2}' }), trusted), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verifyEnvelope(JSON.stringify(env), new Set()), { ok: false, reason: 'unknown-key' });
  assert.deepEqual(verifyEnvelope('{"v":1,"kind":"isolate"}', trusted), { ok: false, reason: 'unsigned' });
  assert.deepEqual(verifyEnvelope('garbage', trusted), { ok: false, reason: 'malformed' });
  assert.throws(() => signerFromSeed('SOMETHING'), /not an nkey seed/);
});

test('decisions: validated, normalised, expired and too-wide ones refused', () => {
  const d = { v: 1, id: 'x', kind: 'block', address: '198.51.100.7', origin: 'h1', reason: 'r', decidedAt: NOW, expiresAt: NOW + 60_000 };
  assert.equal(parseDecision(JSON.stringify(d), NOW).ok, true);
  assert.deepEqual(parseDecision(JSON.stringify({ ...d, expiresAt: NOW - 1 }), NOW), { ok: false, reason: 'expired' });
  const wide = parseDecision(JSON.stringify({ ...d, address: '10.0.0.0/8' }), NOW);
  assert.equal(wide.ok ? 'ok' : wide.reason, 'too-wide');
  const wide6 = parseDecision(JSON.stringify({ ...d, address: '2001:db8::/32' }), NOW);
  assert.equal(wide6.ok ? 'ok' : wide6.reason, 'too-wide');
  assert.equal(parseDecision(JSON.stringify({ ...d, address: '198.51.0.0/16' }), NOW).ok, true);
  assert.equal(parseDecision(JSON.stringify({ ...d, origin: 'a.b' }), NOW).ok, false);
  const big = parseDecision(JSON.stringify({ ...d, reason: 'x'.repeat(70_000) }), NOW);
  assert.equal(big.ok ? 'ok' : big.reason, 'oversized');
  assert.equal(parseDecision('[]', NOW).ok, false);
});

test('orders: other host and expired refused', () => {
  const o = { v: 1, id: 'o1', kind: 'isolate', host: 'h1', issuedAt: NOW, expiresAt: NOW + 60_000, args: {} };
  assert.equal(parseOrder(JSON.stringify(o), 'h1', NOW).ok, true);
  const other = parseOrder(JSON.stringify(o), 'h2', NOW);
  assert.equal(other.ok ? 'ok' : other.reason, 'other-host');
  const late = parseOrder(JSON.stringify(o), 'h1', NOW + 61_000);
  assert.equal(late.ok ? 'ok' : late.reason, 'expired');
  assert.equal(parseOrder(JSON.stringify({ ...o, kind: 'format-disk' }), 'h1', NOW).ok, false);
});

test('subjects: one token per address; host permissions allow only the host\'s own subjects', () => {
  assert.equal(addressToken('198.51.100.0/24'), '198-51-100-0_24');
  assert.equal(subjects.decision('fleet', '2001:db8::1', 'h1'), 'bulwark.decisions.fleet.2001:db8::1.h1');
  const p = hostPermissions({ hostId: 'h1', nkey: 'U'.padEnd(56, 'A'), groups: ['web'] });
  assert.ok(p.publish.allow.includes('bulwark.decisions.fleet.*.h1'));
  assert.ok(p.publish.allow.includes('bulwark.decisions.g-web.*.h1'));
  assert.ok(p.publish.allow.includes('$KV.bulwark-hosts.h1'));
  assert.ok(!p.publish.allow.some((s) => s.startsWith('bulwark.orders')));
  assert.ok(p.publish.deny.includes('bulwark.orders.>'));
  assert.ok(p.publish.deny.includes('bulwark.decisions.*.*.operator'));
  assert.deepEqual(p.subscribe.allow, ['_INBOX.h1.>']);
  const text = renderServerConfig({ serverName: 'n1', listen: '0.0.0.0:4222', storeDir: '/var/lib/nats', hosts: [{ hostId: 'h1', nkey: 'UABC', groups: [] }], operators: ['UOPS'] });
  assert.match(text, /\{ nkey: "UOPS" \}/);
  assert.match(text, /nkey: "UABC", permissions: \{"publish"/);
});
