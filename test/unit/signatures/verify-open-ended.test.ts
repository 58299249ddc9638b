/**
 * The content retry loop skips the attempts it knows fail: once a relative content whose window
 * runs to the buffer end (no `within`) is not found after one match of the previous content, it
 * is not searched again after the later ones. Results, and the recursion budget those attempts
 * use, are the same as trying them all (the reference below is the loop without the shortcut).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECURSION_BUDGET, findBytes, verifySignature } from '../../../src/signatures/verify.js';
import { latin1 } from '../../../src/signatures/content.js';
import type { ContentCondition, Signature } from '../../../src/signatures/types.js';

function c(text: string, o: Partial<Omit<ContentCondition, 'kind' | 'bytes'>> = {}): ContentCondition {
  return { kind: 'content', bytes: latin1(text), nocase: false, negated: false, startswith: false, endswith: false, fastPattern: false, ...o };
}

function sig(conditions: ContentCondition[]): Signature {
  return {
    id: 1, rev: 1, gid: 1, name: 't', description: '', references: [], severity: 'high', category: 'x', metadata: [], action: 'alert',
    ports: [{ from: 80, to: 80 }], direction: 'to_server', conditions, fastPatternIndex: 0, flowbits: [],
    source: { file: 't', line: 1 },
  };
}

const verify = (conds: ContentCondition[], data: Uint8Array): boolean => verifySignature(sig(conds), data, data.length, { flowbits: new Set() });

/** Every occurrence tried, as the verifier did before the shortcut (content conditions only). */
function reference(conds: readonly ContentCondition[], data: Uint8Array): boolean {
  const em = conds.map((_, i) => {
    for (let j = i + 1; j < conds.length; j++) {
      const x = conds[j]!;
      if (x.distance !== undefined || x.within !== undefined) return 1;
      if (!x.negated) return 0;
    }
    return 0;
  });
  const st = { budget: RECURSION_BUDGET };
  const len = data.length;
  const run = (i: number, prev: number): boolean => {
    if (i === conds.length) return true;
    if (--st.budget < 0) return false;
    const k = conds[i]!;
    let lo: number;
    let hi: number;
    if (k.distance !== undefined || k.within !== undefined) {
      lo = prev + (k.distance ?? 0);
      hi = k.within !== undefined ? lo + k.within : len;
    } else {
      lo = k.offset ?? 0;
      hi = k.depth !== undefined ? lo + k.depth : len;
    }
    if (k.startswith) hi = Math.min(hi, lo + k.bytes.length);
    if (lo < 0) lo = 0;
    if (hi > len) hi = len;
    if (k.negated) return findBytes(data, hi, k.bytes, k.nocase, lo) < 0 && run(i + 1, prev);
    let from = lo;
    while (true) {
      const at = findBytes(data, hi, k.bytes, k.nocase, from);
      if (at < 0) return false;
      if (run(i + 1, at + k.bytes.length)) return true;
      if (em[i] === 0 || st.budget < 0 || k.startswith) return false;
      from = at + 1;
    }
  };
  return run(0, 0);
}

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

test('same results as trying every occurrence, on random buffers and chains', () => {
  const r = rng(0x5eed);
  const pick = (s: string): string => s[Math.floor(r() * s.length)]!;
  const word = (n: number): string => Array.from({ length: n }, () => pick('abAB')).join('');
  let matched = 0;
  for (let n = 0; n < 3000; n++) {
    const data = latin1(word(Math.floor(r() * 60)));
    const conds: ContentCondition[] = [];
    const count = 1 + Math.floor(r() * 4);
    for (let k = 0; k < count; k++) {
      const o: Partial<ContentCondition> = { nocase: r() < 0.3 };
      if (k > 0 && r() < 0.8) {
        o.distance = Math.floor(r() * 5) - 2;
        if (r() < 0.3) o.within = 1 + Math.floor(r() * 6);
      } else if (r() < 0.3) o.depth = 1 + Math.floor(r() * 20);
      if (k > 0 && r() < 0.1) o.negated = true;
      conds.push(c(word(1 + Math.floor(r() * 2)), o));
    }
    const want = reference(conds, data);
    if (want) matched++;
    assert.equal(verify(conds, data), want, `${JSON.stringify(conds.map((x) => ({ ...x, bytes: String.fromCharCode(...x.bytes) })))} on ${String.fromCharCode(...data)}`);
  }
  assert.ok(matched > 100 && matched < 2900, `both outcomes covered (${matched})`);
});

test('the recursion budget runs out where it did: a later path that would match is still not tried', () => {
  // 'X' then 'A'…'A': every 'A' after the first 'X' fails ('B' does not follow), one budget unit
  // each; the second 'X' is followed by "AB" but the budget is spent before it is reached.
  const many = latin1('X' + 'A'.repeat(RECURSION_BUDGET + 10) + 'XAB');
  const conds = [c('X'), c('A', { distance: 0 }), c('B', { distance: 0, within: 1 })];
  assert.equal(reference(conds, many), false);
  assert.equal(verify(conds, many), false);
  const few = latin1('X' + 'A'.repeat(50) + 'XAB');
  assert.equal(reference(conds, few), true);
  assert.equal(verify(conds, few), true);
  // the open-ended case itself, at and around the budget
  for (const n of [RECURSION_BUDGET - 2, RECURSION_BUDGET - 1, RECURSION_BUDGET, RECURSION_BUDGET + 1]) {
    const d = latin1('SITE '.repeat(n) + 'x');
    const oc = [c('SITE', { nocase: true }), c('CPWD', { distance: 0, nocase: true })];
    assert.equal(verify(oc, d), reference(oc, d));
  }
});

test('a content repeated all over a stream without its relative follower is not rescanned per occurrence', () => {
  // Before: each of the ~3000 tried occurrences searched the rest of a 1 MiB buffer (seconds).
  const d = latin1('site '.repeat(200_000));
  const conds = [c('SITE', { nocase: true }), c('CPWD', { distance: 0, nocase: true })];
  const t0 = performance.now();
  assert.equal(verify(conds, d), false);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});
