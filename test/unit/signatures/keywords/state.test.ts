/** flowint, xbits and stream_size: parsing, tests against the flow/host state, the bounded table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rule, skipped, matches } from './helpers.js';
import { applyFlowint, flowintHolds, parseFlowint } from '../../../../src/signatures/keywords/flowint.js';
import { XbitStore, parseXbits, XBITS_EXPIRE_DEFAULT_S } from '../../../../src/signatures/keywords/xbits.js';
import { parseStreamSize, streamSizeHolds } from '../../../../src/signatures/keywords/stream-size.js';
import { chooseFastPattern } from '../../../../src/signatures/compile.js';

test('flowint: parse, compare, isset/notset, modifiers on unset and set variables (uint32)', () => {
  assert.deepEqual(parseFlowint('cnt, +, 1'), { name: 'cnt', op: '+', value: 1 });
  assert.deepEqual(parseFlowint('cnt,notset'), { name: 'cnt', op: 'isnotset' });
  assert.deepEqual(parseFlowint('a, >, b'), { name: 'a', op: '>', value: { var: 'b' } });
  assert.throws(() => parseFlowint('cnt, ~, 1'));
  assert.throws(() => parseFlowint('cnt, isset, 3'));
  const vars = new Map<string, number>();
  assert.equal(flowintHolds(parseFlowint('c,isnotset'), vars), true);
  assert.equal(flowintHolds(parseFlowint('c,>,0'), vars), false); // unset never compares
  applyFlowint(parseFlowint('c,+,1'), vars);
  assert.equal(vars.get('c'), 1);
  applyFlowint(parseFlowint('c,+,4'), vars);
  applyFlowint(parseFlowint('c,-,2'), vars);
  assert.equal(vars.get('c'), 3);
  assert.equal(flowintHolds(parseFlowint('c,==,3'), vars), true);
  assert.equal(flowintHolds(parseFlowint('c,isset'), vars), true);
  applyFlowint(parseFlowint('c,-,4'), vars);
  assert.equal(vars.get('c'), 0xffffffff);
  // In a rule: the test runs in verify, against the flow's map.
  const s = rule('content:"x"; flowint:logins,>=,3;');
  assert.equal(matches(s, 'x', { flowints: new Map([['logins', 3]]) }), true);
  assert.equal(matches(s, 'x', { flowints: new Map([['logins', 2]]) }), false);
  assert.equal(matches(s, 'x'), false);
  // A rule of flowint tests only loads (evaluated per packet).
  assert.equal(chooseFastPattern(rule('flowint:c,isset;').conditions), -1);
});

test('xbits: parse (default expire), ip_src/ip_dst/ip_pair keys, expiry in packet time', () => {
  assert.deepEqual(parseXbits('set,ET.x,track ip_src,expire 10'), { op: 'set', name: 'ET.x', track: 'ip_src', expire: 10 });
  assert.equal(parseXbits('isset,ET.x,track ip_dst').expire, XBITS_EXPIRE_DEFAULT_S);
  assert.deepEqual(parseXbits('set,ET.CVE-2023-46604.attempt, track ip_dst, expire 300').track, 'ip_dst');
  assert.throws(() => parseXbits('set,x,track ip_foo'));
  assert.throws(() => parseXbits('set,x,track tx'));
  const st = new XbitStore(100);
  const a = { src: '198.51.100.1', dst: '203.0.113.1' };
  const back = { src: a.dst, dst: a.src };
  st.apply(parseXbits('set,b,track ip_dst,expire 10'), a, 1000);
  // set with ip_dst on the request; the answer checks ip_src (Suricata docs)
  assert.equal(st.isSet(parseXbits('isset,b,track ip_src'), back, 5000), true);
  assert.equal(st.isSet(parseXbits('isset,b,track ip_dst'), back, 5000), false);
  assert.equal(st.isSet(parseXbits('isset,b,track ip_src'), back, 11_000), false); // expired at 1000+10s
  st.apply(parseXbits('set,p,track ip_pair,expire 60'), a, 0);
  assert.equal(st.isSet(parseXbits('isset,p,track ip_pair'), back, 1), true); // the pair is unordered
  st.apply(parseXbits('toggle,p,track ip_pair'), back, 2);
  assert.equal(st.isSet(parseXbits('isset,p,track ip_pair'), a, 3), false);
  st.apply(parseXbits('set,u,track ip_src'), a, 0);
  st.apply(parseXbits('unset,u,track ip_src'), a, 1);
  assert.equal(st.holds(parseXbits('isnotset,u,track ip_src'), a, 2), true);
});

test('xbits: the table is bounded; expired entries and then the oldest go first (counted)', () => {
  const st = new XbitStore(3);
  const set = (ip: string, t: number, exp = 10) => { st.apply(parseXbits(`set,b,track ip_src,expire ${exp}`), { src: ip, dst: '203.0.113.1' }, t); };
  set('198.51.100.1', 0, 1);
  set('198.51.100.2', 0);
  set('198.51.100.3', 0);
  set('198.51.100.4', 5000); // full: the first (expired at 1 s) goes
  assert.deepEqual(st.stats(), { entries: 3, evicted: 0, expired: 1 });
  set('198.51.100.5', 5000); // full: the oldest live one goes
  assert.deepEqual(st.stats(), { entries: 3, evicted: 1, expired: 1 });
  assert.equal(st.isSet(parseXbits('isset,b,track ip_src'), { src: '198.51.100.2', dst: 'x' }, 5000), false);
  assert.equal(st.isSet(parseXbits('isset,b,track ip_src'), { src: '198.51.100.5', dst: 'x' }, 5000), true);
});

test('xbits in a rule: isset needs the engine view; isnotset holds without one', () => {
  const s = rule('content:"x"; xbits:isset,ET.a,track ip_src,expire 30;');
  assert.equal(matches(s, 'x'), false);
  assert.equal(matches(s, 'x', { xbits: { holds: () => true } }), true);
  const n = rule('content:"x"; xbits:isnotset,ET.a,track ip_src;');
  assert.equal(matches(n, 'x'), true);
  assert.equal(matches(n, 'x', { xbits: { holds: () => false } }), false);
});

test('stream_size: sides and operators; no session never matches', () => {
  assert.deepEqual(parseStreamSize('server,<,5'), { side: 'server', op: '<', value: 5 });
  assert.throws(() => parseStreamSize('middle,<,5'));
  assert.throws(() => parseStreamSize('server,<<,5'));
  const sizes = { client: 101, server: 1 };
  assert.equal(streamSizeHolds(parseStreamSize('server,<,5'), sizes), true);
  assert.equal(streamSizeHolds(parseStreamSize('client,>,1800'), sizes), false);
  assert.equal(streamSizeHolds(parseStreamSize('both,>,0'), sizes), true);
  assert.equal(streamSizeHolds(parseStreamSize('both,>,1'), sizes), false);
  assert.equal(streamSizeHolds(parseStreamSize('either,>,100'), sizes), true);
  assert.equal(streamSizeHolds(parseStreamSize('either,!=,1'), { client: 1, server: 1 }), false);
  assert.equal(streamSizeHolds(parseStreamSize('server,=,1'), undefined), false);
  const s = rule('flow:established,to_server; stream_size:server,<,1111; content:"EICAR";');
  assert.equal(matches(s, 'EICAR', { streamSize: { client: 6, server: 1 } }), true);
  assert.equal(matches(s, 'EICAR', { streamSize: { client: 6, server: 2000 } }), false);
  assert.equal(skipped('content:"a"; stream_size:server,<;').reason, 'invalid rule');
});
