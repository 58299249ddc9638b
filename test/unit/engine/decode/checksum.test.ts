/**
 * TCP checksum validation with Suricata's semantics (stream.checksum-validation, checksum-checks
 * yes / no / auto with its 1000-packet sample and 1-in-10 ratio).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { DecodedPacket, decodePacket } from '../../../../src/engine/decode/decode.js';
import { ChecksumPolicy, ChecksumSampler, tcpChecksumOk, CHECKSUM_SAMPLE_COUNT } from '../../../../src/engine/decode/checksum.js';
import { DIR } from '../../../../src/engine/capture/types.js';
import type { Engine } from '../../../../src/engine/engine.js';
import { ACK, PSH, SYN, engineConfig, makeEngine, rules } from '../helpers.js';

const RULES = rules('alert tcp any any -> any 80 (msg:"evil"; content:"EVIL"; sid:1;)');

function frame(o: { src?: string; dst?: string; sport?: number; flags?: number; payload?: string; seq?: number; ack?: number } = {}): Uint8Array {
  return tcpFrame({
    srcIp: o.src ?? '198.51.100.10',
    dstIp: o.dst ?? '198.51.100.11',
    srcPort: o.sport ?? 40000,
    dstPort: 80,
    seq: o.seq ?? 1,
    ack: o.ack ?? 0,
    flags: o.flags ?? ACK | PSH,
    ...(o.payload !== undefined ? { payload: Buffer.from(o.payload) } : {}),
  });
}

/** Breaks the TCP checksum of an Ethernet/IPv4 (or IPv6) frame. */
function corrupt(f: Uint8Array): Uint8Array {
  const c = Uint8Array.from(f);
  const t = c[12] === 0x86 ? 14 + 40 : 14 + 20;
  c[t + 16] = c[t + 16]! ^ 0x5a;
  return c;
}

function decoded(f: Uint8Array, caplen = f.length): DecodedPacket {
  const p = new DecodedPacket();
  assert.equal(decodePacket(f, 0, caplen, 1, p), 0);
  return p;
}

test('tcpChecksumOk: valid IPv4 and IPv6 segments, corrupted ones, partial (offload) ones, cut ones', () => {
  assert.equal(tcpChecksumOk(decoded(frame({ payload: 'hello, odd length' }))), true);
  assert.equal(tcpChecksumOk(decoded(frame({ src: '2001:db8::1', dst: '2001:db8::2', payload: 'v6' }))), true);
  assert.equal(tcpChecksumOk(decoded(corrupt(frame({ payload: 'x' })))), false);
  assert.equal(tcpChecksumOk(decoded(corrupt(frame({ src: '2001:db8::1', dst: '2001:db8::2' })))), false);
  // A payload byte changed after the checksum was computed.
  const f = frame({ payload: 'abcdef' });
  f[f.length - 1] = f[f.length - 1]! ^ 1;
  assert.equal(tcpChecksumOk(decoded(f)), false);
  // What Linux leaves in the field under checksum offload (veth, virtio, a NIC's own sends): the
  // pseudo-header sum only. Invalid as captured, which is what makes auto mode switch off.
  const partial = frame({ payload: 'offloaded' });
  const tcpLen = partial.length - 34;
  let sum = 6 + tcpLen;
  for (let i = 26; i < 34; i += 2) sum += (partial[i]! << 8) | partial[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  partial[34 + 16] = sum >> 8;
  partial[34 + 17] = sum & 255;
  assert.equal(tcpChecksumOk(decoded(partial)), false);
  // Capture cut the segment (snaplen): cannot be checked.
  const long = frame({ payload: 'x'.repeat(200) });
  assert.equal(tcpChecksumOk(decoded(long, 100)), undefined);
});

/** The one's complement sum of 16-bit words, byte by byte: the reference tcpChecksumOk must agree with. */
function referenceOk(f: Uint8Array): boolean {
  const t = 14 + 20;
  const len = f.length - t;
  let s = 6 + len;
  for (let i = 26; i < 34; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  for (let i = t; i < f.length; i += 2) s += (f[i]! << 8) | (i + 1 < f.length ? f[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

test('tcpChecksumOk (32-bit words, unaligned views) agrees with a 16-bit reference sum on every length, offset and corruption', () => {
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  for (let n = 0; n < 400; n++) {
    const len = n < 40 ? n : rnd() % 1600;
    const payload = Buffer.alloc(len);
    for (let i = 0; i < len; i++) payload[i] = rnd() & 0xff;
    const f = frame({ payload: payload.toString('latin1') });
    // A bit flip anywhere in the segment every other time (the check must see each).
    if ((n & 1) === 1) {
      const at = 34 + (rnd() % (f.length - 34));
      f[at] = f[at]! ^ (1 << (rnd() & 7));
    }
    // The frame inside a larger buffer at an odd offset, as packets sit in a capture chunk.
    const shift = 1 + (n % 7);
    const big = new Uint8Array(f.length + 16);
    big.set(f, shift);
    const p = new DecodedPacket();
    assert.equal(decodePacket(big, shift, f.length, 1, p), 0);
    assert.equal(tcpChecksumOk(p), referenceOk(f), `case ${n}, length ${len}`);
  }
});

function run(engine: Engine, frames: Uint8Array[], policy: ChecksumPolicy, dir: 0 | 1 | 2 = DIR.UNKNOWN): void {
  let ts = 1_763_700_000_000_000;
  for (const f of frames) engine.processPacket(f, f.length, 1, (ts += 1000), 0, dir, policy);
}

function conversation(sport: number, bad: boolean, payload = 'EVIL'): Uint8Array[] {
  const fs = [frame({ sport, flags: SYN, seq: 1 }), frame({ sport, flags: ACK | PSH, seq: 2, payload })];
  return bad ? fs.map(corrupt) : fs;
}

test('pcap-file default (auto, validating while sampling): invalid packets stay out of the stream, counted', () => {
  const { engine, detections } = makeEngine(RULES);
  const policy = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  run(engine, conversation(40001, true), policy);
  assert.equal(detections.length, 0, 'the stream never saw EVIL');
  assert.equal(engine.stats().dropped.bad_checksum, 2);
  assert.equal(engine.stats().flowsCreated, 1, 'as in Suricata the flow exists (without a TCP session)');
  run(engine, conversation(40002, false), policy);
  assert.equal(detections.length, 1);
  assert.equal(policy.status, 'sampling');
});

test('invalid packets keep their flow and packet rules (Suricata only keeps them out of the stream)', () => {
  const rs = rules(
    [
      'alert tcp any any -> any 80 (msg:"bad"; tcpv4-csum:invalid; sid:1;)',
      'alert tcp any any -> any 80 (msg:"evil"; content:"EVIL"; sid:2;)',
      'alert tcp any any -> any 80 (msg:"syn"; flags:S; sid:3;)',
    ].join('\n'),
  );
  const { engine, detections } = makeEngine(rs);
  const policy = new ChecksumPolicy('yes', { enforceWhileSampling: true });
  // an invalid SYN, then the valid data of the same connection
  run(engine, [corrupt(frame({ sport: 40011, flags: SYN, seq: 1 })), frame({ sport: 40011, flags: ACK | PSH, seq: 2, payload: 'EVIL' })], policy);
  assert.deepEqual(detections.map((d) => d.signatureId), [1, 3, 2]);
  // the flow counted the invalid SYN: its counters carry over to the session the data started
  assert.equal(detections[0]!.flow?.pktsToServer, 1);
  assert.equal(detections[2]!.flow?.pktsToServer, 2);
  assert.equal(engine.stats().flowsCreated, 1, 'one flow: the valid packet gives it its session');
  // an IP-only rule runs on the first packet of each direction of the flow: the invalid SYN, not again
  const ipOnly = makeEngine(rules('alert tcp 198.51.100.10 any -> any any (msg:"from client"; sid:9;)'));
  run(ipOnly.engine, [corrupt(frame({ sport: 40013, flags: SYN, seq: 1 })), frame({ sport: 40013, flags: ACK | PSH, seq: 2, payload: 'x' })], policy);
  assert.deepEqual(ipOnly.detections.map((d) => d.signatureId), [9]);
  // invalid data on a tracked flow: packet rules only, its payload never reaches the stream
  const d2 = makeEngine(rs);
  run(d2.engine, [frame({ sport: 40012, flags: SYN, seq: 1 }), corrupt(frame({ sport: 40012, flags: ACK | PSH, seq: 2, payload: 'EVIL' }))], policy);
  assert.deepEqual(d2.detections.map((d) => d.signatureId), [3, 1]);
});

test('auto: a capture where more than 1 in 10 of the first 1000 packets are invalid turns validation off (offload)', () => {
  const { engine, detections } = makeEngine(RULES);
  const policy = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  const frames: Uint8Array[] = [];
  for (let i = 0; i < CHECKSUM_SAMPLE_COUNT / 2; i++) frames.push(...conversation(20000 + i, true, 'benign'));
  run(engine, frames, policy);
  assert.equal(policy.status, 'off');
  assert.equal(engine.stats().dropped.bad_checksum, CHECKSUM_SAMPLE_COUNT - 1, 'the 1000th packet is the decision: from it on nothing is validated');
  run(engine, conversation(40003, true), policy);
  assert.equal(detections.length, 1, 'after the decision invalid checksums are inspected');
});

test('auto: a clean capture keeps validation on; live captures do not drop before the decision and never validate outbound packets', () => {
  const { engine, detections } = makeEngine(RULES);
  const decisions: boolean[] = [];
  const policy = new ChecksumPolicy('auto', { enforceWhileSampling: false, onDecision: (v) => decisions.push(v) });
  // Outbound packets are this host's own: not validated, not sampled.
  run(engine, conversation(40004, true, 'benign'), policy, DIR.OUTBOUND);
  assert.equal(policy.counts.packets, 0);
  // While sampling, a live capture inspects invalid packets (counted for the decision).
  run(engine, conversation(40005, true), policy, DIR.INBOUND);
  assert.equal(detections.length, 1);
  assert.equal(policy.counts.invalid, 2);
  const clean: Uint8Array[] = [];
  for (let i = 0; i < CHECKSUM_SAMPLE_COUNT; i++) clean.push(frame({ sport: 30000 + i, flags: SYN }));
  run(engine, clean, policy, DIR.INBOUND);
  assert.equal(policy.status, 'on');
  assert.deepEqual(decisions, [true]);
  run(engine, conversation(40006, true), policy, DIR.INBOUND);
  assert.equal(detections.length, 1, 'validation on: invalid inbound packets are dropped');
  assert.equal(engine.stats().dropped.bad_checksum, 2);
  run(engine, conversation(40007, true), policy, DIR.OUTBOUND);
  assert.equal(engine.stats().dropped.bad_checksum, 2, 'outbound packets are never dropped for their checksum');
});

test('checksum-checks yes / no, and stream.checksum-validation off', () => {
  const yes = makeEngine(RULES);
  run(yes.engine, conversation(40008, true), new ChecksumPolicy('yes', { enforceWhileSampling: false }), DIR.INBOUND);
  assert.equal(yes.detections.length, 0);
  assert.equal(yes.engine.stats().dropped.bad_checksum, 2);
  const no = makeEngine(RULES);
  run(no.engine, conversation(40009, true), new ChecksumPolicy('no', { enforceWhileSampling: true }));
  assert.equal(no.detections.length, 1);
  const off = makeEngine(RULES, { config: engineConfig({ checksumValidation: false }) });
  run(off.engine, conversation(40010, true), new ChecksumPolicy('yes', { enforceWhileSampling: true }));
  assert.equal(off.detections.length, 1);
  assert.equal(off.engine.stats().dropped.bad_checksum, 0);
});

test('read ahead (bulwark scan): the sampler counts TCP packets with a computable checksum up to 1000; decide() applies the 1-in-10 ratio before any packet', () => {
  const s = new ChecksumSampler();
  const offer = (f: Uint8Array): void => { s.offer(f, f.length, 1); };
  for (let i = 0; i < 9; i++) offer(frame({ payload: `ok${i}` }));
  offer(corrupt(frame({ payload: 'forged' })));
  s.offer(Uint8Array.from([1, 2, 3]), 3, 1); // not decodable: not sampled
  assert.deepEqual([s.sampled, s.invalid, s.full], [10, 1, false]);
  // 10 / 1 = 10, not under the ratio: validation stays on and the forged packet is dropped.
  const on = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  on.decide(s.sampled, s.invalid);
  assert.equal(on.status, 'on');
  assert.equal(on.accept(decoded(corrupt(frame({ payload: 'x' })))), false);
  // 9 / 1 = 9 < 10: offload; validation off.
  const off = new ChecksumPolicy('auto', { enforceWhileSampling: true });
  off.decide(9, 1);
  assert.equal(off.status, 'off');
  assert.equal(off.accept(decoded(corrupt(frame({ payload: 'x' })))), true);
  // yes / no are never changed by a sample.
  const yes = new ChecksumPolicy('yes', { enforceWhileSampling: true });
  yes.decide(1, 1);
  assert.equal(yes.status, 'on');
  const big = new ChecksumSampler();
  for (let i = 0; i < CHECKSUM_SAMPLE_COUNT + 5; i++) {
    const f = frame({ seq: i + 1 });
    big.offer(f, f.length, 1);
  }
  assert.deepEqual([big.sampled, big.full], [CHECKSUM_SAMPLE_COUNT, true]);
});
