import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { DecodedPacket, decodePacket, DROP } from '../../../../src/engine/decode/decode.js';
import { Defragmenter } from '../../../../src/engine/decode/defrag.js';
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
