/**
 * threshold.config (Suricata "Global-Thresholds"): parsing with FILE:LINE errors, address lists,
 * and the counting semantics of the alert filter (src/engine/threshold), alone and in the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../../../src/errors.js';
import { parseThresholdConfig, formatEntry } from '../../../src/engine/threshold/parse.js';
import { parseAddressMatcher, AddressSyntaxError } from '../../../src/engine/threshold/addresses.js';
import { ThresholdFilter } from '../../../src/engine/threshold/filter.js';
import type { AlertCandidate, AlertVerdict } from '../../../src/engine/threshold/types.js';
import type { RateFilter } from '../../../src/signatures/types.js';
import { Conv, feed, makeEngine, rules } from './helpers.js';

const VARS = { HOME_NET: '[198.51.100.0/24,2001:db8::/32]', EXTERNAL_NET: '!$HOME_NET', LOOP: '$LOOP' };

function filter(text: string, maxEntries?: number): ThresholdFilter {
  return new ThresholdFilter(parseThresholdConfig('t.config', text, VARS), maxEntries === undefined ? {} : { maxEntries });
}

const T0 = 1_800_000_000_000;
function cand(sid: number, src: string, dst: string, tsMs: number, ruleFilter?: RateFilter, gid = 1): AlertCandidate {
  return { gid, sid, ruleFilter, srcIp: src, destIp: dst, tsMs };
}
const A = '203.0.113.5';
const B = '203.0.113.6';
const H = '198.51.100.10';

/** Alerts (true/false) of a series of matches at the given seconds after T0. */
function series(f: ThresholdFilter, sid: number, secs: number[], src = A, dst = H, rf?: RateFilter): boolean[] {
  return secs.map((s) => f.check(cand(sid, src, dst, T0 + s * 1000, rf)).alert);
}

function parseError(text: string): string {
  try {
    parseThresholdConfig('/etc/bulwark/threshold.config', text, VARS);
  } catch (e) {
    assert.ok(isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
    return e.message;
  }
  assert.fail('expected a parse error');
}

test('parse: every entry kind, comments, blank lines, continuation lines, CRLF', () => {
  const c = parseThresholdConfig(
    't.config',
    [
      '# tuning',
      '',
      'suppress gen_id 1, sig_id 2002087',
      'suppress gen_id 1, sig_id 2003614, track by_src, ip [192.168.0.0/16, 10.0.0.0/8]\r',
      '   # indented comment',
      'threshold gen_id 1, sig_id 100, type both, track by_dst, count 10, seconds 60',
      'event_filter gen_id 1 \\',
      ', sig_id 10, type limit, track by_src, \\',
      'count 1, seconds 60',
      'rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action alert, timeout 30',
      'rate_filter gen_id 1, sig_id 10000, track by_both, count 1000, seconds 60, new_action reject, timeout 21',
      'suppress gen_id 0, sig_id 0, track by_either, ip $HOME_NET',
    ].join('\n'),
    VARS,
  );
  assert.deepEqual(
    c.entries.map((e) => [e.line, formatEntry(e)]),
    [
      [3, 'suppress gen_id 1, sig_id 2002087'],
      [4, 'suppress gen_id 1, sig_id 2003614, track by_src, ip [192.168.0.0/16, 10.0.0.0/8]'],
      [6, 'threshold gen_id 1, sig_id 100, type both, track by_dst, count 10, seconds 60'],
      [7, 'event_filter gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60'],
      [10, 'rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action alert, timeout 30'],
      [11, 'rate_filter gen_id 1, sig_id 10000, track by_both, count 1000, seconds 60, new_action reject, timeout 21'],
      [12, 'suppress gen_id 0, sig_id 0, track by_either, ip $HOME_NET'],
    ],
  );
});

test('parse errors name FILE:LINE for every bad line, and refuse the whole file', () => {
  const msg = parseError(
    [
      'suppress gen_id 1, sig_id 1',
      'threshold gen_id 1, sig_id 2, type sometimes, track by_src, count 1, seconds 60',
      'threshold gen_id 1, sig_id 3, track by_src, type limit, count 1, seconds 60',
      'rate_filter gen_id 1, sig_id 4, track by_flow, count 1, seconds 1, new_action drop, timeout 5',
      'rate_filter gen_id 1, sig_id 5, track by_src, count 0, seconds 1, new_action drop, timeout 5',
      'suppress gen_id 0, sig_id 7',
      'suppress gen_id 1, sig_id 8, track by_src, ip 198.51.100.300',
      'supress gen_id 1, sig_id 9',
      'suppress gen_id 1, sig_id 10, track by_src, ip $NOPE',
      'threshold gen_id 1, sig_id 11, type limit, track by_src, count 1',
      'suppress gen_id 1, sig_id 12, track by_src, ip $LOOP',
      'threshold gen_id 1, sig_id 13, type limit, track by_src, count 1, seconds 60 # why',
    ].join('\n'),
  );
  const lines = msg.split('\n');
  const at = (n: number): string => lines.find((l) => l.startsWith(`threshold /etc/bulwark/threshold.config:${n}: `)) ?? `(no error for line ${n})`;
  assert.equal(lines.length, 11, msg);
  assert.match(at(2), /type "sometimes" is not supported \(limit, threshold, both\)/);
  assert.match(at(3), /order type, track, count, seconds/);
  assert.match(at(4), /track "by_flow" is not supported/);
  assert.match(at(5), /count 0 is out of range 1\.\./);
  assert.match(at(6), /gen_id 0 with sig_id 7/);
  assert.match(at(7), /ip: "198\.51\.100\.300" is not an address/);
  assert.match(at(8), /expected "suppress\|threshold\|event_filter\|rate_filter gen_id N, sig_id N …"/);
  assert.match(at(9), /undefined address variable \$NOPE/);
  assert.match(at(10), /missing seconds/);
  assert.match(at(11), /nest too deeply/);
  assert.match(at(12), /expected "seconds …", got "seconds 60 # why"/, 'no trailing comments, as in Suricata');
});

test('address lists: CIDR (host bits masked), ranges, negation, nesting, variables, IPv6, any', () => {
  const m = (t: string) => parseAddressMatcher(t, VARS);
  assert.equal(m('198.51.100.7/24').has('198.51.100.200'), true);
  assert.equal(m('198.51.100.7/24').has('198.51.101.1'), false);
  assert.equal(m('203.0.113.10-203.0.113.20').has('203.0.113.15'), true);
  assert.equal(m('203.0.113.10-203.0.113.20').has('203.0.113.21'), false);
  const l = m('[198.51.100.0/24, !198.51.100.7, [203.0.113.1, 203.0.113.2]]');
  assert.deepEqual(['198.51.100.1', '198.51.100.7', '203.0.113.2', '203.0.113.3'].map((a) => l.has(a)), [true, false, true, false]);
  assert.deepEqual(['203.0.113.1', '198.51.100.1'].map((a) => m('[!198.51.100.0/24]').has(a)), [true, false]);
  assert.deepEqual(['198.51.100.9', '2001:db8::1', '203.0.113.9'].map((a) => m('$HOME_NET').has(a)), [true, true, false]);
  assert.deepEqual(['198.51.100.9', '203.0.113.9'].map((a) => m('$EXTERNAL_NET').has(a)), [false, true]);
  assert.equal(m('2001:db8:b1::/64').has('2001:DB8:B1::10'), true);
  assert.equal(m('any').has('2001:db8::5'), true);
  assert.equal(m('198.51.100.1').has('not-an-address'), false);
  assert.throws(() => m('[198.51.100.1'), AddressSyntaxError);
  assert.throws(() => m('198.51.100.9-2001:db8::1'), AddressSyntaxError);
});

test('limit: the first N matches of a window alert; the window covers [first, first + seconds]', () => {
  const f = filter('threshold gen_id 1, sig_id 5, type limit, track by_src, count 2, seconds 60');
  assert.deepEqual(series(f, 5, [0, 1, 2, 60, 60.001, 61, 62]), [true, true, false, false, true, true, false]);
  assert.deepEqual(series(f, 5, [3], B), [true], 'another source counts on its own');
  assert.deepEqual(series(f, 6, [3]), [true], 'another signature is not affected');
  assert.equal(f.stats().filtered.threshold, 3);
});

test('threshold: every N-th match of a window alerts; with N = 1 every match', () => {
  const f = filter('threshold gen_id 1, sig_id 5, type threshold, track by_src, count 3, seconds 10\nthreshold gen_id 1, sig_id 6, type threshold, track by_src, count 1, seconds 10');
  assert.deepEqual(series(f, 5, [0, 1, 2, 3, 4, 5, 11, 12]), [false, false, true, false, false, true, false, false]);
  assert.deepEqual(series(f, 6, [0, 0, 0]), [true, true, true]);
});

test('both: the N-th match of a window alerts once; the next window starts over', () => {
  const f = filter('event_filter gen_id 1, sig_id 5, type both, track by_dst, count 2, seconds 10');
  assert.deepEqual(series(f, 5, [0, 1, 2, 3, 20, 21, 22]), [false, true, false, false, false, true, false]);
});

test('by_dst, by_rule and by_both (both directions between two addresses are one pair)', () => {
  const f = filter(
    [
      'threshold gen_id 1, sig_id 1, type limit, track by_dst, count 1, seconds 60',
      'threshold gen_id 1, sig_id 2, type limit, track by_rule, count 1, seconds 60',
      'threshold gen_id 1, sig_id 3, type limit, track by_both, count 1, seconds 60',
    ].join('\n'),
  );
  assert.deepEqual([series(f, 1, [0], A, H)[0], series(f, 1, [1], B, H)[0], series(f, 1, [1], A, '198.51.100.11')[0]], [true, false, true]);
  assert.deepEqual([series(f, 2, [0], A, H)[0], series(f, 2, [1], B, '198.51.100.11')[0]], [true, false]);
  assert.deepEqual([series(f, 3, [0], A, H)[0], series(f, 3, [1], H, A)[0], series(f, 3, [1], B, H)[0]], [true, false, true]);
});

test("a global threshold naming the sid replaces the rule's own; sig_id 0 only fills rules without one", () => {
  const own: RateFilter = { type: 'limit', track: 'by_src', count: 1, seconds: 60 };
  const f = filter(
    [
      'threshold gen_id 0, sig_id 0, type limit, track by_src, count 2, seconds 60',
      'threshold gen_id 1, sig_id 7, type limit, track by_src, count 3, seconds 60',
    ].join('\n'),
  );
  assert.deepEqual(series(f, 7, [0, 1, 2, 3], A, H, own), [true, true, true, false], 'sid 7: the file replaces limit 1 by limit 3');
  assert.deepEqual(series(f, 8, [0, 1, 2, 3], A, H, own), [true, false, false, false], 'sid 8 keeps its own limit 1 (sig_id 0 does not override)');
  assert.deepEqual(series(f, 9, [0, 1, 2, 3]), [true, true, false, false], 'sid 9 without its own threshold gets the sig_id 0 one');
  const df: RateFilter = { type: 'detection_filter', track: 'by_src', count: 2, seconds: 60 };
  const g = filter('');
  assert.deepEqual(series(g, 10, [0, 1, 2, 3, 61, 62, 63], A, H, df), [false, false, true, true, false, false, true], "the rule's own detection_filter alone");
  assert.equal(g.stats().filtered.detection_filter, 4);
});

test("a rate_filter for a rule with its own threshold is ignored; the first rate_filter of a sid wins; a later threshold replaces it", () => {
  const own: RateFilter = { type: 'limit', track: 'by_src', count: 1, seconds: 60 };
  const f = filter(
    [
      'rate_filter gen_id 1, sig_id 20, track by_src, count 1, seconds 60, new_action drop, timeout 60',
      'rate_filter gen_id 1, sig_id 21, track by_src, count 1, seconds 60, new_action drop, timeout 60',
      'rate_filter gen_id 1, sig_id 21, track by_src, count 1, seconds 60, new_action alert, timeout 60',
      'rate_filter gen_id 1, sig_id 22, track by_src, count 1, seconds 60, new_action drop, timeout 60',
      'threshold gen_id 1, sig_id 22, type limit, track by_src, count 1, seconds 60',
    ].join('\n'),
  );
  assert.deepEqual(series(f, 20, [0, 1, 2], A, H, own), [true, false, false], 'sid 20 keeps its own limit');
  const s21 = f.slotFor(1, 21, undefined);
  assert.ok(s21?.kind === 'rate_filter' && s21.line === 2 && s21.newAction === 'drop', 'sid 21: the first rate_filter (line 2) stays');
  const s22 = f.slotFor(1, 22, undefined);
  assert.ok(s22?.kind === 'threshold' && s22.line === 5, 'sid 22: the threshold after the rate_filter replaces it');
});

test('rate_filter: every match alerts; past N matches in T seconds the new action holds for `timeout` seconds', () => {
  const f = filter('rate_filter gen_id 1, sig_id 30, track by_src, count 2, seconds 10, new_action drop, timeout 5');
  const v = (s: number, src = A): AlertVerdict => f.check(cand(30, src, H, T0 + s * 1000));
  const act = (x: AlertVerdict): string => (x.alert ? (x.newAction?.action ?? 'none') : 'filtered');
  assert.deepEqual([v(0), v(1)].map(act), ['none', 'none'], 'two matches: not past the rate yet');
  const third = v(2);
  assert.equal(act(third), 'block', 'the third match within 10 s exceeds the rate');
  assert.equal(third.alert && third.newAction?.source, 't.config:1');
  assert.deepEqual([v(3), v(7)].map(act), ['block', 'block'], 'within the timeout (activated at second 2, +5)');
  assert.equal(act(v(8)), 'none', 'more than 5 s after activation: the action ends');
  assert.equal(act(v(1, B)), 'none', 'tracked per source');
  assert.equal(f.stats().rateFilterActions.drop, 3);
  const g = filter(
    [
      'rate_filter gen_id 1, sig_id 31, track by_rule, count 1, seconds 10, new_action alert, timeout 60',
      'rate_filter gen_id 1, sig_id 32, track by_rule, count 1, seconds 10, new_action pass, timeout 60',
      'rate_filter gen_id 1, sig_id 33, track by_rule, count 1, seconds 10, new_action log, timeout 60',
      'rate_filter gen_id 1, sig_id 34, track by_rule, count 1, seconds 10, new_action reject, timeout 60',
    ].join('\n'),
  );
  const second = (sid: number): string => {
    g.check(cand(sid, A, H, T0));
    return act(g.check(cand(sid, B, H, T0 + 1000)));
  };
  assert.deepEqual([31, 32, 33, 34].map(second), ['alert', 'alert', 'none', 'block']);
});

test('suppress: without track the rule never alerts; with track by address (src, dst, either); sid 0 and gid wildcards', () => {
  const f = filter(
    [
      'suppress gen_id 1, sig_id 40',
      'suppress gen_id 1, sig_id 41, track by_src, ip [203.0.113.0/24, !203.0.113.6]',
      'suppress gen_id 1, sig_id 42, track by_dst, ip 198.51.100.10',
      'suppress gen_id 1, sig_id 43, track by_either, ip 198.51.100.10',
      'suppress gen_id 3, sig_id 0, track by_src, ip 203.0.113.5',
      'suppress gen_id 0, sig_id 0, track by_src, ip 192.0.2.1',
    ].join('\n'),
  );
  const ok = (sid: number, src: string, dst: string, gid = 1): boolean => f.check(cand(sid, src, dst, T0, undefined, gid)).alert;
  assert.deepEqual([ok(40, A, H), ok(40, B, H)], [false, false]);
  assert.deepEqual([ok(41, A, H), ok(41, B, H), ok(41, '198.51.100.1', H)], [false, true, true]);
  assert.deepEqual([ok(42, A, H), ok(42, A, '198.51.100.11')], [false, true]);
  assert.deepEqual([ok(43, H, A), ok(43, A, H), ok(43, A, '198.51.100.11')], [false, false, true]);
  assert.deepEqual([ok(44, A, H, 3), ok(44, A, H, 1)], [false, true], 'gen_id 3, sig_id 0: every rule of gid 3');
  assert.deepEqual([ok(45, '192.0.2.1', H, 7), ok(45, A, H, 7)], [false, true], 'gen_id 0, sig_id 0: every rule');
  const r = f.check(cand(40, A, H, T0));
  assert.deepEqual(r, { alert: false, reason: 'suppress', source: 't.config:1' });
  assert.equal(f.stats().filtered.suppress, 9);
  // Suppression comes before counting: a suppressed match does not count towards a threshold.
  const g = filter('suppress gen_id 1, sig_id 46, track by_src, ip 203.0.113.5\nthreshold gen_id 1, sig_id 46, type limit, track by_dst, count 1, seconds 60');
  assert.deepEqual([g.check(cand(46, A, H, T0)).alert, g.check(cand(46, B, H, T0 + 1)).alert, g.check(cand(46, B, H, T0 + 2)).alert], [false, true, false]);
});

test('the tracking table is bounded: the least recently used entry is evicted and counted', () => {
  const f = filter('threshold gen_id 1, sig_id 50, type limit, track by_src, count 1, seconds 60', 2);
  for (const src of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) f.check(cand(50, src, H, T0));
  assert.deepEqual({ entries: f.stats().entries, evictions: f.stats().evictions }, { entries: 2, evictions: 1 });
  assert.equal(f.check(cand(50, '203.0.113.1', H, T0 + 1)).alert, true, 'an evicted source starts over');
  f.clear();
  assert.equal(f.stats().entries, 0);
});

test('engine: a suppressed match still sets its flowbits; detections carry the contract fields and the rate_filter action', () => {
  const r = rules(`alert tcp any any -> any 80 (msg:"ET INFO login seen"; content:"LOGIN"; flowbits:set,logged_in; classtype:misc-activity; sid:60; rev:2;)
alert tcp any any -> any 80 (msg:"ET EXPLOIT admin after login"; content:"ADMIN"; flowbits:isset,logged_in; classtype:attempted-admin; priority:2; metadata:signature_severity Major, attack_target Server; gid:1; sid:61; rev:3;)`);
  const config = parseThresholdConfig('t.config', 'suppress gen_id 1, sig_id 60\nrate_filter gen_id 1, sig_id 61, track by_src, count 1, seconds 60, new_action drop, timeout 60', {});
  const { engine, detections } = makeEngine(r, { alertFilter: new ThresholdFilter(config) });
  feed(engine, new Conv('203.0.113.5', '198.51.100.10', 4000, 80).handshake().c('LOGIN ok').c('ADMIN now').frames);
  feed(engine, new Conv('203.0.113.5', '198.51.100.10', 4001, 80).handshake().c('LOGIN ok').c('ADMIN again').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [61, 61], 'sid 60 suppressed, its flowbit still set');
  const d = detections[0]!;
  assert.deepEqual(
    { gid: d.gid, origin: d.origin, classtype: d.classtype, priority: d.priority, metadata: d.metadata, action: d.action, newAction: d.newAction },
    { gid: 1, origin: 'rules', classtype: 'attempted-admin', priority: 2, metadata: [['signature_severity', 'Major'], ['attack_target', 'Server']], action: 'alert', newAction: undefined },
  );
  assert.deepEqual(detections[1]!.newAction, { action: 'block', source: 't.config:2' }, 'the second match exceeds count 1: new_action drop');
  assert.equal(engine.stats().suppressedByRateFilter, 2, 'sid 60 once per flow');
  // A threshold file swapped in at run time: counting starts over with the new entries.
  engine.setAlertFilter(new ThresholdFilter(parseThresholdConfig('u.config', 'suppress gen_id 1, sig_id 61, track by_src, ip 203.0.113.5', {})));
  feed(engine, new Conv('203.0.113.5', '198.51.100.10', 4002, 80).handshake().c('LOGIN ADMIN').frames);
  feed(engine, new Conv('203.0.113.6', '198.51.100.10', 4003, 80).handshake().c('LOGIN ADMIN').frames);
  assert.deepEqual(detections.slice(2).map((x) => [x.signatureId, x.srcIp]), [
    [60, '203.0.113.5'],
    [60, '203.0.113.6'],
    [61, '203.0.113.6'],
  ]);
});
