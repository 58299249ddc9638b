/** What the compile thread of a sharded scan queues for the workers (engine/shard/feed.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { feedRuleset, sharePorts } from '../../../../src/engine/shard/feed.js';
import { reviveGraph, RULESET_CLASSES_LAZY } from '../../../../src/signatures/offthread.js';
import type { Ruleset } from '../../../../src/signatures/types.js';
import { Conv, feed, makeEngine, rules } from '../helpers.js';

const TEXT = [
  'alert tcp any any -> any 80 (msg:"evil"; flow:to_server; content:"evil"; sid:1; rev:2; metadata:created_at 2020_01_01;)',
  'alert tcp any any -> any 80 (msg:"bad"; flow:to_server; content:"bad|20|thing"; sid:2;)',
].join('\n');

async function fed(rs: Ruleset): Promise<Ruleset> {
  const { port1, port2 } = new MessageChannel();
  const queued = feedRuleset(rs, [port2]);
  const g = (await reviveGraph(port1, queued.pieces, 50, RULESET_CLASSES_LAZY)) as { ruleset: Ruleset };
  port1.close();
  return g.ruleset;
}

function matches(rs: Ruleset): number[] {
  const { engine, detections } = makeEngine(rs);
  const c = new Conv('203.0.113.9', '198.51.100.2', 40000, 80);
  c.handshake().c('GET /evil HTTP/1.0\r\nX: bad thing\r\n\r\n');
  feed(engine, c.frames);
  engine.flush();
  return detections.map((d) => d.signatureId).sort();
}

test('groups scanned through a compact table reach the workers without their Int32 table, and still match', async () => {
  const rs = rules(TEXT);
  const before = matches(rs);
  assert.deepEqual(before, [1, 2]);
  const got = await fed(rules(TEXT));
  assert.ok(got.groups.length > 0);
  for (const g of got.groups) {
    assert.ok(g.scan16 instanceof Uint16Array, 'a compact table');
    assert.equal(g.dfa.next.length, 0, 'no Int32 table next to it');
    assert.ok(g.dfa.outStart.length > 1);
  }
  assert.deepEqual(matches(got), before);
});

test('signatures with the same ports share one array, in the workers too', async () => {
  const text = [
    'alert tcp any any -> any [80,8080] (msg:"a"; flow:to_server; content:"evil"; sid:1;)',
    'alert tcp any any -> any [80,8080] (msg:"b"; flow:to_server; content:"bad"; sid:2;)',
    'alert tcp any any -> any 443 (msg:"c"; flow:to_server; content:"bad"; sid:3;)',
  ].join('\n');
  const rs = rules(text);
  const [a, b, c] = rs.signatures;
  assert.notEqual(a!.ports, b!.ports);
  sharePorts(rs.signatures);
  assert.equal(a!.ports, b!.ports);
  assert.notEqual(a!.ports, c!.ports);
  assert.deepEqual(rs.signatures.map((s) => s.ports), rules(text).signatures.map((s) => s.ports));
  const got = await fed(rules(text));
  assert.equal(got.signatures[0]!.ports, got.signatures[1]!.ports);
});
