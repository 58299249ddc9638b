/** Packet header sticky buffers (ipv4.hdr, ipv6.hdr, tcp.hdr): parsing, compile, verification per packet. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { verifySignature } from '../../../src/signatures/verify.js';
import type { Signature, VerifyContext } from '../../../src/signatures/types.js';

const hex = (s: string): Uint8Array => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// IPv4 header (ihl 5, total length 44, ttl 64) and a SYN's TCP header with MSS 512 (02 04 02 00)
const IP4 = hex('45 00 00 2c 00 01 40 00 40 06 00 00 c0 00 02 01 c6 33 64 02');
const TCP = hex('04 d2 00 50 00 00 00 01 00 00 00 00 60 02 ff ff 00 00 00 00 02 04 02 00');

function compile(rules: string): { sigs: Signature[]; problems: string[] } {
  const rs = compileRuleset([{ file: 'h.rules', text: rules }], { anyIsAllWhenUnnamed: true });
  return { sigs: [...rs.signatures], problems: (rs.stats.problems ?? []).map((p) => p.message) };
}
const ctx = (headers: Record<string, Uint8Array>): VerifyContext => ({ flowbits: new Set(), packetHeader: (b) => headers[b] ?? null });
const run = (s: Signature, headers: Record<string, Uint8Array>, payload = ''): boolean => verifySignature(s, Buffer.from(payload), payload.length, ctx(headers));

test('tcp.hdr: content and relative byte_test on the header with options (suricata-verify tcp-hdr-keyword)', () => {
  const { sigs, problems } = compile('alert tcp any any -> any any (tcp.hdr; content:"|02 04|"; offset:20; byte_test:2,<,536,0,big,relative; sid:1234;)');
  assert.deepEqual(problems, []);
  const s = sigs.find((x) => x.direction === 'to_server')!;
  assert.equal(s.fastPatternIndex, -1, 'runs on every packet, payload or not');
  assert.deepEqual(s.conditions, []);
  assert.equal(s.packetBuffers?.[0]?.buffer, 'tcp.hdr');
  assert.equal(run(s, { 'tcp.hdr': TCP }), true);
  const big = TCP.slice();
  big[22] = 0x05; // MSS 1280
  assert.equal(run(s, { 'tcp.hdr': big }), false);
  // no TCP header (or no packet at all): no match
  assert.equal(run(s, {}), false);
  assert.equal(verifySignature(s, new Uint8Array(0), 0, { flowbits: new Set() }), false);
});

test('variables cross header buffers in rule order (suricata-verify detect-bytemath-01 shape)', () => {
  // ttl (ipv4.hdr byte 8) extracted, added to ipv4.hdr byte 0, the result tested in tcp.hdr
  const { sigs, problems } = compile('alert tcp any any -> any any (ipv4.hdr; byte_extract:1,8,ttl; byte_math:bytes 1, offset 0, oper +, rvalue ttl, result r; tcp.hdr; byte_test:1,=,r,13; sid:1;)');
  assert.deepEqual(problems, []);
  const s = sigs[0]!;
  // ipv4 byte 0 is 0x45 (69) + ttl 64 = 133 = 0x85; tcp byte 13 (flags) is 0x02
  assert.equal(run(s, { 'ipv4.hdr': IP4, 'tcp.hdr': TCP }), false);
  const t = TCP.slice();
  t[13] = 0x85;
  assert.equal(run(s, { 'ipv4.hdr': IP4, 'tcp.hdr': t }), true);
  // an IPv6 packet has no ipv4.hdr
  assert.equal(run(s, { 'ipv6.hdr': new Uint8Array(40), 'tcp.hdr': t }), false);
});

test('payload conditions and header buffers together; bsize on a header; skips', () => {
  const { sigs } = compile('alert tcp any any -> any 80 (content:"GET"; tcp.hdr; bsize:24; sid:2;)');
  const s = sigs[0]!;
  assert.equal(run(s, { 'tcp.hdr': TCP }, 'GET /'), true);
  assert.equal(run(s, { 'tcp.hdr': TCP }, 'PUT /'), false);
  assert.equal(run(s, { 'tcp.hdr': TCP.subarray(0, 20) }, 'GET /'), false);
  const skipped = compile(
    [
      'alert tcp any any -> any any (udp.hdr; content:"|00|"; sid:3;)',
      'alert http any any -> any any (http.uri; content:"/"; tcp.hdr; content:"|02 04|"; sid:4;)',
      'alert tcp any any -> any any (tcp.hdr:x; sid:5;)',
    ].join('\n'),
  ).problems;
  assert.equal(skipped.length, 3, skipped.join('\n'));
});
