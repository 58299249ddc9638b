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
import { compactScanTable } from '../../../../src/signatures/scan-table.js';
import { rng } from '../helpers.js';

const rules = [
  'alert tcp any any -> any 25 (msg:"stream"; content:"EVIL"; sid:1;)',
  'alert smtp any any -> any any (msg:"quit"; flow:to_server; content:"QUIT"; sid:2;)',
  'alert smtp any any -> any any (msg:"helo"; flow:to_server; content:"HELO"; sid:3;)',
].join('\n');

/** `int32`: the scan table of automata too big for the compact one. */
function setup(int32 = false) {
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
  d.scan16 = pf.scanTable16(g);
  assert.ok(d.scan16 !== null && d.scan === null, 'a small automaton gets the compact table');
  if (int32) {
    d.scan16 = null;
    d.scan = g.dfa.next;
  }
  const sig = (sid: number): number => rs.signatures.findIndex((s) => s.id === sid);
  const rawDfa = rs.app!.rawStream!.to_server.dfa;
  const rawState = (bytes: Uint8Array): number => {
    let s = 0;
    for (const x of bytes) s = rawDfa.next[s + x]! & 0x7fffffff;
    return s;
  };
  return { rs, g, pf, flow, d, sig, rawState };
}

for (const int32 of [false, true]) test(`raw hits of a long chunk (four scan chains) come in stream order, with every occurrence and the raw automaton states (${int32 ? 'Int32' : 'compact'} table)`, () => {
  const { pf, flow, d, g, sig, rawState } = setup(int32);
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

test('the compact scan table: state indexes with bit 15 on transitions into states with output, none over 32,768 states', () => {
  const rs = compileRuleset([{ file: 'r.rules', text: rules }], { vars: { HOME_NET: 'any', EXTERNAL_NET: 'any' } });
  const dfa = rs.groups[0]!.dfa;
  const t16 = compactScanTable(dfa)!;
  const t32 = dfa.next;
  assert.equal(t16.length, t32.length);
  for (let i = 0; i < t32.length; i++) assert.equal(t16[i], ((t32[i]! & 0x7fffffff) >>> 8) | (t32[i]! < 0 ? 0x8000 : 0), `entry ${i}`);
  assert.equal(compactScanTable({ next: new Int32Array(0), outStart: new Int32Array(0x8002), stateCount: 0x8001 }), null);
});

test('compact and Int32 tables give the same candidates, positions and end state over chunks of every size', () => {
  const a = setup(false);
  const b = setup(true);
  let at = 0;
  const text = 'EVIL HELO ' + 'x'.repeat(300) + 'evil QUIT EV' + 'IL'.repeat(90) + 'QUITEVIL';
  const all = latin1(text.repeat(3));
  for (const n of [1, 3, 200, 7, 500, 64, 1000]) {
    const chunk = all.subarray(at % all.length, (at % all.length) + n);
    if (chunk.length === 0) break;
    a.pf.scan(a.flow, a.d, a.g, chunk, 0, chunk.length, at, false);
    b.pf.scan(b.flow, b.d, b.g, chunk, 0, chunk.length, at, false);
    assert.deepEqual([...a.pf.candSig], [...b.pf.candSig]);
    assert.deepEqual([...a.pf.candPos], [...b.pf.candPos]);
    assert.equal(a.d.dfaState, b.d.dfaState);
    assert.deepEqual(a.pf.rawHits(a.d, at, chunk.length), b.pf.rawHits(b.d, at, chunk.length));
    at += chunk.length;
  }
});

test('compact and Int32 tables agree on random chunks dense with hits (outputs at chain starts, in warm-ups, on the last byte)', () => {
  // The compact scan stops its byte loop at each marked step and handles the hits outside it
  // (run1c / run4c); the Int32 scan handles them inside its loop: both must report the same.
  const a = setup(false);
  const b = setup(true);
  const next = rng(23);
  const words = ['EVIL', 'evil', 'QUIT', 'HELO', 'EV', 'IL', 'QU', 'IT', 'x', ' ', '\r\n', 'zzzzzzzz'];
  let at = 0;
  for (let round = 0; round < 300; round++) {
    let text = '';
    const n = 1 + Math.floor(next() * (next() < 0.5 ? 60 : 1500));
    while (text.length < n) text += words[Math.floor(next() * words.length)]!;
    const chunk = latin1(text.slice(0, n));
    const gap = next() < 0.05;
    a.pf.scan(a.flow, a.d, a.g, chunk, 0, chunk.length, at, gap);
    b.pf.scan(b.flow, b.d, b.g, chunk, 0, chunk.length, at, gap);
    assert.deepEqual([...a.pf.candSig], [...b.pf.candSig], `round ${round}`);
    assert.deepEqual([...a.pf.candPos], [...b.pf.candPos], `round ${round}`);
    assert.equal(a.d.dfaState, b.d.dfaState, `round ${round}`);
    const ha = a.pf.rawHits(a.d, at, chunk.length);
    const hb = b.pf.rawHits(b.d, at, chunk.length);
    assert.deepEqual(ha === undefined ? undefined : { sig: [...ha.sig], from: ha.from, to: ha.to }, hb === undefined ? undefined : { sig: [...hb.sig], from: hb.from, to: hb.to }, `round ${round}`);
    at += chunk.length;
  }
});
