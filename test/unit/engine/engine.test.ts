import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv, engineConfig, feed, makeEngine, rules } from './helpers.js';
import { Registry } from 'prom-client';

const RULES = `alert tcp any any -> any 80 (msg:"Exploit split"; flow:to_server,established; content:"GET /evil"; content:"payload=XYZ"; distance:0; sid:1001; rev:3; classtype:web-application-attack;)
alert tcp any any -> any 80 (msg:"Case sensitive"; content:"CaSe"; sid:1002;)
alert tcp any any -> any 80 (msg:"Server banner"; flow:to_client; content:"SecretBanner"; sid:1003;)
alert tcp any any -> any 22 (msg:"ssh dsize"; flow:to_server; content:"SSH-"; dsize:<20; sid:1004;)
`;

test('pattern split across segments matches once', () => {
  const r = rules(RULES);
  const { engine, detections } = makeEngine(r);
  const c = new Conv('198.51.100.10', '198.51.100.11', 40000, 80).handshake().c('GET /ev').c('il HTTP/1.1\r\nX: payl').c('oad=XYZ\r\n\r\n').c('more payload=XYZ').fin();
  feed(engine, c.frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [1001]);
  const d = detections[0]!;
  assert.equal(d.srcIp, '198.51.100.10');
  assert.equal(d.destPort, 80);
  assert.equal(d.srcPort, 40000);
  assert.equal(d.handshakeCompleted, true);
  assert.equal(d.rev, 3);
  assert.match(d.payloadExcerpt ?? '', /GET \/evil HTTP/);
});

test('out-of-order delivery and retransmission', () => {
  const r = rules(RULES);
  const { engine, detections } = makeEngine(r);
  const c = new Conv('198.51.100.10', '198.51.100.11', 40001, 80).handshake();
  const data = 'xxGET /evil payload=XYZ yy';
  // third piece first, then second, then first; then everything again.
  c.c(data.slice(16), { at: 16 }).c(data.slice(8, 16), { at: 8 }).c(data.slice(0, 8), { at: 0 });
  c.c(data.slice(0, 20), { at: 0 });
  c.advanceClient(data.length).c('GET /evil payload=XYZ');
  feed(engine, c.frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [1001]);
  const st = engine.stats();
  assert.ok(st.reassembly.outOfOrderSegments >= 2);
  assert.ok(st.reassembly.retransmittedSegments >= 1);
});

test('retransmission with different bytes does not replace the first (first-wins)', () => {
  const r = rules(RULES);
  const { engine, detections } = makeEngine(r);
  const c = new Conv('198.51.100.10', '198.51.100.11', 40002, 80).handshake();
  c.c('GET /good payload=XYZ', { at: 0 });
  c.c('GET /evil payload=XYZ', { at: 0 });
  feed(engine, c.frames);
  assert.deepEqual(detections, []);
  assert.equal(engine.stats().reassembly.retransmittedSegments, 1);
});

test('case-sensitive content is re-checked on the original bytes', () => {
  const r = rules(RULES);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40003, 80).handshake().c('case CASE cAsE').frames);
  assert.equal(detections.length, 0);
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40004, 80).handshake().c('xx CaSe').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [1002]);
});

test('to_client signature inspects the server stream; dsize is per packet', () => {
  const r = rules(RULES);
  const { engine, detections } = makeEngine(r);
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40005, 80).handshake().c('hello').s('HTTP/1.1 200 SecretBanner').frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.srcIp, d.srcPort]), [[1003, '198.51.100.11', 80]]);
  detections.length = 0;
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40006, 22).handshake().c('SSH-2.0-long-client-version-string').frames);
  assert.equal(detections.length, 0);
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40007, 22).handshake().c('SSH-2.0-x').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [1004]);
});

test('depth cap: bytes past the depth are not inspected and are counted', () => {
  const r = rules(RULES);
  const { engine, detections } = makeEngine(r, { config: engineConfig({ reassemblyDepth: 100 }) });
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40008, 80).handshake().c('a'.repeat(90)).c('GET /evil payload=XYZ').frames);
  assert.equal(detections.length, 0);
  assert.equal(engine.stats().reassembly.bytesBeyondDepth, 90 + 21 - 100);
});

test('mid-stream pickup inspects but does not count as a handshake', () => {
  const r = rules(RULES);
  // flow:established holds on a flow picked up mid-stream only with engine.midstream (Suricata's stream.midstream)
  const { engine, detections } = makeEngine(r, { config: engineConfig({ midstream: true }) });
  const c = new Conv('198.51.100.10', '198.51.100.11', 40009, 80).handshake().c('GET /evil payload=XYZ');
  feed(engine, c.frames.slice(3));
  assert.deepEqual(detections.map((d) => [d.signatureId, d.handshakeCompleted]), [[1001, false]]);
});

test('metrics are registered and read engine counters', async () => {
  const r = rules(RULES);
  const registry = new Registry();
  const { engine } = makeEngine(r, { registry });
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40010, 80).handshake().c('x').frames);
  engine.processPacket(new Uint8Array(5), 5, 1, 1_700_000_000_000_000);
  const text = await registry.metrics();
  assert.match(text, /bulwark_packets_total 5/);
  assert.match(text, /bulwark_packets_dropped_total\{reason="truncated_link"\} 1/);
  assert.match(text, /bulwark_flows_active 1/);
});

test('a second engine on the same registry takes over the metrics', async () => {
  const r = rules(RULES);
  const registry = new Registry();
  makeEngine(r, { registry });
  const { engine } = makeEngine(r, { registry });
  feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40013, 80).handshake().frames);
  assert.match(await registry.metrics(), /bulwark_packets_total 3/);
});

test('a SYN alone creates a flow; a pure ACK without a flow does not', () => {
  const r = rules(RULES);
  const { engine } = makeEngine(r);
  const c = new Conv('198.51.100.10', '198.51.100.11', 40011, 80).syn();
  feed(engine, c.frames);
  assert.equal(engine.stats().flowsActive, 1);
  const c2 = new Conv('198.51.100.12', '198.51.100.11', 40012, 80);
  c2.handshake();
  feed(engine, c2.frames.slice(2)); // the final ACK only
  assert.equal(engine.stats().flowsActive, 1);
});

test('a closed flow drops its app-layer state (parser, open transactions) with its stream memory', () => {
  const r = rules('alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/nothing-here"; sid:2001;)');
  const { engine } = makeEngine(r);
  const c = new Conv('198.51.100.10', '198.51.100.11', 40000, 80).handshake().c('GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n').s('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
  feed(engine, c.frames);
  // the only flow is the LRU list's head (private fields, read for this check only)
  const flow = engine['flows']['head'];
  assert.ok(flow);
  assert.notEqual(flow.app, null); // open, the response body still expected
  const n = c.frames.length;
  c.fin();
  feed(engine, c.frames.slice(n));
  // closed: still in the table until its timeout, but without the parser and its transactions
  assert.equal(engine.stats().flowsActive, 1);
  assert.equal(flow.app, null);
});

test('raw content anchored with offset/depth matches a later request: the window starts where the client resumed after the server spoke', () => {
  // The shape of ET/GPL NETBIOS rules on 445: NBSS type byte, then the SMB header 3 bytes on.
  const r = rules('alert tcp any any -> any 445 (msg:"anchored"; flow:to_server,established; content:"|00|"; depth:1; content:"|ff|SMB|25|"; distance:3; within:5; sid:3001;)');
  const nbssMsg = (cmd: number): Uint8Array => Uint8Array.of(0, 0, 0, 5, 0xff, 0x53, 0x4d, 0x42, cmd);
  {
    // negotiate, its reply, then the TRANS (0x25): matches at the start of the client's new turn
    const { engine, detections } = makeEngine(r);
    feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40100, 445).handshake().c(nbssMsg(0x72)).s(nbssMsg(0x72)).c(nbssMsg(0x25)).fin().frames);
    assert.deepEqual(detections.map((d) => d.signatureId), [3001]);
  }
  {
    // the same requests without the server speaking in between: offset 0 is the negotiate's
    const { engine, detections } = makeEngine(r);
    feed(engine, new Conv('198.51.100.10', '198.51.100.11', 40101, 445).handshake().c(nbssMsg(0x72)).c(nbssMsg(0x25)).fin().frames);
    assert.deepEqual(detections, []);
  }
});

test('engine.midstream: a flow picked up without its handshake gets app-layer parsing only when on (Suricata stream.midstream)', () => {
  const rs = rules('alert http any any -> any any (msg:"uri"; http.uri; content:"/midstream"; sid:77;)\nalert tcp any any -> any 80 (msg:"raw"; content:"GET /midstream"; sid:78;)');
  const conv = (): Conv => new Conv('198.51.100.7', '203.0.113.1', 40000, 80).c('GET /midstream HTTP/1.1\r\nHost: x\r\n\r\n').s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').fin();
  for (const midstream of [false, true]) {
    const { engine, detections } = makeEngine(rs, { config: engineConfig({ midstream }) });
    feed(engine, conv().frames);
    const sids = detections.map((d) => d.signatureId).sort();
    assert.deepEqual(sids, midstream ? [77, 78] : [78], `midstream ${midstream}`);
  }
  // with the handshake the app layer runs either way
  const { engine, detections } = makeEngine(rs, { config: engineConfig({ midstream: false }) });
  feed(engine, new Conv('198.51.100.8', '203.0.113.1', 40001, 80).handshake().c('GET /midstream HTTP/1.1\r\nHost: x\r\n\r\n').s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').fin().frames);
  assert.deepEqual(detections.map((d) => d.signatureId).sort(), [77, 78]);
});

const APP_RULES = `alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/admin"; sid:2001;)
alert http any any -> any any (msg:"body"; flow:to_server; http.request_body; content:"BODYMARK"; sid:2002;)
alert tcp any any -> any 80 (msg:"raw"; flow:to_server; content:"RAWMARK"; sid:2003;)
`;
/** A POST announcing a 90,000-byte body (kept up to the 100 KiB request-body limit), then more body with both markers. */
function bigPost(cport: number): Conv {
  return new Conv('198.51.100.10', '198.51.100.11', cport, 80)
    .handshake()
    .c(`POST /admin HTTP/1.1\r\nHost: a\r\nContent-Length: 90000\r\n\r\n${'x'.repeat(1000)}`)
    .c(`${'y'.repeat(500)}BODYMARK RAWMARK${'z'.repeat(500)}`);
}

test('app-layer memory budget: a flow over engine.appLayer.maxFlowMemory stops app-layer parsing, raw stream inspection goes on, memory returns to 0', async () => {
  const r = rules(APP_RULES);
  // Control: within the default budget the app-layer body signature fires, and the flow holds its body until it ends.
  const ctl = makeEngine(r);
  const c0 = bigPost(40020);
  feed(ctl.engine, c0.frames);
  assert.deepEqual(ctl.detections.map((d) => d.signatureId).sort(), [2001, 2002, 2003]);
  assert.ok(ctl.engine.stats().appLayer.memoryBytes >= 90_000);
  c0.fin();
  feed(ctl.engine, c0.frames.slice(-3));
  assert.equal(ctl.engine.stats().appLayer.memoryBytes, 0, 'closed flow gave its bytes back');

  const registry = new Registry();
  const { engine, detections } = makeEngine(r, { registry, config: engineConfig({ appLayer: { maxFlowMemory: 64 * 1024, maxMemory: 256 * 1024 * 1024, http: { requestBodyLimit: 100 * 1024, responseBodyLimit: 100 * 1024 } } }) });
  const c = bigPost(40021);
  feed(engine, c.frames);
  // the request line was inspected before the budget was crossed; the body never reaches the app layer; the raw stream still matches
  assert.deepEqual(detections.map((d) => d.signatureId).sort(), [2001, 2003]);
  const st = engine.stats().appLayer;
  assert.deepEqual(st.limits, { flow: 1, global: 0 });
  assert.equal(st.memoryBytes, 0);
  const text = await registry.metrics();
  assert.match(text, /bulwark_applayer_limits_total\{limit="flow"\} 1/);
  assert.match(text, /bulwark_applayer_limits_total\{limit="global"\} 0/);
  assert.match(text, /bulwark_applayer_memory_bytes 0/);
});

test('app-layer memory of expired and reset flows returns to 0', () => {
  const r = rules(APP_RULES);
  const { engine } = makeEngine(r);
  const conns = [40030, 40031, 40032].map((p) => new Conv('198.51.100.10', '198.51.100.11', p, 80).handshake().c(`GET /x?${'p'.repeat(2000)}`));
  for (const c of conns) feed(engine, c.frames);
  const all = engine.stats().appLayer.memoryBytes;
  assert.ok(all > 3 * 2000, `three pending request lines held (${all})`);
  feed(engine, conns[0]!.rst().frames.slice(-1));
  // the three flows hold the same: the reset one's third is given back
  assert.equal(engine.stats().appLayer.memoryBytes, (all / 3) * 2);
  // idle expiry of the others (established timeout, packet time)
  engine.tick(conns[2]!.tsUs / 1000 + engineConfig().timeouts.establishedMs + 1000);
  assert.equal(engine.stats().flowsActive, 0);
  assert.equal(engine.stats().appLayer.memoryBytes, 0);
});

test('pcap_cnt: a match carries the 1-based number of the packet that completed it; flow-end matches carry none', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"second segment"; content:"XYZ"; sid:1101;)
alert tcp any any -> any 80 (msg:"raw dsize"; dsize:3; content:"abc"; sid:1102;)
`);
  const { engine, detections } = makeEngine(r);
  // packets 1-3 handshake, 4 "GET /", 5 "abc" (dsize 3), 6 "..XYZ.."
  const c = new Conv('198.51.100.10', '198.51.100.11', 40100, 80).handshake().c('GET /').c('abc').c('..XYZ..');
  feed(engine, c.frames);
  const byId = new Map(detections.map((d) => [d.signatureId, d.pcapCnt]));
  assert.equal(byId.get(1102), 5);
  assert.equal(byId.get(1101), 6);
  // A tick outside any packet does not reuse the last packet's number.
  const n = detections.length;
  engine.flush();
  for (const d of detections.slice(n)) assert.equal(d.pcapCnt, undefined);
});

test('a raw rule without direction whose header reads both ways (any any -> any any) matches packets of both directions; one with a server port only to_server', () => {
  const r = rules(`alert tcp any any -> any any (msg:"both"; content:"Hello!"; sid:1201;)
alert tcp any any -> any 80 (msg:"to server only"; content:"Hello!"; sid:1202;)
alert tcp any any -> any any (msg:"flow says"; flow:to_server; content:"Hello!"; sid:1203;)
`);
  const { engine, detections } = makeEngine(r);
  const c = new Conv('198.51.100.10', '198.51.100.11', 40200, 80).handshake().s('Hello!').c('ok');
  feed(engine, c.frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.srcPort]), [[1201, 80]], 'only the both-ways rule sees the bytes of the server');
  const { engine: e2, detections: d2 } = makeEngine(r);
  feed(e2, new Conv('198.51.100.10', '198.51.100.11', 40201, 80).handshake().c('Hello!').frames);
  assert.deepEqual(d2.map((d) => d.signatureId).sort(), [1201, 1202, 1203]);
});
