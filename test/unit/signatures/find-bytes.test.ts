/** findBytes: first occurrence at or after `from` ending by `end`, against a reference search (native first-byte search and the plain loop). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBytes } from '../../../src/signatures/verify.js';

function reference(data: Uint8Array, end: number, pat: Uint8Array, nocase: boolean, from: number): number {
  const f = (c: number): number => (nocase && c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  for (let i = Math.max(0, from); i + pat.length <= end; i++) {
    let k = 0;
    while (k < pat.length && f(data[i + k]!) === f(pat[k]!)) k++;
    if (k === pat.length) return i;
  }
  return -1;
}

test('findBytes equals a reference search: case-sensitive and not, array end at `end` or far past it, patterns past `end`', () => {
  let x = 7;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const alphabet = [0x61, 0x62, 0x41, 0x42, 0x00, 0xff];
  let hits = 0;
  for (let round = 0; round < 4000; round++) {
    const len = 1 + rnd(200);
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = alphabet[rnd(alphabet.length)]!;
    // the array is exactly `end` long, a little longer, or much longer (stream buffers)
    const end = [len, Math.max(0, len - rnd(40)), Math.max(0, len - 100 - rnd(60))][rnd(3)]!;
    const pat = new Uint8Array(1 + rnd(3));
    for (let i = 0; i < pat.length; i++) pat[i] = alphabet[rnd(alphabet.length)]!;
    const from = rnd(len + 2) - 1;
    const nocase = rnd(2) === 0;
    const want = reference(data, end, pat, nocase, from);
    assert.equal(findBytes(data, end, pat, nocase, from), want, `round ${round}`);
    if (want >= 0) hits++;
  }
  assert.ok(hits > 1000 && hits < 3900, `hits ${hits}`);
});
