/**
 * EVE alert fields about the packet and the flow (docs/events.md): packet + packet_info, pkt_src,
 * direction, the flow object; PPP frames; rebuilt fragments as Suricata logs them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { toAlertEvent, linkTypeName } from '../../../src/engine/events.js';
import { printablePayload, streamPayload } from '../../../src/engine/detect/alert.js';
import { DecodedPacket, decodePacket, DROP } from '../../../src/engine/decode/decode.js';
import { ACK, Conv, feed, makeEngine, PSH, rules, SYN } from './helpers.js';

const IP_C = '198.51.100.10';
const IP_S = '203.0.113.20';

function ipChecksumOk(ip: Uint8Array): boolean {
  const ihl = (ip[0]! & 15) * 4;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (ip[i]! << 8) | ip[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

test('a signature alert carries its frame (base64, link header included), link type, pkt_src, direction and flow counters', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (content:"attack"; sid:5;)', [80]));
  const c = new Conv(IP_C, IP_S, 40001, 80).handshake().c('GET /attack HTTP/1.0\r\n\r\n');
  feed(engine, c.frames);
  assert.equal(detections.length, 1);
  const d = detections[0]!;
  const last = c.frames[c.frames.length - 1]!.data;
  const ev = toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x' });
  assert.equal(ev.packet, Buffer.from(last).toString('base64'));
  assert.deepEqual(ev.packet_info, { linktype: 1, linktype_name: 'EN10MB' });
  assert.equal(ev.pkt_src, 'wire/pcap');
  assert.equal(ev.direction, 'to_server');
  const hs = c.frames.slice(0, 3).map((f) => f.data.length);
  assert.deepEqual(
    { ...ev.flow, start: undefined },
    {
      pkts_toserver: 3,
      pkts_toclient: 1,
      bytes_toserver: hs[0]! + hs[2]! + last.length,
      bytes_toclient: hs[1]!,
      start: undefined,
      src_ip: IP_C,
      dest_ip: IP_S,
      src_port: 40001,
      dest_port: 80,
    },
  );
  assert.match(ev.flow!.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$/);
  // The copy outlives the capture buffer.
  last.fill(0);
  assert.notEqual(Buffer.from(d.packet!.data).toString('base64'), Buffer.from(last).toString('base64'));
});

test('a packet alert keeps copies of its frame and payload when the capture hands Buffers (reused by libpcap and the pcap reader)', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (content:"attack"; sid:7;)', [80]));
  const c = new Conv(IP_C, IP_S, 40003, 80).handshake().c('GET /attack HTTP/1.0\r\n\r\n');
  // A Buffer's slice() is a view of the same memory, not a copy as a Uint8Array's is.
  const frames = c.frames.map((f) => ({ ...f, data: Buffer.from(f.data) }));
  feed(engine, frames);
  assert.equal(detections.length, 1);
  const d = detections[0]!;
  const last = frames[frames.length - 1]!.data;
  const frame = Buffer.from(last).toString('base64');
  const payload = Buffer.from('GET /attack HTTP/1.0\r\n\r\n').toString('base64');
  last.fill(0);
  assert.equal(Buffer.from(d.packet!.data).toString('base64'), frame);
  assert.equal(Buffer.from(d.payload!.data).toString('base64'), payload);
});

test('an alert on server data says to_client and keeps the flow oriented client → server', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (flow:to_client; content:"secret"; sid:6;)', [80]));
  const c = new Conv(IP_C, IP_S, 40002, 80).handshake().c('GET / HTTP/1.0\r\n\r\n').s('HTTP/1.0 200 OK\r\n\r\nsecret');
  feed(engine, c.frames);
  assert.equal(detections.length, 1);
  const ev = toAlertEvent(detections[0]!, { action: 'allowed', count: 1, eventId: 'x' });
  assert.equal(ev.direction, 'to_client');
  assert.equal(ev.src_ip, IP_S);
  assert.equal(ev.flow!.src_ip, IP_C);
  assert.equal(ev.flow!.dest_ip, IP_S);
  assert.equal(ev.flow!.src_port, 40002);
  assert.equal(ev.flow!.pkts_toclient, 2);
});

/** The IP packet of an Ethernet frame behind a PPP header (compressed or two-byte protocol, optional ff 03). */
function pppFrame(eth: Uint8Array, header: number[]): Uint8Array {
  const ip = eth.subarray(14);
  const f = new Uint8Array(header.length + ip.length);
  f.set(header, 0);
  f.set(ip, header.length);
  return f;
}

test('PPP frames (link type 9) are decoded: compressed protocol, two-byte protocol, HDLC framing', () => {
  const eth = tcpFrame({ srcIp: IP_C, dstIp: IP_S, srcPort: 1, dstPort: 80, seq: 1, flags: SYN });
  const eth6 = tcpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 1, dstPort: 80, seq: 1, flags: SYN });
  const p = new DecodedPacket();
  for (const h of [[0x21], [0x00, 0x21], [0xff, 0x03, 0x00, 0x21], [0xff, 0x03, 0x21]]) {
    const f = pppFrame(eth, h);
    assert.equal(decodePacket(f, 0, f.length, 9, p), DROP.NONE, `header ${h.join(',')}`);
    assert.equal(p.ipVersion, 4);
    assert.equal(p.dstPort, 80);
  }
  for (const h of [[0x57], [0x00, 0x57]]) {
    const f = pppFrame(eth6, h);
    assert.equal(decodePacket(f, 0, f.length, 9, p), DROP.NONE);
    assert.equal(p.ipVersion, 6);
  }
  // LCP (0xc021) is no IP: not inspected; an empty frame is too small (event).
  const lcp = pppFrame(eth, [0xc0, 0x21]);
  assert.equal(decodePacket(lcp, 0, lcp.length, 9, p), DROP.UNSUPPORTED_ETHERTYPE);
  assert.equal(decodePacket(new Uint8Array(1), 0, 0, 9, p), DROP.TRUNCATED_LINK);
  assert.equal(p.eventCount, 1);
});

test('Cisco HDLC frames (link type 104) are decoded; a frame shorter than its header is too small (event)', () => {
  const eth = tcpFrame({ srcIp: IP_C, dstIp: IP_S, srcPort: 1, dstPort: 80, seq: 1, flags: SYN });
  const eth6 = tcpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 1, dstPort: 80, seq: 1, flags: SYN });
  const p = new DecodedPacket();
  const f = pppFrame(eth, [0x0f, 0x00, 0x08, 0x00]);
  assert.equal(decodePacket(f, 0, f.length, 104, p), DROP.NONE);
  assert.equal(p.ipVersion, 4);
  assert.equal(p.dstPort, 80);
  const f6 = pppFrame(eth6, [0x8f, 0x00, 0x86, 0xdd]);
  assert.equal(decodePacket(f6, 0, f6.length, 104, p), DROP.NONE);
  assert.equal(p.ipVersion, 6);
  // SLARP (0x8035) is no IP: not inspected
  const slarp = pppFrame(eth, [0x8f, 0x00, 0x80, 0x35]);
  assert.equal(decodePacket(slarp, 0, slarp.length, 104, p), DROP.UNSUPPORTED_ETHERTYPE);
  assert.equal(decodePacket(new Uint8Array(3), 0, 3, 104, p), DROP.TRUNCATED_LINK);
  assert.equal(p.eventCount, 1);
});

test('an alert on a PPP capture logs the PPP frame and link type 9', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (tcp.flags:S; sid:7;)', [80]));
  const f = pppFrame(tcpFrame({ srcIp: IP_C, dstIp: IP_S, srcPort: 1, dstPort: 80, seq: 1, flags: SYN }), [0x21]);
  engine.processPacket(f, f.length, 9, 1_700_000_000_000_000);
  assert.equal(detections.length, 1);
  const ev = toAlertEvent(detections[0]!, { action: 'allowed', count: 1, eventId: 'x' });
  assert.equal(ev.packet, Buffer.from(f).toString('base64'));
  assert.deepEqual(ev.packet_info, { linktype: 9, linktype_name: 'PPP' });
});

test('tcp.flags is the flags keyword (Suricata 8 name)', () => {
  const a = rules('alert tcp any any -> any any (tcp.flags:S; sid:1;)', [80]);
  const b = rules('alert tcp any any -> any any (flags:S; sid:1;)', [80]);
  assert.equal(a.signatures.length, b.signatures.length);
  assert.deepEqual(a.signatures[0]!.flags, b.signatures[0]!.flags);
  assert.ok(a.signatures.length > 0);
});

/** Splits an Ethernet+IPv4 frame's IP payload in two fragments at `cut` (8-byte aligned). */
function frag4(frame: Uint8Array, cut: number): Uint8Array[] {
  const ihl = (frame[14]! & 15) * 4;
  const payload = frame.subarray(14 + ihl);
  return [
    [0, cut],
    [cut, payload.length],
  ].map(([start, end]) => {
    const f = new Uint8Array(14 + ihl + (end! - start!));
    f.set(frame.subarray(0, 14 + ihl));
    const h = f.subarray(14);
    const tl = ihl + end! - start!;
    h[2] = tl >> 8;
    h[3] = tl & 255;
    h[4] = 0x12;
    h[5] = 0x34;
    const fo = start! / 8 | (end! < payload.length ? 0x2000 : 0);
    h[6] = fo >> 8;
    h[7] = fo & 255;
    // A valid header checksum for each fragment.
    h[10] = 0;
    h[11] = 0;
    let sum = 0;
    for (let i = 0; i < ihl; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    h[10] = (~sum >> 8) & 255;
    h[11] = ~sum & 255;
    f.set(payload.subarray(start, end), 14 + ihl);
    return f;
  });
}

test('an alert on a datagram rebuilt from fragments logs it with the first fragment\'s link header, a valid checksum and pkt_src defrag', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (content:"evil"; sid:8;)', [80]));
  const c = new Conv(IP_C, IP_S, 40003, 80).handshake();
  feed(engine, c.frames);
  const frame = tcpFrame({ srcIp: IP_C, dstIp: IP_S, srcPort: 40003, dstPort: 80, seq: c.cseq, ack: c.sseq, flags: ACK | PSH, payload: Buffer.from('0123456789 evil payload') });
  const [f0, f1] = frag4(frame, 16);
  // The second fragment first: the rebuilt packet still starts with the offset-0 fragment's header.
  engine.processPacket(f1!, f1!.length, 1, c.tsUs + 1000);
  engine.processPacket(f0!, f0!.length, 1, c.tsUs + 2000);
  assert.equal(detections.length, 1);
  const d = detections[0]!;
  assert.equal(d.pktSrc, 'defrag');
  const pkt = d.packet!.data;
  assert.equal(d.packet!.linkType, 1);
  assert.deepEqual(pkt.subarray(0, 14), f0!.subarray(0, 14));
  assert.equal(pkt.length, frame.length);
  const ip = pkt.subarray(14);
  assert.equal((ip[6]! << 8) | ip[7]!, 0, 'no fragment fields left');
  assert.equal((ip[2]! << 8) | ip[3]!, frame.length - 14);
  assert.ok(ipChecksumOk(ip), 'header checksum updated for the new length and offset');
  assert.deepEqual(pkt.subarray(34), frame.subarray(34), 'TCP header and data as sent');
});

test('link type names are Suricata\'s (util-datalink.c), n/a for the others', () => {
  assert.equal(linkTypeName(1), 'EN10MB');
  assert.equal(linkTypeName(113), 'LINUX_SLL');
  assert.equal(linkTypeName(276), 'LINUX_SLL2');
  assert.equal(linkTypeName(12), 'RAW');
  assert.equal(linkTypeName(101), 'RAW2');
  assert.equal(linkTypeName(228), 'IPv4');
  assert.equal(linkTypeName(108), 'n/a');
});

test('streamPayload renders gaps as "[N bytes missing]" and keeps the last 4 KiB; printable keeps CR/LF', () => {
  const buf = Buffer.from('\0\0\0\0GOOD\0\0\0\0\0DATA', 'latin1');
  assert.equal(Buffer.from(streamPayload(buf, buf.length, [0, 4, 8, 5])).toString('latin1'), '[4 bytes missing]GOOD[5 bytes missing]DATA');
  assert.equal(Buffer.from(streamPayload(buf, 8, [0, 4, 8, 5])).toString('latin1'), '[4 bytes missing]GOOD');
  assert.equal(streamPayload(null, 10, null).length, 0);
  const big = Buffer.alloc(10_000, 0x41);
  big.write('END', 9997, 'latin1');
  const p = streamPayload(big, big.length, null, 4096);
  assert.equal(p.length, 4096);
  assert.equal(Buffer.from(p.subarray(4093)).toString('latin1'), 'END');
  assert.equal(printablePayload(Buffer.from('GET /\r\n\x00\x7f\ttab', 'latin1')), 'GET /\r\n...tab');
});

test('EVE payload fields: a stream match dumps the direction\'s stream with gaps (stream 1), a packet match its payload (stream 0)', () => {
  const { engine, detections } = makeEngine(
    rules(
      [
        'alert tcp-stream any any -> any any (content:"GOOD"; sid:21;)',
        'alert tcp-pkt any any -> any any (content:"DATA"; sid:22;)',
      ].join('\n'),
      [80],
    ),
  );
  const c = new Conv(IP_C, IP_S, 40010, 80).handshake();
  // Four bytes the capture misses, then GOOD and DATA; the server acknowledges all twelve.
  c.advanceClient(4).c('GOOD').c('DATA');
  feed(engine, c.frames);
  assert.equal(detections.length, 0, 'nothing is inspected behind the hole yet');
  const ack = tcpFrame({ srcIp: IP_S, dstIp: IP_C, srcPort: 80, dstPort: 40010, seq: c.sseq, ack: c.cseq, flags: ACK });
  engine.processPacket(ack, ack.length, 1, c.tsUs + 1000);
  const evs = detections.map((d) => toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x' }));
  const s21 = evs.find((e) => e.alert.signature_id === 21)!;
  const s22 = evs.find((e) => e.alert.signature_id === 22)!;
  assert.equal(s21.stream, 1);
  // The whole packet's work is done before the stream is dumped: DATA is in it too.
  assert.equal(s21.payload_printable, '[4 bytes missing]GOODDATA');
  assert.equal(s21.payload, Buffer.from('[4 bytes missing]GOODDATA').toString('base64'));
  assert.equal(s21.payload_length, 25);
  assert.equal(s22.stream, 0);
  assert.equal(s22.payload_printable, 'DATA');
  assert.equal(s22.payload_length, 4);
  assert.equal(engine.stats().reassembly.gaps, 1);
});

test('imported rules: alert.category, alert.severity and alert.references as Suricata writes them', () => {
  const { engine, detections } = makeEngine(
    rules('alert tcp any any -> any any (msg:"m"; content:"boom"; reference:url,example.org/x; classtype:attempted-admin; sid:30;)\nalert tcp any any -> any any (msg:"n"; content:"bang"; sid:31;)', [80]),
  );
  const c = new Conv(IP_C, IP_S, 40020, 80).handshake().c('boom bang');
  feed(engine, c.frames);
  const evs = detections.map((d) => toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x', references: true }));
  // references only when asked for (events.references; Suricata 8 writes them only with metadata.rule.reference: yes)
  assert.equal(toAlertEvent(detections.find((d) => d.signatureId === 30)!, { action: 'allowed', count: 1, eventId: 'x' }).alert.references, undefined);
  const a = evs.find((e) => e.alert.signature_id === 30)!.alert;
  assert.equal(a.category, 'Attempted Administrator Privilege Gain');
  assert.equal(a.severity, 1);
  assert.deepEqual(a.references, ['https://example.org/x']);
  const b = evs.find((e) => e.alert.signature_id === 31)!.alert;
  assert.equal(b.category, '');
  assert.equal(b.severity, 3);
  assert.equal(b.references, undefined);
});

test('events.payload / events.packet false leave the payload and packet fields out', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (content:"attack"; sid:40;)', [80]));
  feed(engine, new Conv(IP_C, IP_S, 40030, 80).handshake().c('attack').frames);
  const d = detections[0]!;
  const on = toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x' });
  assert.equal(on.payload_printable, 'attack');
  assert.equal(on.stream, 1);
  assert.ok(on.packet !== undefined && on.packet_info !== undefined);
  const off = toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x', payload: false, packet: false });
  for (const k of ['payload', 'payload_printable', 'payload_length', 'stream', 'packet', 'packet_info'] as const) assert.equal(off[k], undefined, k);
  assert.equal(off.direction, 'to_server');
});
