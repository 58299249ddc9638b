import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { DecodedPacket, decodePacket, DROP } from '../../../../src/engine/decode/decode.js';
import { Defragmenter } from '../../../../src/engine/decode/defrag.js';
import { decodeEventId } from '../../../../src/engine/decode/events.js';
import { ACK, Conv, feed, makeEngine, PSH, rules } from '../helpers.js';

/** Splits an Ethernet+IPv4 frame's IP payload into fragments at the given 8-byte-aligned offsets. */
function frag4(frame: Uint8Array, cuts: number[], id = 0x1234): Uint8Array[] {
  const ip = frame.subarray(14);
  const ihl = (ip[0]! & 15) * 4;
  const payload = ip.subarray(ihl);
  const bounds = [0, ...cuts, payload.length];
  return bounds.slice(1).map((end, i) => {
    const start = bounds[i]!;
    const f = new Uint8Array(14 + ihl + (end - start));
    f.set(frame.subarray(0, 14 + ihl));
    const h = f.subarray(14);
    const tl = ihl + end - start;
    h[2] = tl >> 8;
    h[3] = tl & 255;
    h[4] = id >> 8;
    h[5] = id & 255;
    const fo = (start / 8) | (end < payload.length ? 0x2000 : 0);
    h[6] = fo >> 8;
    h[7] = fo & 255;
    f.set(payload.subarray(start, end), 14 + ihl);
    return f;
  });
}

/** IPv6: inserts a fragment header. */
function frag6(frame: Uint8Array, cuts: number[], id = 0xabcdef): Uint8Array[] {
  const ip = frame.subarray(14);
  const payload = ip.subarray(40);
  const bounds = [0, ...cuts, payload.length];
  return bounds.slice(1).map((end, i) => {
    const start = bounds[i]!;
    const f = new Uint8Array(14 + 40 + 8 + (end - start));
    f.set(frame.subarray(0, 14 + 40));
    const h = f.subarray(14);
    const pl = 8 + end - start;
    h[4] = pl >> 8;
    h[5] = pl & 255;
    h[6] = 44;
    const fh = h.subarray(40);
    fh[0] = 6;
    const fo = start | (end < payload.length ? 1 : 0);
    fh[2] = fo >> 8;
    fh[3] = fo & 255;
    fh[4] = (id >>> 24) & 255;
    fh[5] = (id >>> 16) & 255;
    fh[6] = (id >>> 8) & 255;
    fh[7] = id & 255;
    f.set(payload.subarray(start, end), 14 + 48);
    return f;
  });
}

const RULES = 'alert tcp any any -> any 80 (msg:"frag attack"; content:"GET /evil"; content:"payload"; distance:0; sid:77;)';

test('an attack split into out-of-order, overlapping IPv4 fragments is reassembled and detected', () => {
  const { engine, detections } = makeEngine(rules(RULES));
  const c = new Conv('198.51.100.1', '203.0.113.1', 4444, 80).handshake();
  feed(engine, c.frames);
  const body = Buffer.from('GET /evil HTTP/1.1\r\nX: ' + 'a'.repeat(40) + ' payload here\r\n\r\n');
  const frame = tcpFrame({ srcIp: '198.51.100.1', dstIp: '203.0.113.1', srcPort: 4444, dstPort: 80, seq: c.cseq, ack: c.sseq, flags: ACK | PSH, payload: body });
  const fr = frag4(frame, [16, 40, 64]);
  const t = c.tsUs + 1000;
  // reverse order, plus the second fragment twice
  for (const [i, f] of [fr[3]!, fr[1]!, fr[2]!, fr[1]!, fr[0]!].entries()) engine.processPacket(f, f.length, 1, t + i);
  assert.deepEqual(detections.map((d) => d.signatureId), [77]);
  const st = engine.stats();
  assert.equal(st.defrag.reassembled, 1);
  assert.equal(st.defrag.fragments, 5);
  assert.equal(st.defrag.overlaps, 1, 'the duplicate second fragment overlaps entirely');
  assert.equal(st.defrag.inProgress, 0);
  assert.equal(st.dropped.ip_fragment, 0);
});

test('IPv6 fragments are reassembled', () => {
  const { engine, detections } = makeEngine(rules(RULES));
  const c = new Conv('2001:db8::1', '2001:db8::2', 4445, 80).handshake();
  feed(engine, c.frames);
  const body = Buffer.from('xx GET /evil and the payload');
  const frame = tcpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 4445, dstPort: 80, seq: c.cseq, ack: c.sseq, flags: ACK | PSH, payload: body });
  const fr = frag6(frame, [16, 32]);
  for (const [i, f] of [fr[2]!, fr[0]!, fr[1]!].entries()) engine.processPacket(f, f.length, 1, c.tsUs + 1000 + i);
  assert.deepEqual(detections.map((d) => d.signatureId), [77]);
});

test('first fragment wins on overlap; incomplete datagrams time out; bounds hold', () => {
  const p = new DecodedPacket();
  const d = new Defragmenter({ maxTrackers: 4, maxBytes: 1000, maxFragments: 8, timeoutMs: 1000 });
  const frame = tcpFrame({ srcIp: '198.51.100.1', dstIp: '203.0.113.1', srcPort: 1, dstPort: 80, seq: 0, flags: 0x18, payload: Buffer.from('A'.repeat(40)) });
  const [f0, f1] = frag4(frame, [24]);
  const evil = Uint8Array.from(f1!);
  evil.fill(0x42, 14 + 20); // same offsets, different bytes: must lose
  for (const f of [f1!, evil]) {
    assert.equal(decodePacket(f, 0, f.length, 1, p), DROP.IP_FRAGMENT);
    assert.equal(d.add(p, 0), null);
  }
  assert.equal(decodePacket(f0!, 0, f0!.length, 1, p), DROP.IP_FRAGMENT);
  const whole = d.add(p, 10)!;
  assert.ok(whole);
  assert.equal(decodePacket(whole, 0, whole.length, 101, p), DROP.NONE);
  assert.equal(Buffer.from(whole.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toString(), 'A'.repeat(40));
  assert.equal(d.counters.overlaps, 1);
  // Timeout (packet time).
  decodePacket(f1!, 0, f1!.length, 1, p);
  d.add(p, 0);
  d.expire(5000);
  assert.equal(d.size, 0);
  assert.equal(d.counters.timeouts, 1);
  // Datagram bound.
  for (let id = 0; id < 10; id++) {
    const [, g] = frag4(frame, [24], id);
    decodePacket(g!, 0, g!.length, 1, p);
    d.add(p, 6000);
  }
  assert.equal(d.size, 4);
  assert.ok(d.counters.evicted >= 6);
  assert.ok(d.memoryBytes <= 1000);
});

// ---------------------------------------------------------------- Suricata's defrag semantics

const RAW = 101;

/** A raw IPv4 fragment: 20-byte header (1.1.1.1 → 2.2.2.2), `len` bytes of `ch` at byte offset `off`. */
function v4frag(id: number, off: number, more: boolean, ch: string, len: number, proto = 1): Uint8Array {
  const f = new Uint8Array(20 + len);
  f[0] = 0x45;
  f[2] = (20 + len) >> 8;
  f[3] = (20 + len) & 255;
  f[4] = id >> 8;
  f[5] = id & 255;
  const fo = (off >> 3) | (more ? 0x2000 : 0);
  f[6] = fo >> 8;
  f[7] = fo & 255;
  f[8] = 64;
  f[9] = proto;
  f.set([1, 1, 1, 1, 2, 2, 2, 2], 12);
  f.fill(ch.charCodeAt(0), 20);
  return f;
}

/** A raw IPv6 fragment (fragment header right after the fixed header, next header ICMPv6). */
function v6frag(id: number, off: number, more: boolean, ch: string, len: number): Uint8Array {
  const f = new Uint8Array(48 + len);
  f[0] = 0x60;
  f[4] = (8 + len) >> 8;
  f[5] = (8 + len) & 255;
  f[6] = 44;
  f[7] = 64;
  f.fill(1, 8, 24);
  f.fill(2, 24, 40);
  f[40] = 58;
  const fo = off | (more ? 1 : 0);
  f[42] = fo >> 8;
  f[43] = fo & 255;
  f[44] = id >>> 24;
  f[45] = (id >>> 16) & 255;
  f[46] = (id >>> 8) & 255;
  f[47] = id & 255;
  f.fill(ch.charCodeAt(0), 48);
  return f;
}

/**
 * The fragments of "Target-Based Fragmentation Reassembly" (Novak) that Suricata's defrag unit
 * tests (DefragDoSturgesNovakTest) replay: 9 originals, then 8 overlapping ones, the last closing
 * the datagram. Offset, MF, letter, length.
 */
const STURGES_NOVAK: readonly [number, boolean, string, number][] = [
  [0, true, 'A', 24], [32, true, 'B', 16], [48, true, 'C', 24], [80, true, 'D', 8], [104, true, 'E', 16],
  [120, true, 'F', 24], [144, true, 'G', 16], [160, true, 'H', 16], [176, true, 'I', 8],
  [8, true, 'J', 32], [48, true, 'K', 24], [72, true, 'L', 24], [96, true, 'M', 24], [128, true, 'N', 8],
  [152, true, 'O', 8], [160, true, 'P', 8], [176, false, 'Q', 16],
];
/** Suricata's expected result for the BSD policy (DefragSturgesNovakBsdTest), one letter per 8 bytes. */
const BSD_EXPECTED = 'AAAJJBCCCLLLMMMFFFGGHHIQ';

for (const v6 of [false, true]) {
  test(`BSD overlap policy on the Sturges-Novak fragments, ${v6 ? 'IPv6' : 'IPv4'} (Suricata's defrag result and overlap events)`, () => {
    const d = new Defragmenter();
    const p = new DecodedPacket();
    const overlapEv = decodeEventId(v6 ? 'ipv6.frag_overlap' : 'ipv4.frag_overlap');
    let whole: Uint8Array | null = null;
    for (const [i, [off, more, ch, len]] of STURGES_NOVAK.entries()) {
      const f = v6 ? v6frag(1, off, more, ch, len) : v4frag(1, off, more, ch, len);
      assert.equal(decodePacket(f, 0, f.length, RAW, p), DROP.IP_FRAGMENT);
      whole = d.add(p, 1000 + i);
      // The originals do not overlap; each of the later ones does.
      assert.equal(p.hasEvent(overlapEv), i >= 9, `fragment ${ch}`);
      if (i < STURGES_NOVAK.length - 1) assert.equal(whole, null);
    }
    assert.ok(whole !== null);
    const w: Uint8Array = whole;
    const hl = v6 ? 40 : 20;
    assert.equal(w.length, hl + 192);
    let got = '';
    for (let o = hl; o < w.length; o += 8) got += String.fromCharCode(w[o]!);
    assert.equal(got, BSD_EXPECTED);
    for (let o = hl; o < w.length; o++) assert.equal(w[o], w[hl + Math.floor((o - hl) / 8) * 8], 'each 8-byte block comes from one fragment');
    // The rebuilt datagram decodes as a plain packet: no fragment header, lengths rewritten.
    assert.equal(decodePacket(w, 0, w.length, RAW, p), DROP.NOT_TCP);
    assert.equal(p.fragOffset, 0);
    assert.equal(p.moreFragments, false);
    assert.equal(p.l4Proto, v6 ? 58 : 1);
    assert.equal(p.l4Length, 192);
    assert.equal(d.size, 0);
    assert.equal(d.memoryBytes, 0);
    assert.equal(d.counters.overlaps, 8);
  });
}

test('fragments past 65,535 bytes raise frag_pkt_too_large and are not held', () => {
  const d = new Defragmenter();
  const p = new DecodedPacket();
  // Suricata's DefragTooLargeIpv4Test: offset 8183 * 8 with 71 bytes ends past 65,535 with the header.
  const f = v4frag(1, 8183 * 8, false, 'A', 71);
  assert.equal(decodePacket(f, 0, f.length, RAW, p), DROP.IP_FRAGMENT);
  assert.equal(d.add(p, 0), null);
  assert.ok(p.hasEvent(decodeEventId('ipv4.frag_pkt_too_large')));
  assert.equal(d.size, 0);
  const g = v6frag(1, 65528, false, 'A', 16);
  assert.equal(decodePacket(g, 0, g.length, RAW, p), DROP.IP_FRAGMENT);
  assert.equal(d.add(p, 0), null);
  assert.ok(p.hasEvent(decodeEventId('ipv6.frag_pkt_too_large')));
  assert.equal(d.counters.invalid, 2);
});

test('a datagram over maxFragments: further fragments raise frag_ignored; idle trackers time out from their last fragment', () => {
  const d = new Defragmenter({ maxTrackers: 16, maxBytes: 1 << 20, maxFragments: 3, timeoutMs: 60_000 });
  const p = new DecodedPacket();
  for (let i = 0; i < 3; i++) {
    const f = v4frag(7, 8 + 16 * i, true, 'x', 8);
    decodePacket(f, 0, f.length, RAW, p);
    assert.equal(d.add(p, i * 50_000), null, 'each fragment comes within the timeout of the previous one');
    assert.equal(p.eventCount, 0);
  }
  const f = v4frag(7, 200, true, 'y', 8);
  decodePacket(f, 0, f.length, RAW, p);
  assert.equal(d.add(p, 100_001), null);
  assert.ok(p.hasEvent(decodeEventId('ipv4.frag_ignored')));
  assert.equal(d.counters.ignored, 1);
  assert.equal(d.counters.timeouts, 0, 'the tracker lives 60 s after its last fragment, not its first');
  d.expire(100_001 + 60_001);
  assert.equal(d.size, 0);
  assert.equal(d.counters.timeouts, 1);
});

test('IPv6 unfragmentable extension headers stay in the rebuilt datagram, pointing at the reassembled protocol', () => {
  const d = new Defragmenter();
  const p = new DecodedPacket();
  // fixed header → destination options (8 bytes, PadN) → fragment header → ICMPv6 data
  const mk = (off: number, more: boolean, ch: string, len: number): Uint8Array => {
    const base = v6frag(9, off, more, ch, len);
    const f = new Uint8Array(base.length + 8);
    f.set(base.subarray(0, 40));
    f[6] = 60;
    f[40] = 44; // dstopts next header: fragment
    f.set([1, 4, 0, 0, 0, 0], 42); // PadN of 4 bytes after the 2-byte header
    f.set(base.subarray(40), 48);
    const pl = f.length - 40;
    f[4] = pl >> 8;
    f[5] = pl & 255;
    return f;
  };
  const a = mk(0, true, 'a', 16);
  const b = mk(16, false, 'b', 8);
  assert.equal(decodePacket(a, 0, a.length, RAW, p), DROP.IP_FRAGMENT);
  assert.ok(p.hasEvent(decodeEventId('ipv6.dstopts_only_padding')), 'the fragment raises its own decoder events');
  assert.equal(d.add(p, 0), null);
  assert.equal(decodePacket(b, 0, b.length, RAW, p), DROP.IP_FRAGMENT);
  const w = d.add(p, 1)!;
  assert.ok(w);
  assert.equal(w.length, 40 + 8 + 24);
  assert.equal(w[6], 60, 'fixed header still names the destination options');
  assert.equal(w[40], 58, 'the destination options now name ICMPv6');
  assert.equal((w[4]! << 8) | w[5]!, 32);
  assert.equal(decodePacket(w, 0, w.length, RAW, p), DROP.NOT_TCP);
  assert.equal(p.l4Proto, 58);
  assert.equal(p.l4Length, 24);
  assert.equal(Buffer.from(w.subarray(48)).toString(), 'a'.repeat(16) + 'b'.repeat(8));
});
