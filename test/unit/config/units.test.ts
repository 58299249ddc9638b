import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize, formatDurationMs, formatSize } from '../../../src/config/units.js';

test('durations', () => {
  const cases: [string, number | undefined][] = [
    ['500ms', 500],
    ['90s', 90_000],
    ['90m', 5_400_000],
    ['8h', 28_800_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['0s', 0],
    ['', undefined],
    ['10', undefined],
    ['1w', undefined],
    ['-1s', undefined],
    ['1 h', undefined],
    ['h', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseDuration(text), want, text);
});

test('sizes', () => {
  const cases: [string, number | undefined][] = [
    ['64KiB', 65_536],
    ['32MiB', 33_554_432],
    ['1GiB', 1_073_741_824],
    ['4096', 4096],
    ['10B', 10],
    ['1.5KiB', 1536],
    ['32MB', undefined],
    ['1kib', undefined],
    ['-1', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseSize(text), want, text);
});

test('canonical formatting round-trips', () => {
  for (const ms of [500, 1000, 90_000, 5_400_000, 86_400_000, 1234]) assert.equal(parseDuration(formatDurationMs(ms)), ms);
  assert.equal(formatDurationMs(3_600_000), '1h');
  assert.equal(formatDurationMs(5_400_000), '90m');
  for (const n of [1, 1024, 65_536, 100 * 1024 * 1024, 1000]) assert.equal(parseSize(formatSize(n)), n);
  assert.equal(formatSize(32 * 1024 * 1024), '32MiB');
});
