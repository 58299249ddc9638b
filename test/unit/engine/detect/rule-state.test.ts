/** The detect stage with the rule-language state: xbits across flows, flowint, stream_size, target. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv, feed, makeEngine, rules } from '../helpers.js';

test('xbits track ip_src: a bit set on one flow is seen by the next flow from the same source, not from another; it expires', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"probe"; content:"PROBE"; xbits:set,ET.p,track ip_src,expire 10; noalert; sid:1;)
alert tcp any any -> any 80 (msg:"exploit after probe"; content:"EXPLOIT"; xbits:isset,ET.p,track ip_src; sid:2;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3000, 80).handshake().c('EXPLOIT').frames);
  assert.equal(detections.length, 0, 'no bit yet');
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3001, 80, { tsUs: 1_700_000_001_000_000 }).handshake().c('PROBE').frames);
  feed(engine, new Conv('198.51.100.2', '203.0.113.1', 3002, 80, { tsUs: 1_700_000_002_000_000 }).handshake().c('EXPLOIT').frames);
  assert.equal(detections.length, 0, 'another source');
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3003, 80, { tsUs: 1_700_000_003_000_000 }).handshake().c('EXPLOIT').frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.srcIp]), [[2, '198.51.100.1']]);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3004, 80, { tsUs: 1_700_000_020_000_000 }).handshake().c('EXPLOIT').frames);
  assert.equal(detections.length, 1, 'expired after 10 s of packet time');
  assert.equal(engine.stats().xbits?.entries, 0);
});

test('flowint: modifiers of matched rules add up on the flow; a later rule compares', () => {
  const r = rules(`alert tcp any any -> any 21 (msg:"a"; content:"AAA"; flowint:score,+,1; noalert; sid:10;)
alert tcp any any -> any 21 (msg:"b"; content:"BBB"; flowint:score,+,2; noalert; sid:12;)
alert tcp any any -> any 21 (msg:"score"; content:"CCC"; flowint:score,>=,3; sid:11;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 4000, 21).handshake().c('AAA').c('CCC').frames);
  assert.equal(detections.length, 0, 'score 1');
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 4001, 21).handshake().c('AAA').c('BBB').c('CCC').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [11]);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 4002, 21).handshake().c('BBB').c('CCC').frames);
  assert.equal(detections.length, 1, 'flowints are per flow');
});

test('stream_size: the client side size is next_seq - isn (bytes + 1)', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"small"; flow:established,to_server; stream_size:client,<,10; content:"HI"; sid:20;)
alert tcp any any -> any 81 (msg:"big"; flow:established,to_server; stream_size:client,>,10; content:"HI"; sid:21;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 5000, 80).handshake().c('HI').frames); // size 3
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 5001, 81).handshake().c('HI').frames); // size 3: not > 10
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 5002, 81).handshake().c('xxxxxxxxxxxxHI').frames); // size 15
  assert.deepEqual(detections.map((d) => d.signatureId), [20, 21]);
});

test('target:dest_ip reaches the detection', () => {
  const r = rules('alert tcp any any -> any 80 (msg:"t"; content:"X"; target:dest_ip; sid:30;)');
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 6000, 80).handshake().c('X').frames);
  assert.equal(detections[0]?.target, 'dest_ip');
});
