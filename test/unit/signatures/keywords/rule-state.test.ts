/** RuleState / FlowRuleState: the per-flow and per-engine state the detect stage holds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rule, matches } from './helpers.js';
import { FlowRuleState, RuleState } from '../../../../src/signatures/keywords/state.js';
import { verifySignature } from '../../../../src/signatures/verify.js';
import { latin1 } from '../../../../src/signatures/content.js';

const A = () => ({ src: '198.51.100.7', dst: '203.0.113.1' });
const B = () => ({ src: '198.51.100.8', dst: '203.0.113.1' });

test('post-match: flowbits, flowints and xbits apply; noalert reported', () => {
  const rs = new RuleState();
  const fs = new FlowRuleState();
  const setter = rule('content:"login"; flowbits:set,in; flowint:n,+,1; xbits:set,seen,track ip_src,expire 60; noalert;');
  assert.equal(rs.onMatch(setter, fs, A, 1000), true);
  assert.equal(rs.onMatch(rule('content:"x"; flowint:n,+,2;'), fs, A, 1000), false);
  const ctx = rs.prepare(fs, A, 2000);
  assert.deepEqual([...ctx.flowbits], ['in']);
  assert.equal(ctx.flowints?.get('n'), 3);
  const checker = rule('content:"admin"; flowbits:isset,in; flowint:n,==,3; xbits:isset,seen,track ip_src;');
  const data = latin1('admin');
  assert.equal(verifySignature(checker, data, 5, ctx), true);
  // Another flow from the same source: no flowbit, but the host bit is there.
  const other = new FlowRuleState();
  const hostOnly = rule('content:"admin"; xbits:isset,seen,track ip_src;');
  assert.equal(verifySignature(hostOnly, data, 5, rs.prepare(other, A, 3000)), true);
  assert.equal(verifySignature(hostOnly, data, 5, rs.prepare(other, B, 3000)), false); // another source
  assert.equal(verifySignature(hostOnly, data, 5, rs.prepare(other, A, 61_001)), false); // expired
  assert.equal(verifySignature(checker, data, 5, rs.prepare(other, A, 3000)), false); // flowbit is per flow
  assert.deepEqual(rs.stats(), { xbits: 0, xbitsEvicted: 0, xbitsExpired: 1, flowvarsDropped: 0 });
});

test('toggle and unset; stream sizes only when given', () => {
  const rs = new RuleState();
  const fs = new FlowRuleState();
  rs.onMatch(rule('content:"a"; flowbits:toggle,t;'), fs, A, 0);
  assert.equal(fs.flowbits?.has('t'), true);
  rs.onMatch(rule('content:"a"; flowbits:toggle,t;'), fs, A, 0);
  assert.equal(fs.flowbits.has('t'), false);
  const s = rule('content:"a"; stream_size:client,>,1;');
  assert.equal(matches(s, 'a', rs.prepare(fs, A, 0, { client: 2, server: 1 })), true);
  assert.equal(matches(s, 'a', rs.prepare(fs, A, 0)), false);
});
