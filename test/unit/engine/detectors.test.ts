import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DetectorSpec } from '../../../src/signatures/types.js';
import { Conv, feed, makeEngine, rules, withDetectors } from './helpers.js';

const base = { description: '', severity: 'high' as const, action: 'block' as const, source: { file: 'x.yaml', line: 1 } };
const SPECS: DetectorSpec[] = [
  { ...base, id: 5001, name: 'Scan.Generic.PortScan', kind: 'portscan', track: 'by_src', distinctPorts: 10, seconds: 5 },
  { ...base, id: 5002, name: 'DoS.Generic.SYNFlood', kind: 'synflood', track: 'by_dst', count: 50, seconds: 2 },
  { ...base, id: 5003, name: 'Bruteforce.Generic.SSH', kind: 'bruteforce', track: 'by_src', ports: [{ from: 22, to: 22 }], count: 5, seconds: 60 },
];
const ruleset = withDetectors(rules('alert tcp any any -> any 22 (msg:"x"; content:"never-matches-this"; sid:1;)'), SPECS);

test('port scan: distinct ports per source within the window (packet time)', () => {
  const { engine, detections } = makeEngine(ruleset);
  const t = 1_700_000_000_000_000;
  // 9 ports: nothing; spread over 10 s with 10 ports: nothing (window 5 s).
  for (let p = 0; p < 9; p++) feed(engine, new Conv('198.51.100.66', '203.0.113.1', 40000 + p, 1000 + p, { tsUs: t + p * 1000 }).syn().frames);
  assert.equal(detections.length, 0);
  const { engine: e2, detections: d2 } = makeEngine(ruleset);
  for (let p = 0; p < 10; p++) feed(e2, new Conv('198.51.100.66', '203.0.113.1', 40000 + p, 1000 + p, { tsUs: t + p * 1_100_000 }).syn().frames);
  assert.equal(d2.length, 0);
  feed(engine, new Conv('198.51.100.66', '203.0.113.1', 40100, 2000, { tsUs: t + 20_000 }).syn().frames);
  assert.equal(detections.length, 1);
  const d = detections[0]!;
  assert.equal(d.detector, 'portscan');
  assert.equal(d.signatureId, 5001);
  assert.equal(d.srcIp, '198.51.100.66');
  assert.equal(d.handshakeCompleted, false);
  assert.equal(d.details?.distinct_ports, 10);
  // Only once per window.
  feed(engine, new Conv('198.51.100.66', '203.0.113.1', 40101, 2001, { tsUs: t + 30_000 }).syn().frames);
  assert.equal(detections.length, 1);
});

test('SYN flood: half-open SYNs per destination; completed handshakes do not count', () => {
  const { engine, detections } = makeEngine(ruleset);
  const t = 1_700_000_000_000_000;
  // 60 completed connections from one real client: no flood.
  for (let i = 0; i < 60; i++) feed(engine, new Conv('198.51.100.20', '203.0.113.9', 30000 + i, 443, { tsUs: t + i * 100 }).handshake().frames);
  assert.equal(detections.filter((d) => d.detector === 'synflood').length, 0);
  // 50 spoofed half-open SYNs from many sources.
  for (let i = 0; i < 50; i++) feed(engine, new Conv(`198.51.100.${100 + (i % 100)}`, '203.0.113.9', 50000 + i, 443, { tsUs: t + 10_000 + i * 100 }).syn().frames);
  const floods = detections.filter((d) => d.detector === 'synflood');
  assert.equal(floods.length, 1);
  assert.equal(floods[0]!.destIp, '203.0.113.9');
  assert.equal(floods[0]!.handshakeCompleted, false, 'spoofable evidence must not be marked as handshake-completed');
});

test('brute force: new connections to auth ports per source; handshake seen', () => {
  const { engine, detections } = makeEngine(ruleset);
  const t = 1_700_000_000_000_000;
  for (let i = 0; i < 4; i++) feed(engine, new Conv('198.51.100.30', '203.0.113.2', 41000 + i, 22, { tsUs: t + i * 1_000_000 }).handshake().c('SSH-2.0-x\r\n').fin().frames);
  // connections to another port do not count
  for (let i = 0; i < 5; i++) feed(engine, new Conv('198.51.100.30', '203.0.113.2', 42000 + i, 80, { tsUs: t + 5_000_000 + i }).handshake().frames);
  assert.equal(detections.filter((d) => d.detector === 'bruteforce').length, 0);
  feed(engine, new Conv('198.51.100.30', '203.0.113.2', 41010, 22, { tsUs: t + 10_000_000 }).handshake().frames);
  const bf = detections.filter((d) => d.detector === 'bruteforce');
  assert.equal(bf.length, 1);
  assert.equal(bf[0]!.handshakeCompleted, true);
  assert.equal(bf[0]!.details?.connections, 5);
});

test('trackers are bounded', () => {
  const { engine } = makeEngine(ruleset, { maxTracked: 100 });
  const t = 1_700_000_000_000_000;
  for (let i = 0; i < 500; i++) feed(engine, new Conv(`198.51.${100 + (i >> 8)}.${i & 255}`, '203.0.113.1', 40000, 22, { tsUs: t + i }).syn().frames);
  const st = engine.stats();
  assert.ok(st.detectors.tracked <= 100 * 4 + 100, `tracked ${st.detectors.tracked}`);
  assert.ok(st.detectors.evictions > 0);
});
