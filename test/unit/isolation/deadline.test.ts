import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/clock.js';
import { ISOLATION_FALLBACK_MS } from '../../../src/config/types.js';
import { deadline, formatLeft, isolationLengthMs, parseIsolationDuration, shouldReapply, timeLeftMs } from '../../../src/isolation/deadline.js';

const H = 3_600_000;

test('durations: 90m, 8h, 1d and bounds', () => {
  assert.equal(parseIsolationDuration('90m'), 90 * 60_000);
  assert.equal(parseIsolationDuration('8h'), 8 * H);
  assert.equal(parseIsolationDuration('1d'), 24 * H);
  assert.equal(parseIsolationDuration('3s'), 3000);
  assert.equal(parseIsolationDuration('1h30m'), 90 * 60_000);
  assert.throws(() => parseIsolationDuration('8 hours'), /not a duration/);
  assert.throws(() => parseIsolationDuration('500ms'), /between 1s and 30d/);
  assert.throws(() => parseIsolationDuration('31d'), /between 1s and 30d/);
});

test('length: --for wins, then the configured duration, then the 5-hour fallback', () => {
  assert.equal(isolationLengthMs({ autoEnd: true, durationMs: 8 * H }, undefined), 8 * H);
  assert.equal(isolationLengthMs({ autoEnd: true, durationMs: 8 * H }, 60_000), 60_000);
  assert.equal(isolationLengthMs({ autoEnd: false, durationMs: 8 * H }, undefined), ISOLATION_FALLBACK_MS);
  assert.equal(ISOLATION_FALLBACK_MS, 5 * H);
  assert.equal(isolationLengthMs({ autoEnd: false, durationMs: 8 * H }, 2 * H), 2 * H);
});

test('deadline arithmetic with a manual clock: time left after a restart', () => {
  const clock = new ManualClock(1_700_000_000_000);
  const ends = deadline(clock.now(), { autoEnd: true, durationMs: 8 * H }, undefined);
  assert.equal(ends - clock.now(), 8 * H);
  clock.advance(3 * H);
  assert.equal(timeLeftMs(ends, clock.now()), 5 * H);
  assert.equal(shouldReapply(ends, clock.now()), true);
  clock.advance(5 * H - 999);
  assert.equal(shouldReapply(ends, clock.now()), false, 'less than a second left: expired, not re-applied');
  clock.advance(10_000);
  assert.equal(timeLeftMs(ends, clock.now()), 0);
  assert.equal(formatLeft(2 * H + 14 * 60_000 + 5000), '2h 14m 5s');
  assert.equal(formatLeft(0), '0s');
});
