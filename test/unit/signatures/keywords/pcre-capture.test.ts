/**
 * pcre capture variables (Suricata detect-pcre.c; suricata-verify detect-pcre-06): the capture
 * list after the regex (`/re/, alert:a, flow:b, pkt:c`) and named groups `(?P<alert_x>…)`,
 * what a matching verification captured, flowvars stored on the flow, and the EVE output
 * (`alert.context`, `metadata.flowvars`, `metadata.pktvars`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePcreCaptures, splitPcreCaptures } from '../../../../src/signatures/pcre.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { takeCaptures } from '../../../../src/signatures/verify.js';
import { FlowRuleState, MAX_FLOWVARS, RuleState } from '../../../../src/signatures/keywords/state.js';
import { toAlertEvent } from '../../../../src/engine/events.js';
import type { Detection } from '../../../../src/engine/types.js';
import type { PcreCondition } from '../../../../src/signatures/types.js';
import { matches, rule } from './helpers.js';
import { defaultConfig } from '../../../../src/config/types.js';

const vars = defaultConfig().databases.vars;

test('split: the capture list starts at flow:/pkt:/alert: after separators only', () => {
  assert.deepEqual(splitPcreCaptures('/^(a)(b)(c)/i,alert:x, flow:y, pkt:z'), { spec: '/^(a)(b)(c)/i', names: 'alert:x, flow:y, pkt:z' });
  assert.deepEqual(splitPcreCaptures('/flow:x/'), { spec: '/flow:x/', names: '' });
  assert.deepEqual(splitPcreCaptures('/a/'), { spec: '/a/', names: '' });
});

test('captures: listed names first, then pkt_/flow_/alert_ named groups; Suricata refusals', () => {
  assert.deepEqual(parsePcreCaptures('^(a)(b)', 'alert:x, flow:y', 2), [{ type: 'alert', name: 'x' }, { type: 'flow', name: 'y' }]);
  assert.deepEqual(parsePcreCaptures('(?P<alert_ua>x)(?P<global_g>y)(?P<pkt_p>z)', '', 3), [{ type: 'alert', name: 'ua' }, { type: 'pkt', name: 'p' }]);
  assert.throws(() => parsePcreCaptures('(a)', 'alert:x, flow:y', 1), /more pkt\/flow\/alert capture names/);
  assert.throws(() => parsePcreCaptures('(a)', 'foo:x', 1), /must start with/);
  const nine = Array.from({ length: 9 }, (_, i) => `(?P<pkt_v${i}>a)`).join('');
  assert.throws(() => parsePcreCaptures(nine, '', 9), /more than 8/);
  const r = parseRule('alert http any any -> any any (http.user_agent; pcre:"/^([a-z]+)/, flow:ubuntu"; sid:1;)', 't.rules', 1, { vars });
  assert.ok(!('reason' in r));
  const bad = parseRule('alert http any any -> any any (http.user_agent; pcre:"/^[a-z]+/, flow:ubuntu"; sid:1;)', 't.rules', 1, { vars });
  assert.ok('reason' in bad && bad.reason === 'invalid rule');
});

test('a matching verification leaves its captures, of the path that matched', () => {
  const s = rule('content:"UA: "; pcre:"/^([a-zA-Z]+).*Ubuntu\\/(\\d+\\.\\d).*Firefox\\/(\\S*)/R,alert:user_agent, flow:ubuntu, pkt:firefox"; content:"END"; distance:1; within:3;');
  assert.ok((s.conditions[1] as PcreCondition).captures?.length === 3);
  // the first "UA: " does not lead to a match; the second does: its captures are the ones kept
  const payload = 'UA: Opera Ubuntu/7.0 Firefox/1.0 xx\nUA: Mozilla/5.0 (X11; Ubuntu/8.1) Firefox/3.0.13 END';
  assert.equal(matches(s, payload), true);
  assert.deepEqual(takeCaptures(), [
    { type: 'alert', name: 'user_agent', value: 'Mozilla' },
    { type: 'flow', name: 'ubuntu', value: '8.1' },
    { type: 'pkt', name: 'firefox', value: '3.0.13' },
  ]);
  assert.equal(takeCaptures(), null);
  // no match: nothing
  assert.equal(matches(s, 'UA: x'), false);
  assert.equal(takeCaptures(), null);
  // named group, empty capture sets nothing
  const n = rule('pcre:"/^(?P<alert_ua>[a-z]*)X/";');
  assert.equal(matches(n, 'abcX'), true);
  assert.deepEqual(takeCaptures(), [{ type: 'alert', name: 'ua', value: 'abc' }]);
  assert.equal(matches(n, 'X'), true);
  assert.equal(takeCaptures(), null);
});

test('flowvars on the flow: a name set again keeps its place, new names past the bound are counted', () => {
  const rs = new RuleState();
  const fs = new FlowRuleState();
  rs.setFlowvars(fs, [{ name: 'a', value: '1' }, { name: 'b', value: '2' }]);
  rs.setFlowvars(fs, [{ name: 'a', value: '3' }]);
  assert.deepEqual([...fs.flowvars!], [['a', '3'], ['b', '2']]);
  for (let i = 0; i < MAX_FLOWVARS; i++) rs.setFlowvars(fs, [{ name: `v${i}`, value: 'x' }]);
  assert.equal(fs.flowvars!.size, MAX_FLOWVARS);
  assert.equal(rs.stats().flowvarsDropped, 2);
});

test('EVE: metadata.flowvars / metadata.pktvars, one object per variable', () => {
  const d: Detection = {
    timestampMs: 0, flowId: 1n, srcIp: 'a', srcPort: 1, destIp: 'b', destPort: 80, proto: 'TCP', signatureId: 2, rev: 1,
    signature: 's', category: 'c', severity: 'low', action: 'alert', handshakeCompleted: true,
    context: { user_agent: 'Mozilla' }, flowvars: [['ubuntu', '8.1']], pktvars: [['firefox', '3.0.13']],
  };
  const ev = toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x' });
  assert.deepEqual(ev.metadata, { flowvars: [{ ubuntu: '8.1' }], pktvars: [{ firefox: '3.0.13' }] });
  assert.deepEqual(ev.alert.context, { user_agent: 'Mozilla' });
});
