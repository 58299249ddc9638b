/** Putting the scan workers' detections back in packet order, and filtering them in that order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentralFilter, OrderedMerge } from '../../../../src/engine/shard/merge.js';
import { sumStats } from '../../../../src/engine/shard/pool.js';
import { ThresholdFilter } from '../../../../src/engine/threshold/filter.js';
import { NO_THRESHOLDS } from '../../../../src/engine/threshold/parse.js';
import type { Detection } from '../../../../src/engine/types.js';

function det(sid: number, src = '203.0.113.1', extra: Partial<Detection> = {}): Detection {
  return {
    timestampMs: 1000, flowId: 5n, srcIp: src, srcPort: 1, destIp: '198.51.100.1', destPort: 80, proto: 'TCP', signatureId: sid, rev: 1,
    signature: `s${sid}`, category: 'c', severity: 'high', action: 'alert', handshakeCompleted: true, gid: 1,
    flow: { pktsToServer: 1, pktsToClient: 0, bytesToServer: 0, bytesToClient: 0, startMs: 0, srcIp: src, destIp: '198.51.100.1', srcPort: 1, destPort: 80 },
    ...extra,
  };
}

test('detections come out in key order, only once every worker is past them', () => {
  const out: number[] = [];
  const m = new OrderedMerge(2, (d) => out.push(d.signatureId));
  // worker 0: packet 3 (key 7), packet 10 (key 21); progress 10
  m.push(0, [7, 21], [det(3), det(10)], 10);
  assert.deepEqual(out, [], 'worker 1 may still report packets 1-10');
  // worker 1: packet 5; progress 6: packets up to 6 are final
  m.push(1, [11], [det(5)], 6);
  assert.deepEqual(out, [3, 5]);
  m.push(1, [], [], 11);
  assert.deepEqual(out, [3, 5, 10]);
  // flow timeouts of the same tick (phase 0, before packet 12) in both workers: worker order,
  // then packet 12 itself
  m.push(0, [24, 25], [det(100), det(12)], 12);
  assert.deepEqual(out, [3, 5, 10], 'worker 1 has not finished packet 12 yet');
  m.push(1, [24], [det(101)], 12);
  assert.deepEqual(out, [3, 5, 10, 100, 101, 12]);
  assert.equal(m.held, 0);
  assert.equal(m.heldMax, 3);
});

test('a finished worker no longer holds the others back', () => {
  const out: number[] = [];
  const m = new OrderedMerge(3, (d) => out.push(d.signatureId));
  m.push(2, [41], [det(20)], 30);
  m.push(0, [], [], 100);
  assert.deepEqual(out, []);
  m.finish(1);
  assert.deepEqual(out, [20]);
});

test('the central filter applies a rule threshold across workers in packet order', () => {
  const rf = new Map([['1:7', { type: 'limit' as const, track: 'by_src' as const, count: 1, seconds: 60 }]]);
  const c = new CentralFilter(new ThresholdFilter(NO_THRESHOLDS, { maxEntries: 100 }), rf);
  // the same source through two address pairs (two workers): one alert a minute
  assert.equal(c.pass(det(7, '203.0.113.9', { destIp: '198.51.100.1' })), true);
  assert.equal(c.pass(det(7, '203.0.113.9', { destIp: '198.51.100.2' })), false);
  assert.equal(c.pass(det(7, '203.0.113.10')), true, 'another source counts apart');
  assert.equal(c.pass(det(8, '203.0.113.9')), true, 'a rule without threshold always alerts');
  assert.equal(c.suppressed, 1);
  // detector findings are never filtered
  assert.equal(c.pass(det(7, '203.0.113.9', { detector: 'portscan' })), true);
});

test('sumStats: counters add up, a maximum stays a maximum', () => {
  const s = sumStats([
    { packets: 3, bytes: 100, flowsCreated: 1, dropped: { truncated: 1 }, decoderEvents: { 'ipv4.trunc_pkt': 1 }, reassembly: { segments: 4, overlapMax: 2 } as never },
    { packets: 5, bytes: 50, flowsCreated: 2, dropped: { truncated: 2, bad_checksum: 1 }, decoderEvents: {}, reassembly: { segments: 6, overlapMax: 7 } as never },
  ]);
  assert.equal(s.packets, 8);
  assert.equal(s.bytes, 150);
  assert.equal(s.flowsCreated, 3);
  assert.deepEqual(s.dropped, { truncated: 3, bad_checksum: 1 });
  assert.deepEqual(s.decoderEvents, { 'ipv4.trunc_pkt': 1 });
  assert.deepEqual(s.reassembly, { segments: 10, overlapMax: 7 });
});
