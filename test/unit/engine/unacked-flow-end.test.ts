import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv, feed, makeEngine, rules } from './helpers.js';

// Suricata 8 (ticket 7422): data nobody acknowledged when the flow ends is still inspected by
// the raw stream rules, on the end-of-flow pseudo packet, even past a hole; it is neither a
// reassembly gap nor given to the app-layer parsers.
const RULES = `alert tcp any any -> any any (msg:"raw"; content:"User-Agent: Mozilla"; sid:1;)
alert http any any -> any any (msg:"app"; http.user_agent; content:"Mozilla"; sid:2;)
`;

function conv(): Conv {
  // "GET / HTTP/1.0\\r\\n", the Host line (frame 4, the one the tests lose), then the User-Agent
  // line: the server never ACKs any of it.
  return new Conv('198.51.100.10', '198.51.100.11', 40100, 80)
    .handshake()
    .c('GET / HTTP/1.0\r\n')
    .c('Host: localhost\r\n', { at: 0 })
    .c('User-Agent: Mozilla\r\n\r\n', { at: 17 });
}

test('RST before the ACK: data held behind a hole is inspected raw as the flow-end pseudo packet', () => {
  const { engine, detections } = makeEngine(rules(RULES, [80]));
  const c = conv();
  // drop the segment that would fill the hole (offset 16..32)
  const frames = c.frames.filter((_f, i) => i !== 4);
  feed(engine, [...frames, ...c.rst().frames.slice(-1)]);
  const raw = detections.filter((d) => d.signatureId === 1);
  assert.equal(raw.length, 1);
  assert.equal(raw[0]!.pcapCnt, undefined);
  assert.equal(raw[0]!.pktSrc, 'stream (flow timeout)');
  assert.equal(detections.filter((d) => d.signatureId === 2).length, 0, 'the HTTP parser never sees unACKed post-hole data');
  const st = engine.stats();
  assert.equal(st.reassembly.gaps, 0);
  assert.equal(st.reassembly.gapBytes, 0);
});

test('end of the capture: held data is inspected the same way when the flow is dropped', () => {
  const { engine, detections } = makeEngine(rules(RULES, [80]));
  const c = conv();
  feed(engine, c.frames.filter((_f, i) => i !== 4));
  assert.equal(detections.length, 0);
  engine.flush();
  assert.deepEqual(detections.map((d) => [d.signatureId, d.pcapCnt, d.pktSrc]), [[1, undefined, 'stream (flow timeout)']]);
});
