/**
 * Half-open evidence in the engine (issue 14 item 1): which findings are half-open, FIN/NULL/Xmas
 * probes, verified peers (handshake before the window, 24 h, no detection since), and the
 * bruteforce upgrade once the source's own handshakes complete.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DetectorSpec } from '../../../src/signatures/types.js';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { VerifiedPeers } from '../../../src/engine/verified-peers.js';
import { Conv, feed, makeEngine, rules, withDetectors, FIN, PSH } from './helpers.js';

const base = { description: '', severity: 'high' as const, action: 'block' as const, source: { file: 'x.yaml', line: 1 } };
const SPECS: DetectorSpec[] = [
  { ...base, id: 5001, name: 'Scan.Generic.PortScan', kind: 'portscan', track: 'by_src', distinctPorts: 10, seconds: 5 },
  { ...base, id: 5002, name: 'DoS.Generic.SYNFlood', kind: 'synflood', track: 'by_dst', count: 50, seconds: 2 },
  { ...base, id: 5003, name: 'Bruteforce.Generic.SSH', kind: 'bruteforce', track: 'by_src', ports: [{ from: 22, to: 22 }], count: 6, seconds: 60 },
];
const ruleset = withDetectors(rules('alert tcp any any -> any 80 (msg:"attack"; flow:established,to_server; content:"EVIL"; sid:1;)'), SPECS);
const T = 1_700_000_000_000_000;
const HOUR_US = 3600 * 1_000_000;

function scan(src: string, tsUs: number, ports = 10): ReturnType<typeof feedAll> {
  const frames = [];
  for (let p = 0; p < ports; p++) frames.push(...new Conv(src, '203.0.113.1', 40000 + p, 1000 + p, { tsUs: tsUs + p * 1000 }).syn().frames);
  return feedAll(frames);
}
let current: ReturnType<typeof makeEngine>;
function feedAll(frames: Parameters<typeof feed>[1]): typeof current.detections {
  feed(current.engine, frames);
  return current.detections;
}

test('a SYN scan is half-open evidence; the source is not a verified peer without an earlier handshake', () => {
  current = makeEngine(ruleset);
  scan('198.51.100.66', T);
  const d = current.detections.find((x) => x.detector === 'portscan');
  assert.ok(d);
  assert.equal(d.evidence, 'half-open');
  assert.equal(d.handshakeCompleted, false);
  assert.equal(d.verifiedPeer, false);
  assert.equal(d.details?.probe, 'syn');
});

test('FIN, NULL and Xmas probes count as scanned ports (nmap -sF/-sN/-sX)', () => {
  for (const [flags, kind] of [[FIN, 'fin'], [0, 'null'], [FIN | PSH | 0x20, 'xmas']] as const) {
    current = makeEngine(ruleset);
    const frames = Array.from({ length: 10 }, (_, p) => ({ tsUs: T + p * 1000, data: tcpFrame({ srcIp: '198.51.100.67', dstIp: '203.0.113.1', srcPort: 50000, dstPort: 2000 + p, seq: 1, ack: 0, flags }) }));
    feed(current.engine, frames.slice(0, 9));
    assert.equal(current.detections.length, 0, kind);
    feed(current.engine, frames.slice(9));
    const d = current.detections.find((x) => x.detector === 'portscan');
    assert.ok(d, `${kind} scan detected`);
    assert.equal(d.evidence, 'half-open');
    assert.equal(d.details?.probe, kind);
  }
  // A stray RST or ACK is no scan probe (RST/ACK scans are not counted).
  current = makeEngine(ruleset);
  feed(current.engine, Array.from({ length: 12 }, (_, p) => ({ tsUs: T + p, data: tcpFrame({ srcIp: '198.51.100.68', dstIp: '203.0.113.1', srcPort: 50000, dstPort: 2000 + p, seq: 1, ack: 1, flags: 0x10 }) })));
  assert.equal(current.detections.length, 0);
});

test('a verified peer: a handshake 10 s or more before vouches; one inside a fast scan (nmap -sT) does not', () => {
  current = makeEngine(ruleset);
  // V completed a real handshake an hour before: a spoofed scan in V's name finds V verified.
  feedAll(new Conv('198.51.100.70', '203.0.113.1', 33000, 80, { tsUs: T }).handshake().c('GET / HTTP/1.1\r\n\r\n').fin().frames);
  scan('198.51.100.70', T + HOUR_US);
  const v = current.detections.find((x) => x.detector === 'portscan' && x.srcIp === '198.51.100.70');
  assert.equal(v?.verifiedPeer, true);
  // A connect scanner whose first handshake is inside its own scan window: not verified.
  const frames = [];
  frames.push(...new Conv('198.51.100.71', '203.0.113.1', 34000, 22, { tsUs: T + 2 * HOUR_US }).syn().frames);
  frames.push(...new Conv('198.51.100.71', '203.0.113.1', 34001, 80, { tsUs: T + 2 * HOUR_US + 100 }).handshake().frames);
  for (let p = 0; p < 10; p++) frames.push(...new Conv('198.51.100.71', '203.0.113.1', 34100 + p, 3000 + p, { tsUs: T + 2 * HOUR_US + 1000 + p }).syn().frames);
  feedAll(frames);
  const s = current.detections.find((x) => x.detector === 'portscan' && x.srcIp === '198.51.100.71');
  assert.equal(s?.verifiedPeer, false);
  // After 24 h without a handshake V is no longer vouched for.
  scan('198.51.100.70', T + 26 * HOUR_US);
  const later = current.detections.filter((x) => x.detector === 'portscan' && x.srcIp === '198.51.100.70');
  assert.equal(later.length, 2);
  assert.equal(later[1]!.verifiedPeer, false);
});

test('a detection with handshake evidence takes the verified status away (24 h)', () => {
  current = makeEngine(ruleset);
  feedAll(new Conv('198.51.100.72', '203.0.113.1', 33000, 80, { tsUs: T }).handshake().fin().frames);
  feedAll(new Conv('198.51.100.72', '203.0.113.1', 33001, 80, { tsUs: T + HOUR_US }).handshake().c('EVIL').frames);
  const sig = current.detections.find((x) => x.signatureId === 1);
  assert.equal(sig?.handshakeCompleted, true);
  scan('198.51.100.72', T + 2 * HOUR_US);
  const d = current.detections.find((x) => x.detector === 'portscan');
  assert.equal(d?.verifiedPeer, false, 'an attacker is no verified peer');
  assert.equal(current.engine.stats().verifiedPeers.tainted, 1);
});

test('a SYN flood finding about the destination carries no verified-peer verdict (never blocks its last source)', () => {
  current = makeEngine(ruleset);
  for (let i = 0; i < 50; i++) feedAll(new Conv(`198.51.100.${100 + i}`, '203.0.113.9', 50000 + i, 443, { tsUs: T + i * 100 }).syn().frames);
  const f = current.detections.find((x) => x.detector === 'synflood');
  assert.ok(f);
  assert.equal(f.evidence, 'half-open');
  assert.equal(f.verifiedPeer, undefined);
});

test('bruteforce: spoofed SYNs are half-open evidence; real connections are handshake evidence', () => {
  current = makeEngine(ruleset);
  for (let i = 0; i < 6; i++) feedAll(new Conv('198.51.100.80', '203.0.113.2', 41000 + i, 22, { tsUs: T + i * 1000 }).syn().frames);
  const spoofed = current.detections.filter((x) => x.detector === 'bruteforce');
  assert.equal(spoofed.length, 1);
  assert.equal(spoofed[0]!.evidence, 'half-open');
  assert.equal(spoofed[0]!.handshakeCompleted, false);
  for (let i = 0; i < 6; i++) feedAll(new Conv('198.51.100.81', '203.0.113.2', 41000 + i, 22, { tsUs: T + i * 1000 }).handshake().frames);
  const real = current.detections.filter((x) => x.detector === 'bruteforce' && x.srcIp === '198.51.100.81');
  assert.equal(real.length, 1);
  assert.equal(real[0]!.evidence, 'handshake');
  assert.equal(real[0]!.handshakeCompleted, true);
});

test('bruteforce: SYNs that race ahead of their handshakes fire half-open, then once more with handshake evidence', () => {
  current = makeEngine(ruleset);
  const convs = Array.from({ length: 6 }, (_, i) => new Conv('198.51.100.82', '203.0.113.2', 42000 + i, 22, { tsUs: T + i * 10 }).handshake());
  // All six SYNs first (parallel tasks), then the SYN/ACKs and ACKs.
  for (const c of convs) feed(current.engine, [c.frames[0]!]);
  let bf = current.detections.filter((x) => x.detector === 'bruteforce');
  assert.equal(bf.length, 1);
  assert.equal(bf[0]!.evidence, 'half-open');
  for (const c of convs) feed(current.engine, c.frames.slice(1));
  bf = current.detections.filter((x) => x.detector === 'bruteforce');
  assert.equal(bf.length, 2, 'upgraded once');
  assert.equal(bf[1]!.evidence, 'handshake');
  assert.equal(bf[1]!.details?.handshakes, 3, 'fires when half of the count completed');
});

test('VerifiedPeers is bounded (LRU, evictions counted) and keyed by address text', () => {
  const v = new VerifiedPeers(4);
  for (let i = 0; i < 10; i++) v.onHandshake(`198.51.100.${i}`, 1000 + i);
  assert.equal(v.stats().size, 4);
  assert.equal(v.stats().evictions, 6);
  assert.equal(v.isVerified('198.51.100.9', 20_000), true);
  assert.equal(v.isVerified('198.51.100.0', 20_000), false, 'evicted');
  assert.equal(v.isVerified('198.51.100.9', 5000), false, 'not yet 10 s after the first handshake');
  v.onDetection('198.51.100.9', 30_000);
  assert.equal(v.isVerified('198.51.100.9', 31_000), false);
  v.onHandshake('198.51.100.9', 32_000);
  assert.equal(v.isVerified('198.51.100.9', 50_000), false, 'a handshake after an attack does not clear the taint');
});
