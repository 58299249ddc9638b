/**
 * Suricata's checksum keywords (detect-csum.c): ipv4-csum, tcpv4-csum, tcpv6-csum per packet,
 * "valid" under PKT_IGNORE_CHECKSUM (checksum-checks no, or auto once Suricata judged the capture
 * offloaded at its 1000th packet), the UDP/ICMP ones skipped (TCP only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { DecodedPacket, decodePacket } from '../../../../src/engine/decode/decode.js';
import { CHECKSUM_SAMPLE_COUNT, ChecksumPolicy, csumHolds } from '../../../../src/engine/decode/checksum.js';
import { parseCsum } from '../../../../src/signatures/keywords/csum.js';
import { ACK, PSH, SYN, engineConfig, makeEngine, rules } from '../../engine/helpers.js';

function frame(o: { v6?: boolean; sport?: number; flags?: number; payload?: string; seq?: number } = {}): Uint8Array {
  return tcpFrame({
    srcIp: o.v6 === true ? '2001:db8::1' : '198.51.100.10',
    dstIp: o.v6 === true ? '2001:db8::2' : '198.51.100.11',
    srcPort: o.sport ?? 40000,
    dstPort: 80,
    seq: o.seq ?? 1,
    ack: 0,
    flags: o.flags ?? ACK | PSH,
    ...(o.payload !== undefined ? { payload: Buffer.from(o.payload) } : {}),
  });
}

/** Breaks the TCP checksum of an Ethernet/IPv4 (or IPv6) frame. */
function badTcp(f: Uint8Array): Uint8Array {
  const c = Uint8Array.from(f);
  const t = c[12] === 0x86 ? 14 + 40 : 14 + 20;
  c[t + 16] = c[t + 16]! ^ 0x5a;
  return c;
}

/** Breaks the IPv4 header checksum. */
function badIp(f: Uint8Array): Uint8Array {
  const c = Uint8Array.from(f);
  c[14 + 10] = c[14 + 10]! ^ 0x33;
  return c;
}

function decoded(f: Uint8Array): DecodedPacket {
  const p = new DecodedPacket();
  assert.equal(decodePacket(f, 0, f.length, 1, p), 0);
  return p;
}

test('parse: valid / invalid, any case, quotes as Suricata reads them', () => {
  assert.deepEqual(parseCsum('tcpv4-csum', 'tcpv4', 'valid'), { kind: 'tcpv4', valid: true });
  assert.deepEqual(parseCsum('tcpv4-csum', 'tcpv4', ' INVALID '), { kind: 'tcpv4', valid: false });
  assert.deepEqual(parseCsum('ipv4-csum', 'ipv4', '"invalid"'), { kind: 'ipv4', valid: false });
  // DetectCsumParseArg compares the value with its quotes: "valid" is accepted and means invalid
  assert.deepEqual(parseCsum('tcpv6-csum', 'tcpv6', '"valid"'), { kind: 'tcpv6', valid: false });
  assert.throws(() => parseCsum('tcpv4-csum', 'tcpv4', 'bad'));
  assert.throws(() => parseCsum('tcpv4-csum', 'tcpv4', undefined));
});

test('rules: a checksum keyword alone is a per-packet condition; UDP/ICMP ones and app-layer rules are skipped', () => {
  const rs = rules(
    [
      'alert tcp any any -> any any (tcpv4-csum:invalid; sid:1;)',
      'alert tcp any any -> any 80 (ipv4-csum:valid; tcpv6-csum:valid; content:"x"; sid:2;)',
      'alert tcp any any -> any any (udpv4-csum:invalid; sid:3;)',
      'alert tcp any any -> any any (icmpv6-csum:invalid; sid:4;)',
      'alert http any any -> any any (tcpv4-csum:invalid; http.uri; content:"/"; sid:5;)',
      'alert tcp any any -> any any (tcpv4-csum:maybe; sid:6;)',
    ].join('\n'),
  );
  const loaded = new Set(rs.signatures.map((s) => s.id));
  assert.deepEqual([...loaded].sort(), [1, 2]);
  assert.deepEqual(rs.signatures.find((s) => s.id === 1)!.csum, [{ kind: 'tcpv4', valid: false }]);
  assert.equal(rs.stats.skipped['invalid rule'], 1);
});

test('csumHolds: computed per protocol and IP version; ignored checksums read as valid', () => {
  const good = decoded(frame({ payload: 'abc' }));
  const bad = decoded(badTcp(frame({ payload: 'abc' })));
  const ipBad = decoded(badIp(frame({ payload: 'abc' })));
  const v6bad = decoded(badTcp(frame({ v6: true, payload: 'abc' })));
  const inv = (kind: 'ipv4' | 'tcpv4' | 'tcpv6') => [{ kind, valid: false }];
  const val = (kind: 'ipv4' | 'tcpv4' | 'tcpv6') => [{ kind, valid: true }];
  assert.equal(csumHolds(val('tcpv4'), good, false), true);
  assert.equal(csumHolds(inv('tcpv4'), good, false), false);
  assert.equal(csumHolds(inv('tcpv4'), bad, false), true);
  assert.equal(csumHolds(inv('ipv4'), bad, false), false);
  assert.equal(csumHolds(inv('ipv4'), ipBad, false), true);
  assert.equal(csumHolds(inv('tcpv6'), v6bad, false), true);
  // another IP version: neither valid nor invalid
  assert.equal(csumHolds(inv('tcpv4'), v6bad, false), false);
  assert.equal(csumHolds(val('tcpv4'), v6bad, false), false);
  assert.equal(csumHolds(val('ipv4'), v6bad, false), false);
  // PKT_IGNORE_CHECKSUM: "valid" without computing
  assert.equal(csumHolds(inv('tcpv4'), bad, true), false);
  assert.equal(csumHolds(val('tcpv4'), bad, true), true);
  assert.equal(csumHolds(val('tcpv6'), good, true), false);
});

test('keywordPacket: Suricata\'s own auto decision at the 1000th packet, not the read-ahead one', () => {
  const p = decoded(frame({ payload: 'x' }));
  const b = decoded(badTcp(frame({ payload: 'x' })));
  assert.equal(new ChecksumPolicy('no', { enforceWhileSampling: true }).keywordPacket(b, true), true);
  const yes = new ChecksumPolicy('yes', { enforceWhileSampling: true });
  for (let i = 0; i < CHECKSUM_SAMPLE_COUNT + 5; i++) assert.equal(yes.keywordPacket(b, true), false);
  // auto: read ahead judged the capture offloaded, yet Suricata validates its first 999 packets
  const auto = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  auto.decide(10, 5);
  assert.equal(auto.status, 'off');
  let ignored = 0;
  for (let i = 1; i <= CHECKSUM_SAMPLE_COUNT + 1; i++) if (auto.keywordPacket(i % 2 === 0 ? b : p, true)) ignored++;
  assert.equal(ignored, 2, 'ignored from the 1000th packet on');
  // without stream.checksum-validation Suricata counts no invalid checksum: never ignored
  const noVal = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  for (let i = 0; i < CHECKSUM_SAMPLE_COUNT + 5; i++) assert.equal(noVal.keywordPacket(b, false), false);
  // a clean start keeps validating for good
  const clean = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  for (let i = 0; i < CHECKSUM_SAMPLE_COUNT; i++) clean.keywordPacket(p, true);
  for (let i = 0; i < 50; i++) assert.equal(clean.keywordPacket(b, true), false);
});

test('engine: tcpv4-csum:invalid alerts on the inspected packets with a bad checksum, not under checksum-checks no', () => {
  const rs = rules('alert tcp any any -> any 80 (tcpv4-csum:invalid; sid:1;)\nalert tcp any any -> any 80 (tcpv4-csum:valid; flow:to_server; sid:2;)');
  const frames = [badTcp(frame({ flags: SYN, seq: 1 })), frame({ flags: ACK | PSH, seq: 2, payload: 'hello' })];
  const runWith = (mode: 'auto' | 'no'): number[] => {
    // validation off: the engine inspects the invalid packets (the keyword does not depend on it)
    const { engine, detections } = makeEngine(rs, { config: engineConfig({ checksumValidation: false }) });
    const policy = new ChecksumPolicy(mode, { enforceWhileSampling: true });
    let ts = 1_763_700_000_000_000;
    for (const f of frames) engine.processPacket(f, f.length, 1, (ts += 1000), 0, 0, policy);
    return detections.map((d) => d.signatureId);
  };
  assert.deepEqual(runWith('auto'), [1, 2]);
  // -k none: every packet reads as valid
  assert.deepEqual(runWith('no'), [2, 2]);
});
