import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule } from '../../../../src/signatures/rules.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { Draft, Skip } from '../../../../src/signatures/parsed.js';
import { ACK, Conv, feed, makeEngine, PSH, rules } from '../../engine/helpers.js';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';

const vars = defaultConfig().databases.vars;

function parse(line: string): Draft | Skip {
  return parseRule(line, 't.rules', 1, { vars });
}
function loaded(line: string): Draft {
  const r = parse(line);
  assert.ok(!('reason' in r), `skipped: ${'reason' in r ? r.message : ''}`);
  return r;
}
function skipReason(line: string): string {
  const r = parse(line);
  assert.ok('reason' in r, 'expected a skip');
  return r.reason;
}

test('decode-event rules load with Suricata names on pkthdr / ip / ipv6 / udp / tcp headers', () => {
  const d = loaded('alert pkthdr any any -> any any (msg:"SURICATA FRAG IPv6 Fragmentation overlap"; decode-event:ipv6.frag_overlap; classtype:protocol-command-decode; sid:2200072; rev:2;)');
  assert.deepEqual(d.sig.events, [{ kind: 'decode', name: 'ipv6.frag_overlap' }]);
  assert.equal(d.sig.protocol, 'pkthdr');
  assert.equal(d.sig.category, 'protocol-command-decode');
  assert.equal(loaded('alert ipv6 any any -> any any (decode-event:ipv6.rh_type_0; sid:2;)').sig.protocol, 'ipv6');
  assert.deepEqual(loaded('alert tcp any any -> any any (decode-event:TCP.Opt_Invalid_Len; sid:3;)').sig.events, [{ kind: 'decode', name: 'tcp.opt_invalid_len' }]);
  assert.deepEqual(loaded('alert pkthdr any any -> any any (decode-event:decoder.udp.len_invalid; sid:4;)').sig.events, [{ kind: 'decode', name: 'udp.len_invalid' }]);
});

test('event names bulwark does not raise, and event rules with other conditions, are skipped with a reason', () => {
  assert.equal(skipReason('alert pkthdr any any -> any any (decode-event:ppp.unsup_proto; sid:1;)'), 'unsupported event ppp.unsup_proto');
  assert.equal(skipReason('alert pkthdr any any -> any any (decode-event:ipv6.no_such_thing; sid:1;)'), 'unsupported event ipv6.no_such_thing');
  assert.equal(skipReason('alert tcp any any -> any any (stream-event:reassembly_seq_gap; sid:1;)'), 'unsupported event stream.reassembly_seq_gap');
  assert.equal(skipReason('alert tcp any any -> any any (decode-event:tcp.opt_duplicate; content:"x"; sid:1;)'), 'decode-event with other conditions');
  assert.equal(skipReason('alert tcp any any -> any any (decode-event:tcp.opt_duplicate; flow:to_server; sid:1;)'), 'decode-event with other conditions');
  assert.equal(skipReason('alert pkthdr any any -> any 80 (decode-event:ipv4.trunc_pkt; sid:1;)'), 'decode-event rule with addresses or ports');
  assert.equal(skipReason('alert http any any -> any any (decode-event:ipv4.trunc_pkt; sid:1;)'), 'decode-event in a http rule');
  // a packet-level protocol without a decode event is still a protocol bulwark does not inspect
  assert.equal(skipReason('alert udp any any -> any 53 (content:"x"; sid:1;)'), 'protocol udp');
  assert.equal(skipReason('alert pkthdr any any -> any any (msg:"x"; sid:1;)'), 'protocol pkthdr');
  // syntax errors are invalid rules
  assert.equal(skipReason('alert pkthdr any any -> any any (decode-event:; sid:1;)'), 'invalid rule');
  assert.equal(skipReason('alert pkthdr any any -> any any (decode-event:"ipv4 x"; sid:1;)'), 'invalid rule');
});

test('a decode-event with an app-layer-event in one rule is skipped', () => {
  assert.equal(skipReason('alert tcp any any -> any any (decode-event:tcp.opt_duplicate; app-layer-event:http.request_chunk_extension; sid:1;)'), 'decode-event with other conditions');
});

test('compiled: decode-event signatures are indexed by event, in no port group, adding no intercepted port', () => {
  const rs = rules([
    'alert pkthdr any any -> any any (decode-event:ipv6.frag_overlap; sid:10;)',
    'alert tcp any any -> any 80 (content:"GET"; sid:11;)',
  ].join('\n'));
  assert.deepEqual(rs.ports, [80]);
  assert.deepEqual([...rs.events!.decode.entries()], [['ipv6.frag_overlap', [0]]]);
  for (const g of rs.groups) for (const p of g.patterns) assert.notEqual(rs.signatures[p.signature]!.id, 10);
});

/** A raw IPv6 packet 2001:db8::1 → 2001:db8::2 with next header `nh`. */
function v6(nh: number, payload: number[]): Uint8Array {
  const h = new Uint8Array(40 + payload.length);
  h[0] = 0x60;
  h[4] = payload.length >> 8;
  h[5] = payload.length & 255;
  h[6] = nh;
  h[7] = 64;
  h.set([0x20, 0x01, 0x0d, 0xb8], 8);
  h[23] = 1;
  h.set([0x20, 0x01, 0x0d, 0xb8], 24);
  h[39] = 2;
  h.set(payload, 40);
  return h;
}

test('engine: decode-event signatures alert once per packet whose events match, on any protocol', () => {
  const { engine, detections } = makeEngine(rules([
    'alert pkthdr any any -> any any (msg:"SURICATA IPv6 DSTOPTS unknown option"; decode-event:ipv6.dstopts_unknown_opt; sid:2200088;)',
    'alert ipv6 any any -> any any (msg:"both"; decode-event:ipv6.dstopts_unknown_opt; decode-event:ipv6.exthdr_dupl_dh; sid:7;)',
    'alert tcp any any -> any any (msg:"tcp only"; decode-event:ipv6.dstopts_unknown_opt; sid:8;)',
  ].join('\n')));
  // UDP behind a destination options header with two unknown options (one event per option)
  const dst = [17, 0, 0x1e, 0, 0x1f, 0, 1, 0];
  const udp = [0, 7, 0, 9, 0, 8, 0, 0];
  const p1 = v6(60, [...dst, ...udp]);
  engine.processPacket(p1, p1.length, 101, 1_000_000);
  assert.deepEqual(detections.map((d) => d.signatureId), [2200088], 'once per packet, though the event was raised twice; not the tcp rule');
  const d = detections[0]!;
  assert.equal(d.srcIp, '2001:db8::1');
  assert.equal(d.destIp, '2001:db8::2');
  assert.equal(d.srcPort, 7);
  assert.equal(d.destPort, 9);
  assert.equal(d.proto, 'UDP');
  assert.equal(d.handshakeCompleted, false, 'a malformed packet is never evidence for a block');
  // three destination options headers: the third is a duplicate → both events
  const hdr = (nh: number): number[] => [nh, 0, 0x1e, 0, 1, 2, 0, 0];
  const p2 = v6(60, [...hdr(60), ...hdr(60), ...hdr(17), ...udp]);
  engine.processPacket(p2, p2.length, 101, 2_000_000);
  assert.deepEqual(detections.slice(1).map((x) => x.signatureId).sort((x, y) => x - y), [7, 2200088]);
  const st = engine.stats();
  assert.equal(st.dropped.not_tcp, 2, 'UDP is still not inspected further');
  // (the first header ends with a zero-length PadN)
  assert.deepEqual(st.decoderEvents, { 'ipv6.dstopts_unknown_opt': 4, 'ipv6.exthdr_dupl_dh': 1, 'ipv6.zero_len_padn': 1 });
});

test('engine: a fragment overlap alerts on the fragment, and the rebuilt datagram still reaches TCP detection', () => {
  const { engine, detections } = makeEngine(rules([
    'alert pkthdr any any -> any any (msg:"SURICATA FRAG IPv4 Fragmentation overlap"; decode-event:ipv4.frag_overlap; sid:2200070;)',
    'alert tcp any any -> any 80 (msg:"evil"; content:"GET /evil"; sid:77;)',
  ].join('\n')));
  const c = new Conv('198.51.100.1', '203.0.113.1', 4444, 80).handshake();
  feed(engine, c.frames);
  const body = Buffer.from('GET /evil HTTP/1.1\r\n\r\n' + 'x'.repeat(26));
  const frame = tcpFrame({ srcIp: '198.51.100.1', dstIp: '203.0.113.1', srcPort: 4444, dstPort: 80, seq: c.cseq, ack: c.sseq, flags: ACK | PSH, payload: body });
  // two fragments of the IP payload (TCP header + 48 bytes): [0,32) and [24,68) overlapping by 8
  const ip = frame.subarray(14);
  const payload = ip.subarray(20);
  const mk = (from: number, to: number, more: boolean): Uint8Array => {
    const f = new Uint8Array(20 + to - from);
    f.set(ip.subarray(0, 20));
    f[2] = (20 + to - from) >> 8;
    f[3] = (20 + to - from) & 255;
    const fo = (from >> 3) | (more ? 0x2000 : 0);
    f[6] = fo >> 8;
    f[7] = fo & 255;
    f.set(payload.subarray(from, to), 20);
    return f;
  };
  const a = mk(0, 32, true);
  const b = mk(24, payload.length, false);
  engine.processPacket(a, a.length, 101, c.tsUs + 1000);
  assert.equal(detections.length, 0);
  engine.processPacket(b, b.length, 101, c.tsUs + 2000);
  assert.deepEqual(detections.map((d) => d.signatureId).sort((x, y) => x - y), [77, 2200070]);
  assert.equal(engine.stats().defrag.overlaps, 1);
});

test('engine: app-layer-event signatures match the events the HTTP parser raised on the transaction', () => {
  const { engine, detections } = makeEngine(rules([
    'alert http any any -> any any (msg:"SURICATA HTTP request chunk extension"; flow:established,to_server; app-layer-event:http.request_chunk_extension; sid:2221054;)',
    'alert http any any -> any any (msg:"SURICATA HTTP duplicate content length"; flow:established,to_server; app-layer-event:http.duplicate_content_length_field_in_request; sid:2221034;)',
  ].join('\n'), [80]));
  const c = new Conv('198.51.100.1', '203.0.113.1', 4445, 80).handshake();
  c.c('POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n');
  c.s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.c('POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
  c.s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  feed(engine, c.fin().frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.txId]), [[2221054, 0], [2221034, 1]]);
});
