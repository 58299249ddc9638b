/**
 * Datasets through the engine: one set shared by every flow and rule, kept across a ruleset swap
 * when its declaration is unchanged, rebuilt when it changed; the snapshots the service saves;
 * the stats behind the dataset metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import type { Ruleset } from '../../../../src/signatures/types.js';
import { Conv, feed, makeEngine } from '../helpers.js';

const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

function ruleset(text: string, files: Record<string, string> = {}): Ruleset {
  return compileRuleset([{ file: '/rules/t.rules', text }], { datasets: { read: (p) => files[p] ?? null, dir: '/data' } });
}

const SET_RULES = `alert http any any -> any 80 (msg:"new ua"; http.user_agent; dataset:set,ua,type string,state ua.csv; sid:1;)
alert http any any -> any 80 (msg:"known ua"; http.user_agent; dataset:isset,ua; http.uri; content:"/again"; sid:2;)`;

function flow(port: number, ua: string, uri = '/', ts = 1_700_000_000_000_000): Conv {
  return new Conv('198.51.100.1', '203.0.113.1', port, 80, { tsUs: ts }).handshake().c(`GET ${uri} HTTP/1.1\r\nHost: h\r\nUser-Agent: ${ua}\r\n\r\n`).s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').fin();
}

test('a set is shared by every flow; a swap with the same declaration keeps it, another type rebuilds it', () => {
  const { engine, detections } = makeEngine(ruleset(SET_RULES, { '/data/ua.csv': `${b64('preloaded')}\n` }));
  feed(engine, flow(4000, 'agent-a').frames);
  feed(engine, flow(4001, 'agent-a').frames);
  feed(engine, flow(4002, 'agent-a', '/again').frames);
  feed(engine, flow(4003, 'preloaded', '/again').frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.srcPort]), [[1, 4000], [2, 4002], [2, 4003]]);
  assert.deepEqual(engine.stats().datasets, { sets: 1, entries: 2, memcapRefused: 0 });
  const snap = engine.datasetSnapshots();
  assert.equal(snap.length, 1);
  assert.equal(snap[0]!.path, '/data/ua.csv');
  assert.deepEqual(snap[0]!.text.trim().split('\n').sort(), [b64('agent-a'), b64('preloaded')].sort());

  // reload with the same rules (the state file on disk is older): the runtime content stays
  engine.setRuleset(ruleset(SET_RULES, { '/data/ua.csv': '' }));
  feed(engine, flow(4004, 'agent-a', '/again', 1_700_000_010_000_000).frames);
  assert.equal(detections.at(-1)?.signatureId, 2);
  assert.equal(engine.stats().datasets?.entries, 2);

  // another type: a new, empty set
  engine.setRuleset(ruleset('alert http any any -> any 80 (msg:"h"; http.user_agent; to_md5; dataset:set,ua,type md5,state ua.csv; sid:3;)'));
  assert.equal(engine.stats().datasets?.entries, 0);
  // no rules with datasets: the set is dropped
  engine.setRuleset(ruleset('alert http any any -> any 80 (msg:"x"; http.uri; content:"/x"; sid:4;)'));
  assert.deepEqual(engine.stats().datasets, { sets: 0, entries: 0, memcapRefused: 0 });
});
