/** Header-only rules (IP-only, like IP-only), pass, packet-alert-max and IPS simulation in the engine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv, engineConfig, feed, makeEngine, rules } from '../helpers.js';

const conv = (): Conv => new Conv('198.51.100.5', '203.0.113.1', 40000, 80).handshake().c('Hi all!').s('Hi all!').c('Hi all!').fin();
const sids = (ds: readonly { signatureId: number }[]): number[] => ds.map((d) => d.signatureId);

test('an IP-only rule matches the first packet of each direction of a flow, on its addresses', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (sid:1;)\nalert tcp 198.51.100.5 any -> 203.0.113.0/24 any (sid:2;)\nalert tcp 203.0.113.1 any -> 198.51.100.5 any (sid:3;)\nalert tcp 192.0.2.1 any -> any any (sid:4;)\n'));
  feed(engine, conv().frames);
  assert.deepEqual(sids(detections).sort(), [1, 1, 2, 3]);
  const first = detections.find((d) => d.signatureId === 2)!;
  assert.equal(first.pcapCnt, 1);
  assert.equal(first.srcIp, '198.51.100.5');
});

test('a like-IP-only rule (negated address) with flow:established alerts on every established packet, not the handshake ACK', () => {
  const { engine, detections } = makeEngine(rules('alert tcp 198.51.100.5 any -> !198.51.100.5 any (flow:established; sid:1;)\n'));
  feed(engine, conv().frames);
  // packets 1-3 handshake (the ACK is not established yet), 4 data, 6 data, 7 FIN, 9 last ACK
  assert.deepEqual(detections.map((d) => d.pcapCnt), [4, 6, 7, 9]);
});

test('a header rule with ports or a flow direction is matched per packet', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any 80 -> any any (sid:1;)\nalert tcp any any -> any any (flow:to_server; sid:2;)\n'));
  feed(engine, conv().frames);
  assert.equal(detections.filter((d) => d.signatureId === 1).length, 3); // SYN/ACK, data, FIN from the server
  assert.equal(detections.filter((d) => d.signatureId === 2).length, 6);
});

test('pass: an IP-only pass passes the flow (nothing later alerts); a packet pass only hides lower-ordered alerts of its packet', () => {
  let r = makeEngine(rules('pass tcp any any -> any any (sid:1;)\nalert tcp any any -> any 80 (content:"Hi all"; sid:2;)\n'));
  feed(r.engine, conv().frames);
  assert.deepEqual(sids(r.detections), []);
  assert.equal(r.engine.stats().detections.byKind.signature, 0);
  assert.equal(r.engine.stats().flowsPassed, 1);
  // a pass on a packet match (dsize: a packet rule) stops that packet's alert, not the flow's next ones
  r = makeEngine(rules('pass tcp any any -> any 80 (content:"Hi"; dsize:7; flow:to_server,no_stream; sid:1;)\nalert tcp any any -> any 80 (content:"Hi all"; flow:to_server,no_stream; sid:2;)\n'));
  feed(r.engine, new Conv('198.51.100.5', '203.0.113.1', 40000, 80).handshake().c('Hi all!').c('Hi all!!').frames);
  assert.deepEqual(sids(r.detections), [2]);
  // with alert first in the action order the pass comes after it
  r = makeEngine(rules('pass tcp any any -> any any (sid:1;)\nalert tcp any any -> any any (sid:2;)\n'), { config: engineConfig({ actionOrder: ['alert', 'drop', 'reject', 'pass'] }) });
  feed(r.engine, conv().frames);
  assert.deepEqual(sids(r.detections), [2]);
});

test('packet-alert-max: alerts past it are discarded in Suricata order and counted; noalert matches take no slot', () => {
  const text = [1, 2, 3, 4].map((i) => `alert tcp any any -> any any (sid:${i};)`).join('\n') + '\nalert tcp any any -> any any (noalert; sid:0;)\n';
  const { engine, detections } = makeEngine(rules(text), { config: engineConfig({ packetAlertMax: 2 }) });
  feed(engine, new Conv('198.51.100.5', '203.0.113.1', 40000, 80).syn().frames);
  assert.deepEqual(sids(detections), [1, 2]);
  assert.equal(engine.stats().alertQueueOverflow, 2);
});

test('IPS simulation: a drop matched on the flow drops it (no later alerts) and marks its alerts', () => {
  const text = 'drop tcp any any -> any 80 (content:"Hi all"; flow:to_server; sid:1;)\nalert tcp any 80 -> any any (content:"Hi"; flow:to_client,no_stream; sid:2;)\n';
  let r = makeEngine(rules(text));
  feed(r.engine, conv().frames);
  assert.deepEqual(sids(r.detections), [1, 2]);
  assert.equal(r.detections[0]!.ipsDrop, undefined);
  r = makeEngine(rules(text), { simulateIps: true });
  feed(r.engine, conv().frames);
  assert.deepEqual(sids(r.detections), [1]);
  assert.equal(r.detections[0]!.ipsDrop, true);
  assert.equal(r.engine.stats().flowsDropped, 1);
});

test('packet-only signatures (dsize, flags) alert on every packet they match, not once per flow', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any any (dsize:>0; sid:1;)\nalert tcp any any -> any 80 (flags:A+; flow:to_server; sid:2;)\n'));
  feed(engine, new Conv('198.51.100.5', '203.0.113.1', 40000, 80).handshake().c('Hi all!').s('Hi all!').c('Hi all!').frames);
  // payloads: client, server, client
  assert.equal(detections.filter((d) => d.signatureId === 1).length, 3);
  // client packets with ACK: handshake ACK, two data
  assert.equal(detections.filter((d) => d.signatureId === 2).length, 3);
});

test('flow:established on a flow picked up mid-stream holds only with engine.midstream (Suricata stream.midstream)', () => {
  const text = 'alert tcp any any -> any 1212 (content:"MATCH?"; flow:to_server,established; sid:1;)\nalert tcp any any -> any any (flow:established; sid:2;)\n';
  const frames = new Conv('127.0.0.1', '127.0.0.2', 2443, 1212).c('MATCH?').frames;
  let r = makeEngine(rules(text));
  feed(r.engine, frames);
  assert.deepEqual(sids(r.detections), []);
  r = makeEngine(rules(text), { config: engineConfig({ midstream: true }) });
  feed(r.engine, frames);
  assert.deepEqual(sids(r.detections).sort(), [1, 2]);
  // live capture: a connection that predates the capture is inspected as established (its
  // evidence is spoofable and never blocks: evidence.test.ts)
  r = makeEngine(rules(text), { host: { known: false, has4: () => false, has6: () => false } });
  feed(r.engine, frames);
  assert.deepEqual(sids(r.detections).sort(), [1, 2]);
  assert.equal(r.detections[0]!.handshakeCompleted, false);
});
