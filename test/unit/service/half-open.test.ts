import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HalfOpenCap, halfOpenRefusal, SPOOFABLE } from '../../../src/service/half-open.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { Detection } from '../../../src/engine/types.js';

const det = (o: Partial<Detection>): Detection => ({
  timestampMs: 0, flowId: 0n, srcIp: '198.51.100.9', srcPort: 1, destIp: '198.51.100.1', destPort: 22, proto: 'TCP',
  signatureId: 9100001, rev: 1, signature: 'Scan.TCP.PortScan', category: 'x', severity: 'medium', action: 'block', handshakeCompleted: false, ...o,
});

test('HalfOpenCap: at most N per sliding minute; released slots come back; hits counted', () => {
  const c = new HalfOpenCap(3);
  assert.equal(c.take(0), true);
  assert.equal(c.take(1), true);
  assert.equal(c.take(2), true);
  assert.equal(c.take(3), false);
  assert.equal(c.hits, 1);
  c.release();
  assert.equal(c.take(4), true);
  assert.equal(c.take(59_999), false);
  assert.equal(c.take(60_000), true, 'the first slot left the window');
  c.setMax(1);
  assert.equal(c.take(60_001), false);
});

test('halfOpenRefusal: only half-open detector findings about their source, per detector switch, never a verified peer', () => {
  const cfg = defaultConfig().response;
  assert.equal(halfOpenRefusal(det({ detector: 'portscan', evidence: 'half-open', verifiedPeer: false }), cfg), undefined);
  assert.match(halfOpenRefusal(det({ detector: 'portscan', evidence: 'half-open', verifiedPeer: true }), cfg) ?? '', /^verified peer/);
  assert.equal(halfOpenRefusal(det({}), cfg), SPOOFABLE, 'a signature match without a handshake');
  assert.match(halfOpenRefusal(det({ detector: 'synflood', evidence: 'half-open' }), cfg) ?? '', /about the destination/);
  const off = { ...cfg, blockHalfOpen: { ...cfg.blockHalfOpen, portscan: false } };
  assert.match(halfOpenRefusal(det({ detector: 'portscan', evidence: 'half-open', verifiedPeer: false }), off) ?? '', /blockHalfOpen/);
  assert.equal(halfOpenRefusal(det({ detector: 'bruteforce', evidence: 'half-open', verifiedPeer: false }), off), undefined);
});
