/**
 * The stream prefilter with the app layer's raw-stream patterns merged into its automaton
 * (signatures/raw-merge.ts): their hits come out in stream order with the raw automaton's states.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prefilter } from '../../../../src/engine/detect/prefilter.js';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import { Flow } from '../../../../src/engine/flow/flow.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { latin1 } from '../../../../src/signatures/content.js';

const rules = [
  'alert tcp any any -> any 25 (msg:"stream"; content:"EVIL"; sid:1;)',
  'alert smtp any any -> any any (msg:"quit"; flow:to_server; content:"QUIT"; sid:2;)',
  'alert smtp any any -> any any (msg:"helo"; flow:to_server; content:"HELO"; sid:3;)',
].join('\n');

function setup() {
  const rs = compileRuleset([{ file: 'r.rules', text: rules }], { vars: { HOME_NET: 'any', EXTERNAL_NET: 'any' } });
  const g = rs.groups.find((x) => x.direction === 'to_server')!;
  assert.ok(g.raw !== undefined, 'raw patterns merged');
  const pf = new Prefilter();
  pf.setGroups(rs.groups, rs.signatures.length);
  const flow = new Flow();
  flow.srvPort = 25;
  flow.app = new AppTxDetector(rs).newFlow(25, 40000, '198.51.100.7', '203.0.113.2');
  flow.app.state = 'parsing';
  const d = flow.c2s;
  d.group = g;
  d.scan = pf.scanTable(g);
  const sig = (sid: number): number => rs.signatures.findIndex((s) => s.id === sid);
  const rawDfa = rs.app!.rawStream!.to_server.dfa;
  const rawState = (bytes: Uint8Array): number => {
    let s = 0;
    for (const x of bytes) s = rawDfa.next[s + x]!;
    return s;
  };
  return { rs, g, pf, flow, d, sig, rawState };
}

test('raw hits of a long chunk (four scan chains) come in stream order, with every occurrence and the raw automaton states', () => {
  const { pf, flow, d, g, sig, rawState } = setup();
  const first = latin1('xxQU');
  pf.scan(flow, d, g, first, 0, first.length, 0, false);
  assert.deepEqual([...(pf.rawHits(d, 0, first.length)?.sig ?? [])], []);
  const text = 'IT ' + 'a'.repeat(40) + 'HELO ' + 'b'.repeat(700) + 'QUIT ' + 'c'.repeat(200) + 'HELO QUIT EVIL';
  const chunk = latin1(text);
  pf.scan(flow, d, g, chunk, 0, chunk.length, first.length, false);
  const h = pf.rawHits(d, first.length, chunk.length);
  assert.ok(h !== undefined);
  // "QU" + "IT" spans the two chunks; the QUIT near the end is found by a later chain before the
  // first HELO, yet they come out in stream order.
  assert.deepEqual([...h.sig], [2, 3, 2, 3, 2].map(sig));
  assert.equal(h.from, rawState(first));
  assert.equal(h.to, rawState(new Uint8Array([...first, ...chunk])));
  assert.deepEqual([...pf.candSig], [sig(1)], 'the stream candidates are unchanged');
  assert.equal(pf.rawHits(d, first.length, chunk.length), undefined, 'taken once');
});

test('raw hits are kept only for the chunk scanned, and only for a flow whose app layer parses', () => {
  const { pf, flow, d, g } = setup();
  const chunk = latin1('QUIT\r\n');
  pf.scan(flow, d, g, chunk, 0, chunk.length, 0, false);
  assert.equal(pf.rawHits(d, 6, chunk.length), undefined, 'another offset');
  assert.equal(pf.rawHits(flow.s2c, 0, chunk.length), undefined, 'another direction');
  assert.equal(pf.rawHits(d, 0, chunk.length)?.sig.length, 1);
  flow.app!.state = 'probing';
  pf.scan(flow, d, g, chunk, 0, chunk.length, 6, false);
  assert.equal(pf.rawHits(d, 6, chunk.length), undefined, 'probing: the app layer replays the held bytes itself');
  flow.app = null;
  pf.scan(flow, d, g, chunk, 0, chunk.length, 12, false);
  assert.equal(pf.rawHits(d, 12, chunk.length), undefined);
});
