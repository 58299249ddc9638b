/**
 * The app layer's raw-stream scan taken from the stream prefilter's merged automaton
 * (signatures/raw-merge.ts, detect/prefilter.ts rawHits) gives exactly what its own scan gives:
 * same seen lists, same automaton states, same alerts; and it scans itself when the states differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import { Prefilter } from '../../../../src/engine/detect/prefilter.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { Flow } from '../../../../src/engine/flow/flow.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { AppDirection } from '../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

const RULES = [
  'alert tcp any any -> any 25 (msg:"stream"; content:"EVIL"; sid:1;)',
  'alert tcp any 25 -> any any (msg:"stream back"; content:"EVIL"; sid:5;)',
  'alert smtp any any -> any any (msg:"quit"; flow:to_server; content:"QUIT"; sid:2;)',
  'alert smtp any any -> any any (msg:"rset"; flow:to_server; content:"RSET"; sid:3;)',
  'alert smtp any any -> any any (msg:"bye"; flow:to_client; content:"221 bye"; sid:4;)',
];

/** One detector fed with the prefilter's raw hits (merged) or without (its own scan), the same bytes. */
function side(merged: boolean) {
  const rs = compileRuleset([{ file: 't.rules', text: RULES.join('\n') }], { vars: defaultConfig().databases.vars });
  const det = new AppTxDetector(rs);
  const pf = new Prefilter();
  pf.setGroups(rs.groups, rs.signatures.length);
  const flow = new Flow();
  flow.srvPort = 25;
  const f = det.newFlow(25, 40000, '198.51.100.7', '203.0.113.2');
  flow.app = f;
  for (const [d, dir] of [[flow.c2s, 'to_server'], [flow.s2c, 'to_client']] as const) {
    d.group = rs.groups.find((g) => g.direction === dir) ?? null;
    d.scan = d.group === null ? null : pf.scanTable(d.group);
    d.scan16 = d.group === null ? null : pf.scanTable16(d.group);
  }
  const fired: number[] = [];
  const at = { to_server: 0, to_client: 0 };
  const streams = { to_server: new Uint8Array(0), to_client: new Uint8Array(0) };
  const ctx: AppFeedContext = {
    verify: { flowbits: new Set() },
    streamOf: (dir) => ({ buf: streams[dir], len: streams[dir].length }),
    flowAlerted: (si) => fired.includes(rs.signatures[si]!.id),
    fire: (si) => fired.push(rs.signatures[si]!.id),
  };
  const feed = (dir: AppDirection, s: string): void => {
    const data = b(s);
    streams[dir] = new Uint8Array([...streams[dir], ...data]);
    const d = dir === 'to_server' ? flow.c2s : flow.s2c;
    if (d.group !== null) pf.scan(flow, d, d.group, data, 0, data.length, at[dir], false);
    det.data(f, dir, data, 0, data.length, at[dir], 0, ctx, merged ? pf.rawHits(d, at[dir], data.length) : undefined);
    at[dir] += data.length;
  };
  return { rs, det, f, fired, feed };
}

test('raw-stream hits from the merged automaton: same seen lists, states and alerts as the app layer\'s own scan', () => {
  const a = side(true);
  const o = side(false);
  const script: [AppDirection, string][] = [
    ['to_client', '220 mx ESMTP\r\n'],
    ['to_server', 'EHLO c\r\n'],
    ['to_client', '250 mx\r\n'],
    ['to_server', 'MAIL FROM:<a@b>\r\n'],
    ['to_client', '250 ok\r\n'],
    ['to_server', 'RS'],
    ['to_server', 'ET\r\n'],
    ['to_client', '250 ok\r\n'],
    ['to_server', 'QUIT\r\n'],
    ['to_client', '221 bye\r\n'],
  ];
  for (const [dir, s] of script) {
    a.feed(dir, s);
    o.feed(dir, s);
    assert.deepEqual(a.f.rawSeen, o.f.rawSeen, `seen after ${JSON.stringify(s)}`);
    assert.deepEqual(a.f.rawState, o.f.rawState, `state after ${JSON.stringify(s)}`);
    assert.deepEqual(a.fired, o.fired, `alerts after ${JSON.stringify(s)}`);
  }
  assert.deepEqual(a.fired, [3, 2, 4]);
  // The greeting was held while probing and replayed (the app layer's own scan); the rest came from the prefilter.
  assert.equal(o.det.counters.rawMerged, 0);
  assert.equal(a.det.counters.rawMerged, script.length - 1);
});

test('when the raw automaton is in another state than the prefilter\'s mapping says (a replay), the app layer scans itself', () => {
  const a = side(true);
  const o = side(false);
  for (const s of [a, o]) {
    s.feed('to_server', 'EHLO c\r\n');
    s.feed('to_client', '250 mx\r\n');
  }
  // As after bytes scanned twice: the raw automaton has seen "QU" last, the stream has not.
  const qu = a.rs.app!.rawStream!.to_server.dfa;
  const st = qu.next[(qu.next[0 + 0x51]! & 0x7fffffff) + 0x55]! & 0x7fffffff;
  a.f.rawState[0] = st;
  o.f.rawState[0] = st;
  const before = a.det.counters.rawMerged;
  a.feed('to_server', 'IT\r\n');
  o.feed('to_server', 'IT\r\n');
  assert.equal(a.det.counters.rawMerged, before, 'not taken from the prefilter');
  assert.deepEqual(a.f.rawSeen, o.f.rawSeen);
  assert.deepEqual(a.f.rawState, o.f.rawState);
  assert.equal(a.f.rawSeen[0]!.length, 1, 'QUIT seen, as the own scan sees it');
});
