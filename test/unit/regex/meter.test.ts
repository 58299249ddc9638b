/** RegexBudget: limits per match, the per-packet and per-second regex budgets, bounded per-signature counters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { compileRegex } from '../../../src/regex/regex.js';
import { RegexBudget } from '../../../src/regex/meter.js';
import { DEFAULT_LIMITS, REGEX_LIMIT, REGEX_NOMATCH, REGEX_SKIPPED } from '../../../src/regex/types.js';

/** A clock that advances `step` ms per reading: every exec "costs" one step. */
function steppingClock(step: number): () => number {
  let t = 0;
  return () => (t += step);
}

const ov = new Int32Array(2);
const hello = Buffer.from('hello world');

test('outcomes are counted; the configured limits apply, the O limits to `override` regexes', () => {
  const firsts: number[] = [];
  const m = new RegexBudget({
    limits: DEFAULT_LIMITS,
    overrideLimits: { ...DEFAULT_LIMITS, matchLimit: 100_000_000 },
    packetBudgetMs: 0,
    secondBudgetMs: 0,
    now: () => 0,
    onFirstLimitHit: (id) => firsts.push(id),
  });
  const path = compileRegex('(a+)+$');
  const a = Buffer.from('a'.repeat(22) + '!');
  assert.equal(m.exec(compileRegex('wor'), hello, 0, hello.length, ov, 0, false, 1), 1);
  assert.equal(m.exec(compileRegex('xyz'), hello, 0, hello.length, ov, 0, false, 1), REGEX_NOMATCH);
  assert.equal(m.exec(path, a, 0, a.length, ov, 0, false, 7), REGEX_LIMIT);
  assert.equal(m.exec(path, a, 0, a.length, ov, 0, false, 7), REGEX_LIMIT);
  // with the (large) override limit the same match runs to a plain no match
  assert.equal(m.exec(path, a, 0, a.length, ov, 0, true, 8), REGEX_NOMATCH);
  const s = m.stats();
  assert.equal(s.executions, 5);
  assert.equal(s.matches, 1);
  assert.equal(s.noMatches, 2);
  assert.equal(s.limitHits, 2);
  assert.deepEqual(s.limitHitsBySignature, [{ signatureId: 7, limitHits: 2 }]);
  assert.deepEqual(firsts, [7]); // logged once per signature
});

test('per-signature limit counters are bounded; the rest are counted together', () => {
  const firsts: number[] = [];
  const m = new RegexBudget({ limits: DEFAULT_LIMITS, overrideLimits: DEFAULT_LIMITS, packetBudgetMs: 0, secondBudgetMs: 0, now: () => 0, maxTrackedSignatures: 3, onFirstLimitHit: (id) => firsts.push(id) });
  const path = compileRegex('(a+)+$');
  const a = Buffer.from('a'.repeat(30) + '!');
  for (let id = 1; id <= 10; id++) assert.equal(m.exec(path, a, 0, a.length, ov, 0, false, id), REGEX_LIMIT);
  const s = m.stats();
  assert.equal(s.limitHits, 10);
  assert.equal(s.limitHitsBySignature.length, 3);
  assert.equal(s.limitHitsUntracked, 7);
  assert.deepEqual(firsts, [1, 2, 3]);
});

test('the packet budget: once a packet has spent it, its remaining regex checks are skipped and counted; the next packet starts afresh', () => {
  const m = new RegexBudget({ limits: DEFAULT_LIMITS, overrideLimits: DEFAULT_LIMITS, packetBudgetMs: 10, secondBudgetMs: 0, now: steppingClock(2) });
  const re = compileRegex('world');
  m.beginPacket();
  let ran = 0;
  let skipped = 0;
  for (let i = 0; i < 20; i++) {
    const rc = m.exec(re, hello, 0, hello.length, ov, 0, false, 1);
    if (rc === REGEX_SKIPPED) skipped++;
    else ran++;
  }
  // each exec reads the clock twice (2 ms apart): 5 execs spend the 10 ms
  assert.equal(ran, 5);
  assert.equal(skipped, 15);
  m.beginPacket();
  assert.equal(m.exec(re, hello, 0, hello.length, ov, 0, false, 1), 1);
  const s = m.stats();
  assert.equal(s.skipped, 15);
  assert.equal(s.packetBudgetExhausted, 1);
  assert.equal(s.executions, 6);
});

test('the per-second budget spans packets and refills after a second', () => {
  let t = 0;
  const m = new RegexBudget({ limits: DEFAULT_LIMITS, overrideLimits: DEFAULT_LIMITS, packetBudgetMs: 0, secondBudgetMs: 30, now: () => (t += 5) });
  const re = compileRegex('world');
  let ran = 0;
  for (let p = 0; p < 10; p++) {
    m.beginPacket();
    if (m.exec(re, hello, 0, hello.length, ov, 0, false, 1) !== REGEX_SKIPPED) ran++;
  }
  assert.equal(ran, 6); // 6 × 5 ms = the 30 ms of this second
  assert.equal(m.stats().secondBudgetExhausted, 1);
  t += 1000;
  m.beginPacket();
  assert.equal(m.exec(re, hello, 0, hello.length, ov, 0, false, 1), 1);
});

test('a fractional regex time keeps the budget object shape (the engine inlines beginPacket in its per-packet path)', () => {
  // A change of a field's representation (small integer -> double) gives the object a new V8 map
  // and deoptimizes every function optimized with the old one; an object built before the first
  // exec keeps the map it was built with, so the two only share it when no such change happened.
  v8.setFlagsFromString('--allow-natives-syntax');
  const sameMap = vm.runInThisContext('(a, b) => %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  const opts = { limits: DEFAULT_LIMITS, overrideLimits: DEFAULT_LIMITS, packetBudgetMs: 0, secondBudgetMs: 0, now: steppingClock(0.25) };
  const before = new RegexBudget(opts);
  const m = new RegexBudget(opts);
  m.beginPacket();
  assert.equal(m.exec(compileRegex('world'), hello, 0, hello.length, ov, 0, false, 1), 1);
  m.beginPacket();
  assert.ok(sameMap(m, before));
});
