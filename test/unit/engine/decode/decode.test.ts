import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodedPacket, decodePacket, DROP, DROP_REASONS, ipv6ToString, ipv4ToString, LINKTYPE, tcpWindowScale } from '../../../../src/engine/decode/decode.js';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { rng } from '../helpers.js';

const hex = (s: string): Uint8Array => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Golden IPv4/TCP packet (hand-assembled): 192.0.2.1:1234 -> 198.51.100.2:80, seq 1, ack 2, PSH|ACK, payload "hi".
const IP4_TCP = hex(`
  45 00 00 2a 00 01 40 00 40 06 00 00 c0 00 02 01 c6 33 64 02
  04 d2 00 50 00 00 00 01 00 00 00 02 50 18 ff ff 00 00 00 00
  68 69`);
const ETH_HDR = hex('020000000002 020000000001 0800');

function check(p: DecodedPacket, payload: string): void {
  assert.equal(ipv4ToString(p.src4), '192.0.2.1');
  assert.equal(ipv4ToString(p.dst4), '198.51.100.2');
  assert.equal(p.srcPort, 1234);
  assert.equal(p.dstPort, 80);
  assert.equal(p.seq, 1);
  assert.equal(p.ack, 2);
  assert.equal(p.flags, 0x18);
  assert.equal(Buffer.from(p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toString(), payload);
}

test('Ethernet + IPv4 + TCP golden bytes', () => {
  const p = new DecodedPacket();
  const f = Buffer.concat([ETH_HDR, IP4_TCP]);
  assert.equal(decodePacket(f, 0, f.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  check(p, 'hi');
});

test('Ethernet padding after a short IP packet is not payload', () => {
  const p = new DecodedPacket();
  const f = Buffer.concat([ETH_HDR, IP4_TCP, Buffer.alloc(6)]);
  assert.equal(decodePacket(f, 0, f.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  check(p, 'hi');
});

test('802.1Q and QinQ tags', () => {
  const p = new DecodedPacket();
  const q = Buffer.concat([hex('020000000002 020000000001 8100 0064 0800'), IP4_TCP]);
  assert.equal(decodePacket(q, 0, q.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  check(p, 'hi');
  const qq = Buffer.concat([hex('020000000002 020000000001 88a8 0064 8100 00c8 0800'), IP4_TCP]);
  assert.equal(decodePacket(qq, 0, qq.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  check(p, 'hi');
  const deep = Buffer.concat([hex('020000000002 020000000001 8100 0001 8100 0001 8100 0001 8100 0001 8100 0001 0800'), IP4_TCP]);
  assert.equal(decodePacket(deep, 0, deep.length, LINKTYPE.ETHERNET, p), DROP.UNSUPPORTED_ETHERTYPE);
});

test('Linux SLL and SLL2 (the any pseudo-interface)', () => {
  const p = new DecodedPacket();
  const sll = Buffer.concat([hex('0000 0001 0006 020000000001 0000 0800'), IP4_TCP]);
  assert.equal(decodePacket(sll, 0, sll.length, LINKTYPE.LINUX_SLL, p), DROP.NONE);
  check(p, 'hi');
  const sll2 = Buffer.concat([hex('0800 0000 00000002 0001 00 06 020000000001 0000'), IP4_TCP]);
  assert.equal(decodePacket(sll2, 0, sll2.length, LINKTYPE.LINUX_SLL2, p), DROP.NONE);
  check(p, 'hi');
});

test('raw IP, IPv4/IPv6 link types and BSD loopback', () => {
  const p = new DecodedPacket();
  for (const lt of [LINKTYPE.RAW, LINKTYPE.RAW_ALT, LINKTYPE.IPV4]) {
    assert.equal(decodePacket(IP4_TCP, 0, IP4_TCP.length, lt, p), DROP.NONE);
    check(p, 'hi');
  }
  const nul = Buffer.concat([hex('02000000'), IP4_TCP]);
  assert.equal(decodePacket(nul, 0, nul.length, LINKTYPE.NULL, p), DROP.NONE);
  check(p, 'hi');
  const loop = Buffer.concat([hex('00000002'), IP4_TCP]);
  assert.equal(decodePacket(loop, 0, loop.length, LINKTYPE.LOOP, p), DROP.NONE);
  check(p, 'hi');
  assert.equal(decodePacket(IP4_TCP, 0, IP4_TCP.length, 147, p), DROP.UNSUPPORTED_LINK);
});

test('decoding at an offset inside a larger buffer', () => {
  const p = new DecodedPacket();
  const f = Buffer.concat([Buffer.alloc(100, 0xee), ETH_HDR, IP4_TCP, Buffer.alloc(50, 0xee)]);
  assert.equal(decodePacket(f, 100, ETH_HDR.length + IP4_TCP.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  check(p, 'hi');
});

test('IPv4 options and TCP options', () => {
  const p = new DecodedPacket();
  // IHL 6 (4 bytes of NOP options), TCP data offset 8 (12 bytes of options: MSS, NOP, WS=7, NOPs).
  const ip = hex(`46 00 00 3a 00 01 40 00 40 06 00 00 c0 00 02 01 c6 33 64 02 01 01 01 00
    04 d2 00 50 00 00 00 01 00 00 00 00 80 02 ff ff 00 00 00 00 02 04 05 b4 01 03 03 07 01 01 01 01
    41 42`);
  assert.equal(decodePacket(ip, 0, ip.length, LINKTYPE.RAW, p), DROP.NONE);
  assert.equal(p.tcpHeaderLength, 32);
  assert.equal(p.payloadLength, 2);
  assert.equal(p.flags, 2);
  assert.equal(tcpWindowScale(p), 7);
});

test('IPv6 with hop-by-hop and destination options; fragments counted', () => {
  const p = new DecodedPacket();
  const f = tcpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8:b1::a', srcPort: 5555, dstPort: 443, seq: 9, flags: 0x18, payload: Buffer.from('abc') });
  assert.equal(decodePacket(f, 0, f.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  assert.equal(ipv6ToString(p.buf, p.src6Offset), '2001:db8::1');
  assert.equal(ipv6ToString(p.buf, p.dst6Offset), '2001:db8:b1::a');
  assert.equal(p.payloadLength, 3);
  // Insert hop-by-hop (8 bytes) + destination options (8 bytes) in front of TCP.
  const ip = Buffer.from(f.subarray(14));
  const tcp = ip.subarray(40);
  const hbh = hex('3c 00 01 04 00 00 00 00'); // next = 60 (dest opts), PadN
  const dst = hex('06 00 01 04 00 00 00 00'); // next = TCP
  const hdr = Buffer.from(ip.subarray(0, 40));
  hdr[6] = 0;
  hdr.writeUInt16BE(tcp.length + 16, 4);
  const v6ext = Buffer.concat([hdr, hbh, dst, tcp]);
  assert.equal(decodePacket(v6ext, 0, v6ext.length, LINKTYPE.RAW, p), DROP.NONE);
  assert.equal(p.dstPort, 443);
  assert.equal(p.payloadLength, 3);
  // Fragment header with offset 0 and M set: a fragment.
  const frag = hex('06 00 00 01 12 34 56 78');
  const hdr2 = Buffer.from(hdr);
  hdr2[6] = 44;
  hdr2.writeUInt16BE(tcp.length + 8, 4);
  const v6frag = Buffer.concat([hdr2, frag, tcp]);
  assert.equal(decodePacket(v6frag, 0, v6frag.length, LINKTYPE.RAW, p), DROP.IP_FRAGMENT);
  // An atomic fragment (offset 0, M clear) is a whole packet.
  const atomic = Buffer.concat([hdr2, hex('06 00 00 00 12 34 56 78'), tcp]);
  assert.equal(decodePacket(atomic, 0, atomic.length, LINKTYPE.RAW, p), DROP.NONE);
  assert.equal(p.payloadLength, 3);
});

test('IPv4 fragments and non-TCP are counted, never parsed as TCP', () => {
  const p = new DecodedPacket();
  const mf = Buffer.from(IP4_TCP);
  mf[6] = 0x20; // MF
  assert.equal(decodePacket(mf, 0, mf.length, LINKTYPE.RAW, p), DROP.IP_FRAGMENT);
  const later = Buffer.from(IP4_TCP);
  later[7] = 0x10; // offset 128
  later[6] = 0;
  assert.equal(decodePacket(later, 0, later.length, LINKTYPE.RAW, p), DROP.IP_FRAGMENT);
  const udp = Buffer.from(IP4_TCP);
  udp[9] = 17;
  assert.equal(decodePacket(udp, 0, udp.length, LINKTYPE.RAW, p), DROP.NOT_TCP);
});

test('truncated and garbage inputs return drop reasons', () => {
  const p = new DecodedPacket();
  const f = Buffer.concat([ETH_HDR, IP4_TCP]);
  for (let n = 0; n < 14; n++) assert.equal(decodePacket(f, 0, n, LINKTYPE.ETHERNET, p), DROP.TRUNCATED_LINK);
  for (let n = 14; n < 34; n++) assert.equal(decodePacket(f, 0, n, LINKTYPE.ETHERNET, p), DROP.TRUNCATED_IP);
  for (let n = 34; n < 54; n++) assert.equal(decodePacket(f, 0, n, LINKTYPE.ETHERNET, p), DROP.TRUNCATED_TCP);
  // Snaplen cut inside the payload: decoded, payload = what was captured.
  assert.equal(decodePacket(f, 0, 55, LINKTYPE.ETHERNET, p), DROP.NONE);
  assert.equal(p.payloadLength, 1);
  assert.equal(p.payloadTruncated, 1);
  const badIhl = Buffer.from(IP4_TCP);
  badIhl[0] = 0x44;
  assert.equal(decodePacket(badIhl, 0, badIhl.length, LINKTYPE.RAW, p), DROP.BAD_IP_HEADER);
  const badLen = Buffer.from(IP4_TCP);
  badLen.writeUInt16BE(10, 2);
  assert.equal(decodePacket(badLen, 0, badLen.length, LINKTYPE.RAW, p), DROP.BAD_IP_LENGTH);
  const badOff = Buffer.from(IP4_TCP);
  badOff[32] = 0x30;
  assert.equal(decodePacket(badOff, 0, badOff.length, LINKTYPE.RAW, p), DROP.BAD_TCP_HEADER);
  const v5 = Buffer.from(IP4_TCP);
  v5[0] = 0x55;
  assert.equal(decodePacket(v5, 0, v5.length, LINKTYPE.RAW, p), DROP.BAD_IP_VERSION);
  assert.equal(decodePacket(f, 10, f.length, LINKTYPE.ETHERNET, p), DROP.TRUNCATED_LINK); // beyond the buffer
  assert.equal(DROP_REASONS[DROP.IP_FRAGMENT], 'ip_fragment');
});

test('random bytes never throw and always give a known reason', () => {
  const p = new DecodedPacket();
  const r = rng(7);
  const b = new Uint8Array(128);
  for (let i = 0; i < 20000; i++) {
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
    const lt = [1, 101, 113, 276, 0, 108, 228, 229][i % 8]!;
    const reason = decodePacket(b, 0, Math.floor(r() * 129), lt, p);
    assert.ok(reason >= 0 && reason < DROP_REASONS.length);
    if (reason === DROP.NONE) assert.ok(p.payloadOffset + p.payloadLength <= b.length);
  }
});

test('address formatting', () => {
  assert.equal(ipv6ToString(hex('20010db8000000000000000000000001'), 0), '2001:db8::1');
  assert.equal(ipv6ToString(hex('00000000000000000000000000000000'), 0), '::');
  assert.equal(ipv6ToString(hex('00000000000000000000ffffc0000201'), 0), '::ffff:192.0.2.1');
  assert.equal(ipv6ToString(hex('20010db8000100000001000000000001'), 0), '2001:db8:1:0:1::1');
  assert.equal(ipv4ToString(0xc0000201), '192.0.2.1');
});

test('packetHeader: ipv4.hdr with options, tcp.hdr with options, ipv6.hdr fixed 40 bytes; null for the other family', async () => {
  const { packetHeader } = await import('../../../../src/engine/decode/decode.js');
  // IPv4 header with 4 bytes of options (IHL 6), TCP header with MSS option (data offset 6), payload "hi"
  const ip = hex(`
    46 00 00 32 00 01 40 00 40 06 00 00 c0 00 02 01 c6 33 64 02 01 04 00 00
    04 d2 00 50 00 00 00 01 00 00 00 02 60 02 ff ff 00 00 00 00 02 04 02 00
    68 69`);
  const p = new DecodedPacket();
  const f = Buffer.concat([ETH_HDR, ip]);
  assert.equal(decodePacket(f, 0, f.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  assert.deepEqual([...packetHeader(p, 'ipv4.hdr')!], [...ip.subarray(0, 24)]);
  assert.deepEqual([...packetHeader(p, 'tcp.hdr')!], [...ip.subarray(24, 48)]);
  assert.equal(packetHeader(p, 'ipv6.hdr'), null);
  assert.equal(packetHeader(p, 'udp.hdr'), null);
  const ip6 = hex(`
    60 00 00 00 00 14 06 40 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
    04 d2 00 50 00 00 00 01 00 00 00 02 50 02 ff ff 00 00 00 00`);
  const f6 = Buffer.concat([hex('020000000002 020000000001 86dd'), ip6]);
  assert.equal(decodePacket(f6, 0, f6.length, LINKTYPE.ETHERNET, p), DROP.NONE);
  assert.deepEqual([...packetHeader(p, 'ipv6.hdr')!], [...ip6.subarray(0, 40)]);
  assert.deepEqual([...packetHeader(p, 'tcp.hdr')!], [...ip6.subarray(40, 60)]);
  assert.equal(packetHeader(p, 'ipv4.hdr'), null);
});
