import { test } from 'node:test';
import assert from 'node:assert/strict';
import { releaseThrough } from '../../../../src/engine/app-layer/live-txs.js';

test('releaseThrough drops the leading transactions up to and including the id, keeps the rest in order', () => {
  const live = [{ id: 1 }, { id: 2 }, { id: 4 }, { id: 5 }];
  releaseThrough(live, 0);
  assert.deepEqual(live.map((t) => t.id), [1, 2, 4, 5]);
  releaseThrough(live, 3);
  assert.deepEqual(live.map((t) => t.id), [4, 5]);
  releaseThrough(live, 9);
  assert.deepEqual(live, []);
});
