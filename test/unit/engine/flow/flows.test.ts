import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv, engineConfig, feed, makeEngine, rules } from '../helpers.js';

test('flows time out by state using packet time; memory freed', () => {
  const r = rules('alert tcp any any -> any 80 (msg:"x"; content:"zzzz"; sid:1;)');
  const { engine } = makeEngine(r, { config: engineConfig({ timeouts: { newMs: 10_000, establishedMs: 100_000, closedMs: 5_000 } }) });
  const t = 1_700_000_000_000_000;
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 1000, 80, { tsUs: t }).syn().frames); // new
  feed(engine, new Conv('198.51.100.2', '203.0.113.1', 1001, 80, { tsUs: t }).handshake().c('hello').frames); // established
  feed(engine, new Conv('198.51.100.3', '203.0.113.1', 1002, 80, { tsUs: t }).handshake().c('bye').fin().frames); // closed
  assert.equal(engine.stats().flowsActive, 3);
  assert.ok(engine.stats().streamMemoryBytes > 0);
  engine.tick(t / 1000 + 6_000);
  assert.equal(engine.stats().flowsActive, 2, 'closed flow expired');
  engine.tick(t / 1000 + 11_000);
  assert.equal(engine.stats().flowsActive, 1, 'new flow expired');
  engine.tick(t / 1000 + 101_000);
  assert.equal(engine.stats().flowsActive, 0);
  assert.equal(engine.stats().flowTimeouts, 3);
  assert.equal(engine.stats().streamMemoryBytes, 0);
});

test('the flow table is bounded (LRU) and evictions are counted', () => {
  const r = rules('alert tcp any any -> any 80 (msg:"x"; content:"zzzz"; sid:1;)');
  const { engine } = makeEngine(r, { config: engineConfig({ maxFlows: 50 }) });
  for (let i = 0; i < 120; i++) feed(engine, new Conv(`198.51.100.${i}`, '203.0.113.1', 2000, 80).handshake().c('data').frames);
  const st = engine.stats();
  assert.equal(st.flowsActive, 50);
  assert.equal(st.flowEvictions, 70);
  assert.equal(st.flowsCreated, 120);
});

test('flowbits: set on one signature enables another; noalert honoured', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"login"; content:"LOGIN"; flowbits:set,logged_in; flowbits:noalert; sid:10;)
alert tcp any any -> any 80 (msg:"admin after login"; content:"ADMIN"; flowbits:isset,logged_in; sid:11;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3000, 80).handshake().c('ADMIN first').frames);
  assert.equal(detections.length, 0);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3001, 80).handshake().c('LOGIN ok').c('then ADMIN').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [11]);
});

test('ADMIN before LOGIN in the same stream alerts once the bit is set (pending re-verification)', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"login"; content:"LOGIN"; flowbits:set,logged_in; flowbits:noalert; sid:10;)
alert tcp any any -> any 80 (msg:"admin after login"; content:"ADMIN"; flowbits:isset,logged_in; sid:11;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 3002, 80).handshake().c('ADMIN x').c('LOGIN y').c('z').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [11]);
});

test('detection_filter and threshold apply per tracked address', () => {
  const r = rules(`alert tcp any any -> any 21 (msg:"ftp fail"; content:"530 "; detection_filter:track by_src, count 3, seconds 60; sid:20;)
alert tcp any any -> any 80 (msg:"limited"; content:"probe"; threshold:type limit, track by_src, count 2, seconds 60; sid:21;)`);
  const { engine, detections } = makeEngine(r);
  for (let i = 0; i < 6; i++) feed(engine, new Conv('198.51.100.9', '203.0.113.1', 4000 + i, 21).handshake().c('530 Login incorrect').frames);
  assert.equal(detections.filter((d) => d.signatureId === 20).length, 3, 'alerts after the 3rd match');
  for (let i = 0; i < 5; i++) feed(engine, new Conv('198.51.100.9', '203.0.113.1', 5000 + i, 80).handshake().c('probe').frames);
  assert.equal(detections.filter((d) => d.signatureId === 21).length, 2);
  assert.equal(engine.stats().suppressedByRateFilter, 3 + 3);
});

test('signatures without a fast pattern run per packet (flags, dsize)', () => {
  const r = rules(`alert tcp any any -> any 22 (msg:"syn with data"; flags:S; dsize:>0; sid:30;)
alert tcp any any -> any 22 (msg:"tiny"; flow:established; dsize:1; sid:31;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 6000, 22).handshake().c('ab').c('c').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [31]);
  assert.ok(r.groups.some((g) => g.unanchored.length > 0));
});

test('flow:established / not_established and to_server ports', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"est"; flow:to_server,established; content:"hit"; sid:40;)
alert tcp any any -> any 8080 (msg:"other port"; content:"hit"; sid:41;)`);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 7000, 80).handshake().c('hit').frames);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 7001, 8080).handshake().c('hit').frames);
  feed(engine, new Conv('198.51.100.1', '203.0.113.1', 7002, 81).handshake().c('hit').frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.destPort]), [[40, 80], [41, 8080]]);
});

test('setRuleset swaps atomically: live flows are rebound', () => {
  const r1 = rules('alert tcp any any -> any 80 (msg:"one"; content:"alpha"; sid:50;)');
  const r2 = rules('alert tcp any any -> any 80 (msg:"two"; content:"beta"; sid:51;)');
  const { engine, detections } = makeEngine(r1);
  const c = new Conv('198.51.100.1', '203.0.113.1', 8000, 80).handshake().c('alpha');
  feed(engine, c.frames);
  engine.setRuleset(r2);
  const before = c.frames.length;
  c.c('alpha beta');
  feed(engine, c.frames.slice(before));
  assert.deepEqual(detections.map((d) => d.signatureId), [50, 51]);
  assert.equal(engine.activeRuleset, r2);
});

test('IPv6 flows are inspected and reported with IPv6 addresses', () => {
  const r = rules('alert tcp any any -> any 80 (msg:"v6"; content:"six"; sid:60;)');
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('2001:db8:b1::10', '2001:db8:b1::11', 9000, 80).handshake().c('s').c('ix').frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.srcIp, d.destIp, d.handshakeCompleted]), [[60, '2001:db8:b1::10', '2001:db8:b1::11', true]]);
});

test('the global stream memory bound is enforced and counted', () => {
  const r = rules('alert tcp any any -> any 80 (msg:"x"; content:"needle"; sid:70;)');
  const { engine, detections } = makeEngine(r, { maxStreamMemory: 64 * 1024 });
  for (let i = 0; i < 20; i++) feed(engine, new Conv(`198.51.100.${i}`, '203.0.113.1', 9100, 80).handshake().c('x'.repeat(1000)).frames);
  const st = engine.stats();
  assert.ok(st.streamMemoryBytes <= 64 * 1024);
  assert.ok(st.streamMemoryRefused > 0);
  // Still detected within a packet even when the stream could not be kept.
  feed(engine, new Conv('198.51.100.200', '203.0.113.1', 9100, 80).handshake().c('a needle here').frames);
  assert.equal(detections.length, 1);
});

test('verification work per flow direction is bounded', () => {
  const r = rules('alert tcp any any -> any 80 (msg:"x"; content:"AAAA"; content:"ZZZZ"; distance:0; sid:80;)');
  const { engine, detections } = makeEngine(r, { verifyBudget: 20_000 });
  const c = new Conv('198.51.100.1', '203.0.113.1', 9200, 80).handshake();
  for (let i = 0; i < 40; i++) c.c('AAAA' + 'x'.repeat(996));
  c.c('AAAA then ZZZZ');
  feed(engine, c.frames);
  const st = engine.stats();
  assert.equal(st.verifyBudgetExhausted, 1);
  assert.deepEqual(detections.map((d) => d.signatureId), [80], 'still detected within the segment');
});

test('mid-stream pickup on ports that are both watched: the lower port is the server, or with engine.midstream the sender is the client (Suricata)', () => {
  // both ports have signatures in both directions; only to_server data alerts
  const rs = rules('alert tcp any any -> any any (msg:"x"; flow:to_server; content:"ping"; sid:5;)', [53, 80]);
  for (const midstream of [false, true]) {
    const { engine, detections } = makeEngine(rs, { config: engineConfig({ midstream }) });
    // the first packet goes from port 53 to port 80: without midstream port 53 is taken as the
    // server (lower port), so the data is to_client; with it the sender is the client
    feed(engine, new Conv('198.51.100.5', '203.0.113.1', 53, 80).c('ping').frames);
    assert.deepEqual(detections.map((d) => [d.srcPort, d.destPort]), midstream ? [[53, 80]] : [], `midstream ${midstream}`);
  }
});
