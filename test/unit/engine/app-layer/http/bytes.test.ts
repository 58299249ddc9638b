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

test('a disposed arena gives its slab to the pool; the next arena of that slab size takes it back zeroed', async () => {
  const { pooledSlabBytes } = await import('../../../../../src/engine/app-layer/http/bytes.js');
  const a = new Arena();
  const o = a.take(100);
  const slab = a.last;
  slab.fill(0xab, o, o + 100);
  const before = pooledSlabBytes();
  a.dispose();
  assert.equal(a.capacity, 0, 'the disposed arena holds nothing');
  assert.equal(pooledSlabBytes(), before + slab.length);
  const b = new Arena();
  const o2 = b.take(10);
  assert.equal(b.last, slab, 'the pooled slab is reused');
  assert.equal(pooledSlabBytes(), before);
  for (let i = 0; i < slab.length; i++) assert.equal(slab[i], 0, `byte ${i} zeroed`);
  assert.equal(o2, 0);
  // the accounting sees the same slab sizes as without a pool
  assert.equal(b.capacity, 1024);
});

test('the pool is bounded: slabs past its budget are left to the GC', async () => {
  const { pooledSlabBytes } = await import('../../../../../src/engine/app-layer/http/bytes.js');
  const arenas: Arena[] = [];
  for (let i = 0; i < 200; i++) {
    const a = new Arena();
    // 1 + 2 + ... + 64 KiB: the last slab is a 64 KiB one
    for (let k = 0; k < 7; k++) a.take(16384);
    arenas.push(a);
  }
  for (const a of arenas) a.dispose();
  assert.ok(pooledSlabBytes() <= 4 * 1024 * 1024, `${pooledSlabBytes()}`);
  assert.ok(pooledSlabBytes() > 3 * 1024 * 1024);
  // drain it again for the tests after this one
  const sink: Arena[] = [];
  while (pooledSlabBytes() > 0) {
    const a = new Arena();
    for (let k = 0; k < 7; k++) a.take(16384);
    sink.push(a);
  }
});
