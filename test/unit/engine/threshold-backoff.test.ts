/**
 * Suricata 8 rule thresholds `type backoff` and `track by_flow` (threshold-rule-flow-backoff-*
 * suricata-verify tests): parsing, and the counting of the alert filter per flow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRateFilter, OptionError } from '../../../src/signatures/options.js';
import { ThresholdFilter } from '../../../src/engine/threshold/filter.js';
import type { RateFilter } from '../../../src/signatures/types.js';

const T0 = 1_800_000_000_000;

function alertsAt(rf: RateFilter, matches: number, flowId = 1n): number[] {
  const f = new ThresholdFilter({ file: 't.config', entries: [] });
  const out: number[] = [];
  for (let i = 1; i <= matches; i++) {
    if (f.check({ gid: 1, sid: 1, ruleFilter: rf, srcIp: 'a', destIp: 'b', tsMs: T0 + i, flowId }).alert) out.push(i);
  }
  return out;
}

test('parse: backoff needs by_flow and a multiplier, takes no seconds; by_flow for the other types', () => {
  assert.deepEqual(parseRateFilter('type backoff, track by_flow, count 1, multiplier 10', 'threshold'), { type: 'backoff', track: 'by_flow', count: 1, seconds: 0, multiplier: 10 });
  assert.deepEqual(parseRateFilter('type limit, track by_flow, count 2, seconds 60', 'threshold'), { type: 'limit', track: 'by_flow', count: 2, seconds: 60 });
  for (const bad of [
    'type backoff, track by_src, count 1, multiplier 2',
    'type backoff, track by_flow, count 1',
    'type backoff, track by_flow, count 1, multiplier 2, seconds 60',
    'type limit, track by_flow, count 1, seconds 60, multiplier 2',
  ]) assert.throws(() => parseRateFilter(bad, 'threshold'), OptionError, bad);
});

test('backoff: the count-th match alerts, then every time the number is multiplied', () => {
  const bo = (count: number, multiplier: number): RateFilter => ({ type: 'backoff', track: 'by_flow', count, seconds: 0, multiplier });
  assert.deepEqual(alertsAt(bo(1, 10), 1500), [1, 10, 100, 1000]);
  assert.deepEqual(alertsAt(bo(1, 2), 6676).length, 13);
  assert.deepEqual(alertsAt(bo(3, 2), 6676).length, 12);
  assert.deepEqual(alertsAt(bo(5, 5), 6676), [5, 25, 125, 625, 3125]);
});

test('by_flow: each flow counts on its own', () => {
  const f = new ThresholdFilter({ file: 't.config', entries: [] });
  const rf: RateFilter = { type: 'limit', track: 'by_flow', count: 1, seconds: 60 };
  const at = (flowId: bigint): boolean => f.check({ gid: 1, sid: 1, ruleFilter: rf, srcIp: 'a', destIp: 'b', tsMs: T0, flowId }).alert;
  assert.deepEqual([at(1n), at(1n), at(2n), at(2n), at(1n)], [true, false, true, false, false]);
  // outside a flow there is nothing to count on: it alerts
  assert.equal(f.check({ gid: 1, sid: 1, ruleFilter: rf, srcIp: 'a', destIp: 'b', tsMs: T0 }).alert, true);
});
