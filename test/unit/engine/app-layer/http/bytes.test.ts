/** Arena storage of the HTTP parser: pieces of shared slabs, growth in place of the last piece. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena } from '../../../../../src/engine/app-layer/http/bytes.js';

test('the last piece of the slab being filled grows where it is; the added bytes are zero', () => {
  const a = new Arena();
  const o = a.take(100);
  const buf = a.last;
  buf.fill(7, o, o + 100);
  assert.equal(a.grow(buf, o, 100, 300), true);
  for (let i = o + 100; i < o + 300; i++) assert.equal(buf[i], 0);
  // the next piece comes after the grown one
  const o2 = a.take(10);
  assert.equal(a.last, buf);
  assert.equal(o2, o + 300);
  assert.equal(buf[o + 99], 7);
});

test('a piece is not grown in place once another one follows it, past the slab, or outside the slab', () => {
  const a = new Arena();
  const o = a.take(100);
  const buf = a.last;
  a.take(10);
  assert.equal(a.grow(buf, o, 100, 200), false, 'another piece follows');
  const o3 = a.take(50);
  assert.equal(a.grow(a.last, o3, 50, a.capacity - o3 + 1), false, 'no room left in the slab');
  assert.equal(a.grow(a.last, o3, 50, a.capacity - o3), true, 'exactly the room left');
  a.take(20000); // its own array (larger than a slab piece)
  assert.equal(a.grow(a.last, 0, 20000, 20001), false);
});
