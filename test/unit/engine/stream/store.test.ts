/**
 * StreamStore's free lists: a store keeps at most an eighth of its memory bound (16 MiB of the
 * default 128 MiB) of released buffers for reuse, so a scan worker with its share of the bound
 * also keeps only its share of the pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamStore } from '../../../../src/engine/stream/store.js';
import { DirState } from '../../../../src/engine/stream/dir-state.js';

/** Directions holding one 8 KiB buffer each, then freed: how many of those buffers come back. */
function reused(maxMemory: number, n: number): number {
  const store = new StreamStore(1 << 20, maxMemory);
  const data = new Uint8Array(100);
  const dirs = Array.from({ length: n }, () => new DirState());
  for (const d of dirs) store.append(d, data, 0, data.length, 0);
  const first = new Set(dirs.map((d) => d.buf));
  for (const d of dirs) store.free(d);
  const again = Array.from({ length: n }, () => new DirState());
  for (const d of again) store.append(d, data, 0, data.length, 0);
  return again.filter((d) => first.has(d.buf)).length;
}

test('stream store: released buffers are reused up to an eighth of the memory bound', () => {
  // 8 KiB buffers: 64 of them fill a 4 MiB bound's 512 KiB pool; 2,048 the default's 16 MiB.
  assert.equal(reused(4 * 1024 * 1024, 100), 64);
  assert.equal(reused(128 * 1024 * 1024, 2100), 2048);
  assert.equal(reused(256 * 1024 * 1024, 2100), 2048, 'never more than 16 MiB');
});
